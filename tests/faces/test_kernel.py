"""The widgets in a real IPython kernel: comm messages really serialized, sent over ZMQ and read back.

Each test starts ``ipykernel`` on this interpreter, joined to the session's lab
through ``$XIOTLAB_HOME`` (no password crosses into a cell), drives it with the
magics a person types, and acts as the browser: it reads IOPub and sends comm
messages on the shell channel. Waits have generous deadlines; nothing is timed.
"""

from __future__ import annotations

import itertools
import json
import sys
import time

import pytest

from xiotlab.faces.widgets.control_panel import SET

from .kernel_helpers import Kernel, carries_values, chart_updates, times_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# Prints the model ids of the widgets of a kind inside a widget tree, whatever the tree's API.
FIND_WIDGETS = """
import ipywidgets, json
def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)
def model_ids(root, kind):
    return [w.model_id for w in _descendants(root) if isinstance(w, kind)]
"""


@pytest.fixture
def kernel(lab):
    """A kernel with the magics loaded, joined to the session lab; shut down when the test ends."""
    with Kernel(env={"XIOTLAB_HOME": str(lab.home)}) as k:
        k.run("%load_ext xiotlab")
        k.run(FIND_WIDGETS)
        yield k
        try:  # go offline cleanly before the kernel is killed
            k.run("%unload_ext xiotlab", timeout=20, check=False)
        except TimeoutError:
            pass


def ids(kernel: Kernel, expression: str) -> list[str]:
    """The model ids ``expression`` (a ``model_ids(...)`` call) gives in the kernel."""
    return json.loads(kernel.run(f"print(json.dumps({expression}))").stdout)


def wait_until(kernel: Kernel, expression: str, expected: str, seconds: float = 30) -> str:
    """Evaluate ``expression`` in the kernel until it prints ``expected`` (or the deadline passes)."""
    deadline = time.monotonic() + seconds
    while True:
        shown = kernel.run(f"print({expression})").stdout.strip()
        if shown == expected or time.monotonic() > deadline:
            return shown
        time.sleep(0.05)


def test_the_kernel_runs_this_interpreter(kernel):
    assert kernel.run("import sys; print(sys.executable)").stdout.strip() == sys.executable


def start_streaming_plot(kernel: Kernel, name) -> str:
    """An owner, a thing reporting 50 values a second, and ``plot`` drawing them; returns the chart's id."""
    owner, sensor = name("alice"), name("sensor")
    kernel.run(f"%xmpp connect {owner} --as owner")
    kernel.run(f"""%%thing {sensor}
import itertools
counter = itertools.count()
thing.sensor("level", type=float)
thing.every(0.02)(lambda: {{"level": float(next(counter) % 50)}})
""")
    kernel.run(f"%xmpp befriend {sensor}")
    return kernel.run(
        f"plot = %xmpp plot {sensor} level --window 30s\ndisplay(plot)\nprint(plot.chart.model_id)"
    ).stdout.strip()


def test_plot_updates_keep_reaching_the_frontend_while_a_cell_sleeps(kernel, name):
    chart = start_streaming_plot(kernel, name)
    # Drawing has begun: a first message with values reached IOPub.
    kernel.wait_for(lambda m: m.comm_id == chart and m.type == "comm_msg" and carries_values(m), timeout=30)

    # The cell sleeps (in short naps, with a deadline) until the UI thread has sent five more redraws.
    sleep = kernel.run(SLEEP_UNTIL_FIVE_REDRAWS, timeout=90)

    assert sleep.stdout.split() == ["5"], sleep.stdout
    busy, idle = sleep.started(), sleep.finished()
    during = chart_updates(kernel.messages(lambda m: busy < m.at < idle), chart)
    assert len(during) >= 5, f"only {len(during)} chart messages with values while the cell slept"
    # Only new values travel: each redraw at least one new value, none sent twice, never the whole window.
    assert all(m.msg["content"]["data"]["content"]["kind"] == "delta" for m in during)
    times = [times_in(m) for m in during]
    assert all(len(t) >= 1 for t in times)
    assert all(later[0] > earlier[-1] for earlier, later in itertools.pairwise(times)), times
    assert kernel.run("print(len(plot.errors.outputs))").stdout.strip() == "0"


SLEEP_UNTIL_FIVE_REDRAWS = """
import time
start, deadline = plot.chart.messages, time.monotonic() + 60
while plot.chart.messages < start + 5 and time.monotonic() < deadline:
    time.sleep(0.05)
print(min(5, plot.chart.messages - start))
"""


def test_an_exception_in_a_widget_callback_shows_in_the_widgets_error_area(kernel, name):
    start_streaming_plot(kernel, name)
    kernel.run("""
from xiotlab.faces.widgets.live import guarded
def broken(change):
    raise RuntimeError("this callback broke on purpose")
button = [w for w in _descendants(plot) if isinstance(w, ipywidgets.Button)][0]
button.on_click(guarded(plot.errors, broken))
""")
    (button,) = ids(kernel, "model_ids(plot, ipywidgets.Button)")
    (errors,) = ids(kernel, "[plot.errors.model_id]")
    since = kernel.mark()

    kernel.comm_msg(button, {"method": "custom", "content": {"event": "click"}})  # a click on Pause, as sent

    shown = kernel.wait_for(
        lambda m: (
            m.comm_id == errors
            and m.type == "comm_msg"
            and "this callback broke on purpose" in json.dumps(m.content["data"].get("state", {}))
        ),
        timeout=30,
        since=since,
    )
    assert "RuntimeError" in json.dumps(shown.content["data"]["state"]["outputs"])
    # The widget's own callback ran too: the plot paused.
    assert wait_until(kernel, "plot.paused", "True") == "True"


def test_a_slider_moved_in_the_frontend_sets_the_things_control(kernel, name):
    owner, lamp = name("alice"), name("lamp")
    kernel.run(f"%xmpp connect {owner} --as owner")
    kernel.run(f"""%%thing {lamp}
thing.control("brightness", type=int, min=0, max=100, value=10)(lambda value: None)
thing.control("on", type=bool, value=False)(lambda value: None)
""")
    kernel.run(f"%xmpp befriend {lamp}")
    kernel.run(f"panel = %xmpp panel {lamp}\ndisplay(panel)")
    (slider,) = ids(kernel, "model_ids(panel, ipywidgets.IntSlider)")
    since = kernel.mark()

    # Exactly what the browser sends when the slider is let go at 42.
    kernel.set_widget(slider, value=42)

    # frontend → comm → widget → owner.set → XMPP → thing
    assert wait_until(kernel, "thing.controls['brightness']", "42") == "42"
    # ... and back: the panel's UI thread shows the thing accepted it.
    kernel.wait_for(
        lambda m: m.type == "comm_msg" and m.content["data"].get("state", {}).get("value") == SET,
        timeout=30,
        since=since,
    )
    assert wait_until(kernel, "panel.values['brightness']", "42") == "42"
    assert kernel.run("print(len(panel.errors.outputs))").stdout.strip() == "0"


def test_a_plot_drawing_while_the_first_cell_imports_pandas_shows_no_error(kernel, name):
    # Run All in a fresh kernel: a redraw on the UI thread once raced the main thread's first
    # `import pandas` (plotly's validators reached a half-imported module). The redraw path now
    # imports neither: the first pandas import happens in the cell, with the plot drawing.
    chart = start_streaming_plot(kernel, name)
    kernel.wait_for(lambda m: m.comm_id == chart and m.type == "comm_msg" and carries_values(m), timeout=30)
    assert kernel.run("import sys; print('pandas' in sys.modules, 'plotly' in sys.modules)").stdout.split() == [
        "False",
        "False",
    ]
    kernel.run("import pandas as pd\nframe = pd.DataFrame({'x': pd.Series([1.0, 2.0])})\nimport time; time.sleep(1)")
    assert wait_until(kernel, "plot.redraws.count > 10", "True") == "True"
    assert kernel.run("print(len(plot.errors.outputs))").stdout.strip() == "0"
