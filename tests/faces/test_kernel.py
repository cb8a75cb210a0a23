"""The widgets in a real IPython kernel: comm messages really serialized, sent over ZMQ and read back.

Each test starts ``ipykernel`` on this interpreter, joined to the session's lab
through ``$XIOTLAB_HOME`` (no password crosses into a cell), drives it with the
magics a person types, and acts as the browser: it reads IOPub and sends comm
messages on the shell channel. Waits have generous deadlines; nothing is timed.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from xiotlab.faces.widgets.control_panel import SET

from .kernel_helpers import Kernel, carries_traces, figure_updates, points_in

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
    """An owner, a thing reporting 50 values a second, and ``plot`` drawing them; returns the figure's id."""
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
        f"plot = %xmpp plot {sensor} level --window 30s\ndisplay(plot)\nprint(plot.figure.model_id)"
    ).stdout.strip()


def test_plot_updates_keep_reaching_the_frontend_while_a_cell_sleeps(kernel, name):
    figure = start_streaming_plot(kernel, name)
    # Drawing has begun: a first update with data reached IOPub.
    kernel.wait_for(lambda m: m.comm_id == figure and m.type == "comm_msg" and carries_traces(m), timeout=30)

    sleep = kernel.run("import time; time.sleep(3)", timeout=60)

    busy, idle = sleep.started(), sleep.finished()
    during = figure_updates(kernel.messages(lambda m: busy < m.at < idle), figure)
    # 20 redraws a second at most, for 3 s: several, spread over the sleep, not one flush at its end.
    assert len(during) >= 5, f"only {len(during)} figure updates with data while the cell slept"
    middle = (busy + idle) / 2
    assert during[0].at < middle < during[-1].at
    # The points keep coming: later updates carry more of them than the first.
    assert points_in(during[-1]) > points_in(during[0])
    assert kernel.run("print(len(plot.errors.outputs))").stdout.strip() == "0"


def test_an_exception_in_a_widget_callback_shows_in_the_widgets_error_area(kernel, name):
    start_streaming_plot(kernel, name)
    kernel.run("""
from xiotlab.faces.widgets.live import guarded
def broken(change):
    raise RuntimeError("this callback broke on purpose")
toggle = [w for w in _descendants(plot) if isinstance(w, ipywidgets.ToggleButton)][0]
toggle.observe(guarded(plot.errors, broken), "value")
""")
    (toggle,) = ids(kernel, "model_ids(plot, ipywidgets.ToggleButton)")
    (errors,) = ids(kernel, "[plot.errors.model_id]")
    since = kernel.mark()

    kernel.set_widget(toggle, value=True)  # a click on Pause, as the browser sends it

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
