"""The live plot in a real browser: two views of one plot, a re-run cell and a page reload, all still growing.

A lab server for this test, JupyterLab (tests/browser/jupyter.py), a notebook whose thing reports
20 values a second, and Debian's Chromium. The plot is shown twice (its cell, and ``plot`` again
in the next cell); the plot cell is run again; the plot is paused, the notebook saved and the page
reloaded: paused, the kernel sends nothing but the whole window a view asks for, so only that can
fill the reloaded views; then it resumes. After each step every view of the plot must draw newer
values than before (read in the page from each view's ``data-newest``, the newest time it drew,
which moves on even once the window is full; ``data-points`` and ``data-frames``: how much it drew).
The legend must not cover the title, and the axes carry the units. The inspector keeps a reader's
scroll position while stanzas arrive. A plot holding one value shows it, on today's axis. Any
console error or uncaught exception from our module, uPlot or the widgets fails the test.
Screenshots: ``test-results/live-plot-*.png``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time

import pytest

from xiotlab import LabServer

from .jupyter import CHROMIUM, CHROMIUM_ARGS, RESULTS, browser_or_fail, jupyterlab, wait_for

NOTEBOOK = "live_plot.ipynb"
PLOT_CELL = 4
CELLS = [
    "%load_ext xiotlab",
    "%xmpp connect alice --as owner",
    (
        "%%thing thermometer\n"
        "import math, time\n"
        'thing.sensor("temperature", unit="°C", decimals=2)\n'
        'thing.sensor("humidity", unit="%", decimals=1)\n'
        "@thing.every(0.05)\n"
        "def tick():\n"
        '    return {"temperature": 21 + 2 * math.sin(time.time()), "humidity": 48 + 3 * math.cos(time.time())}'
    ),
    "%xmpp befriend thermometer",
    "plot = %xmpp plot thermometer temperature humidity --window 30s\nplot",
    "plot  # a second view of the same plot",
    (
        "%%thing lamp-with-a-rather-long-name-for-the-peer-list\n"
        'thing.control("brightness", type=float, min=0, max=100, value=50.0)(lambda value: None)'
    ),
    "%xmpp befriend lamp-with-a-rather-long-name-for-the-peer-list",
    "inspector = %xmpp log\ninspector",
    (
        "try:\n"
        "    %xmpp set lamp-with-a-rather-long-name-for-the-peer-list brightness=150\n"
        "except Exception as refusal:\n"
        "    print('refused as expected:', type(refusal).__name__)"
    ),
    "# the test writes plot.pause() and plot.resume() here",
]
INSPECTOR_CELL = 8
CONTROL_CELL = 10

# Console errors that are ours: our module and uPlot (anywidget imports them from blob: URLs), or the widgets'.
OURS = re.compile(
    r"uPlot|xiotlab|live_plot|anywidget|blob:|Error setting state|Error displaying widget|"
    r"Could not create|Failed to (load|render|create) (model|view|widget)",
    re.IGNORECASE,
)


def record_errors(page, into: list[str]) -> None:
    """Collect the page's console errors (with where they come from) and uncaught exceptions (with a stack)."""
    page.on(
        "console",
        lambda m: into.append(f"console error: {m.text} at {m.location.get('url', '')}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: into.append(f"uncaught: {e} {getattr(e, 'stack', '') or ''}"))


def our_errors(lines: list[str]) -> list[str]:
    """Of the recorded lines, every uncaught exception and each console error from our code or the widgets'."""
    return [line for line in lines if line.startswith("uncaught") or OURS.search(line)]


# The inspector: its stanza box (scrolled to the newest?), its buttons and its peer list.
INSPECTOR = """() => {
    const box = document.querySelector('.jp-OutputArea .xiotlab-stanzas');
    if (!box) return null;
    const stanzas = box.querySelectorAll('.xiotlab-stanza');
    const last = stanzas[stanzas.length - 1], b = box.getBoundingClientRect();
    const lastBox = last ? last.getBoundingClientRect() : null;
    const toggles = Array.from(document.querySelectorAll('.jp-OutputArea .widget-toggle-buttons button'));
    const pause = Array.from(document.querySelectorAll('.jp-OutputArea button'))
        .find((n) => /^(Pause|Resume)$/.test(n.innerText.trim()) && n.closest('.widget-hbox')
                     && n.closest('.widget-hbox').querySelector('.widget-toggle-buttons'));
    const peer = Array.from(document.querySelectorAll('.jp-OutputArea .widget-dropdown select'))[0];
    let widest = 0;
    if (peer) { const ctx = document.createElement('canvas').getContext('2d');
                ctx.font = getComputedStyle(peer).font;
                for (const o of peer.options) widest = Math.max(widest, ctx.measureText(o.text).width); }
    return {count: stanzas.length, overflows: box.scrollHeight > box.clientHeight + 10,
            newestVisible: lastBox && lastBox.bottom <= b.bottom + 2 && lastBox.bottom > b.top,
            refusal: Array.from(stanzas).some((n) => n.dataset.direction === 'in'
                                                     && n.innerText.includes('paramError')),
            togglesInARow: toggles.length === 3
                && new Set(toggles.map((t) => Math.round(t.getBoundingClientRect().top))).size === 1,
            pauseCut: pause ? pause.scrollWidth > pause.clientWidth + 1 : null, pauseText: pause && pause.innerText,
            peerCut: peer ? widest > peer.clientWidth - 20 : null,
            peers: peer ? Array.from(peer.options).map((o) => o.text) : []};
}"""

NOTEBOOK_READY = """(path) => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    const context = panel && panel.sessionContext;
    const kernel = context && context.session && context.session.kernel;
    if (!kernel || context.path !== path || kernel.status !== 'idle' || !panel.content) return null;
    return {cells: panel.content.widgets.length};
}"""

# Every view of a live plot in the page: what it drew, and where its title and legend are.
VIEWS = """() => Array.from(document.querySelectorAll('.jp-OutputArea .xiotlab-live-plot')).map((el) => {
    const box = (node) => { if (!node) return null; const r = node.getBoundingClientRect();
                            return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; };
    const title = el.querySelector('.xiotlab-live-plot-title');
    return {points: Number(el.dataset.points || 0), frames: Number(el.dataset.frames || 0),
            newest: Number(el.dataset.newest || 0), windows: Number(el.dataset.windows || 0),
            messages: Number(el.dataset.messages || 0), title: title && title.innerText,
            titleBox: box(title), legendBox: box(el.querySelector('.u-legend')),
            canvasBox: box(el.querySelector('canvas')),
            legend: (el.querySelector('.u-legend') || {}).innerText || '',
            axes: JSON.parse(el.dataset.axes || '[]')};
})"""


def views_growing(
    page, count: int, beyond: list[float] | None, what: str, timeout: float = 60, key: str = "points"
) -> list[dict]:
    """Wait until ``count`` views have painted and each one's ``key`` (points, newest) passed ``beyond[i]``.

    Without ``beyond``: more than 4 points each.
    """
    script = """([count, beyond, key]) => { const views = (VIEWS)();
        if (views.length !== count) return null;
        return views.every((v, i) => v.frames > 0 && (beyond ? v[key] > beyond[i] : v.points > 4)) ? views : null; }"""
    script = script.replace("VIEWS", VIEWS)
    return wait_for(page, script, what, timeout, [count, beyond, key])


def newer(page, views: list[dict], what: str, timeout: float = 60) -> list[dict]:
    """Wait until every view drew values newer than the newest it drew in ``views``."""
    return views_growing(page, len(views), [v["newest"] for v in views], what, timeout, key="newest")


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_every_view_of_a_live_plot_keeps_growing_after_a_rerun_and_a_reload(tmp_path):
    sync_playwright, _ = browser_or_fail()
    RESULTS.mkdir(exist_ok=True)
    console: list[str] = []
    lab = LabServer(home=tmp_path / "lab").start()
    try:
        with (
            jupyterlab(
                root=tmp_path / "notebooks", state=tmp_path / "jupyter", lab_home=lab.home, notebooks={NOTEBOOK: CELLS}
            ) as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1600})
                record_errors(page, console)
                try:
                    drive(page, f"{server.url}/lab/tree/{NOTEBOOK}?token={server.token}")
                except BaseException:
                    with contextlib.suppress(Exception):
                        page.screenshot(path=RESULTS / "live-plot-failure.png")
                    shutil.copy(server.log, RESULTS / "live-plot-server.log")
                    raise
            finally:
                browser.close()
    finally:
        lab.stop()
        (RESULTS / "live-plot-console.txt").write_text("\n".join(console) + "\n")
    assert not our_errors(console), console


def open_notebook(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")
    wait_for(page, NOTEBOOK_READY, "the notebook's kernel to be idle", 90, NOTEBOOK)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")


def drive(page, url: str) -> None:
    open_notebook(page, url)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    first = views_growing(page, 2, None, "two views of the plot to draw points", 120)
    grown = newer(page, first, "both views to keep drawing newer values")
    check_layout(grown[0])
    page.locator(".xiotlab-live-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=RESULTS / "live-plot-two-views.png")
    check_inspector(page)

    # The plot cell again: the same plot, a new view in its cell; the other view goes on.
    started = time.monotonic()
    page.evaluate(
        """(index) => { const panel = window.jupyterapp.shell.currentWidget;
                        panel.content.activeCellIndex = index;
                        return window.jupyterapp.commands.execute('notebook:run-cell'); }""",
        PLOT_CELL,
    )
    page.wait_for_timeout(500)
    rerun = views_growing(page, 2, None, "both views after the plot cell ran again")
    before = newer(page, rerun, "both views to keep drawing newer values after the re-run")
    print(f"\nre-run: both views growing after {time.monotonic() - started:.1f} s")

    # Paused, saved and reloaded: the page rebuilds each view from the window the kernel holds; paused,
    # the kernel sends no new values, so nothing but that whole window can fill the reloaded views.
    run_control(page, "plot.pause()")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1000)
    started = time.monotonic()
    page.reload(wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    # The whole window comes back: at least what the views held before (a 30 s window holds ~1200).
    held = [min(v["points"], 1000) for v in before]
    reloaded = views_growing(page, 2, held, f"both views to be rebuilt with the kernel's window ({held})", 90)
    assert all(v["windows"] >= 1 for v in reloaded), reloaded
    wait_for(page, NOTEBOOK_READY, "the reloaded notebook's kernel to be idle", 90, NOTEBOOK)
    run_control(page, "plot.resume()")
    later = newer(page, reloaded, "both views to draw newer values after the reload and resume")
    print(
        f"reload: {[v['points'] for v in reloaded]} -> {[v['points'] for v in later]} points in "
        f"{time.monotonic() - started:.1f} s"
    )
    page.locator(".xiotlab-live-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=RESULTS / "live-plot-after-reload.png")
    check_one_value(page)


# A plot with a single value so far (every plot's first, a slow sensor's for long).
ONE_VALUE = (
    "import datetime as dt\n"
    "from xiotlab import LivePlot\n"
    "from xiotlab.protocol.values import Field\n"
    "from xiotlab.roles.stream import Stream\n"
    "slow = Stream('slow@lab', 'one')\n"
    "single = LivePlot(slow, window='30s', title='one value')\n"
    "counted = LivePlot(slow, window='100 points', title='one value, a point window')\n"
    "slow.push([Field('level', 1.5, unit='m', timestamp=dt.datetime.now(dt.UTC))])\n"
    "display(single, counted)"
)

SPAN = """(title) => { const el = Array.from(document.querySelectorAll('.jp-OutputArea .xiotlab-live-plot'))
        .find((e) => (e.querySelector('.xiotlab-live-plot-title') || {}).innerText === title);
    if (!el || Number(el.dataset.points || 0) < 1 || !el.dataset.xmax) return null;
    return {xmin: Number(el.dataset.xmin), xmax: Number(el.dataset.xmax), newest: Number(el.dataset.newest)}; }"""


def check_one_value(page) -> None:
    """With one distinct time the point is in view, not tomorrow: a time window ends now, a point window centres it."""
    run_control(page, ONE_VALUE)
    span = wait_for(page, SPAN, "the one-value plot to draw its point", 60, "one value")
    assert span["xmin"] <= span["newest"] <= span["xmax"] < span["newest"] + 60, span  # uPlot alone: + 1 day
    assert abs(span["xmax"] - span["xmin"] - 30) < 1e-6, span
    counted = wait_for(page, SPAN, "the point-window plot to draw its point", 60, "one value, a point window")
    assert counted["xmin"] < counted["newest"] < counted["xmax"] < counted["newest"] + 60, counted


def run_control(page, source: str) -> None:
    """Run ``source`` in the notebook's last cell (kept for the test), and wait until the kernel is idle."""
    page.evaluate(
        """([index, source]) => { const panel = window.jupyterapp.shell.currentWidget;
                                  panel.content.widgets[index].model.sharedModel.setSource(source);
                                  panel.content.activeCellIndex = index;
                                  return window.jupyterapp.commands.execute('notebook:run-cell'); }""",
        [CONTROL_CELL, source],
    )
    wait_for(page, NOTEBOOK_READY, f"the kernel to run {source}", 60, NOTEBOOK)


def check_layout(view: dict) -> None:
    """The legend sits below the drawing, clear of the title; the axes name the units."""
    assert view["title"] and "thermometer" in view["title"], view
    title, legend, canvas = view["titleBox"], view["legendBox"], view["canvasBox"]
    assert legend["top"] >= canvas["bottom"] - 1 and legend["top"] > title["bottom"], view
    assert "°C" in view["axes"] and "%" in view["axes"], view
    assert "temperature (°C)" in view["legend"] and "humidity (%)" in view["legend"], view


def check_inspector(page) -> None:
    """The inspector opens at its newest stanza, lays out its bar on one row, and shows the refusal."""
    seen = wait_for(
        page,
        f"() => {{ const i = ({INSPECTOR})(); return i && i.overflows && i.refusal ? i : null; }}",
        "the inspector to overflow with stanzas and show the lamp's refusal",
        60,
    )
    assert seen["newestVisible"], seen
    assert seen["togglesInARow"] and seen["pauseCut"] is False and seen["pauseText"] == "Pause", seen
    assert any("lamp-with-a-rather-long-name" in p for p in seen["peers"]) and seen["peerCut"] is False, seen
    check_scroll_kept(page)
    page.evaluate(
        """(index) => { const panel = window.jupyterapp.shell.currentWidget;
                        const cell = panel.content.widgets[index];
                        cell.model.sharedModel.setSource(
                            'inspector.filter(namespace="urn:nfi:iot:ctr:1.0")\\ninspector');
                        panel.content.activeCellIndex = index;
                        return window.jupyterapp.commands.execute('notebook:run-cell'); }""",
        INSPECTOR_CELL,
    )
    filtered = wait_for(
        page,
        f"() => {{ const i = ({INSPECTOR})(); return i && i.refusal && i.count <= 4 ? i : null; }}",
        "the inspector filtered on the control protocol to show the set and its refusal",
        30,
    )
    assert filtered["newestVisible"], filtered
    page.locator(".xiotlab-stanzas").first.scroll_into_view_if_needed()
    page.screenshot(path=RESULTS / "live-plot-inspector-refusal.png")


# The stanza a reader sees at the top of the inspector's box (its header line).
AT_TOP = """(box) => { const top = box.getBoundingClientRect().top;
    const stanza = Array.from(box.querySelectorAll('.xiotlab-stanza'))
        .find((n) => n.getBoundingClientRect().bottom > top);
    return stanza ? stanza.firstElementChild.innerText : null; }"""

SCROLL_UP = """() => { const box = document.querySelector('.jp-OutputArea .xiotlab-stanzas');
    box.scrollIntoView();
    box.scrollTop = -300;  // a reversed column: 0 is the bottom (the newest), up is negative
    const stanzas = box.querySelectorAll('.xiotlab-stanza');
    return {top: box.scrollTop, reading: (AT_TOP)(box), last: stanzas[stanzas.length - 1].innerText}; }
""".replace("AT_TOP", AT_TOP)

# Once a redraw replaced the stanzas (the newest is another): where the box is, what the reader sees.
SCROLL_AFTER = """(last) => { const box = document.querySelector('.jp-OutputArea .xiotlab-stanzas');
    const stanzas = box.querySelectorAll('.xiotlab-stanza');
    return stanzas.length && stanzas[stanzas.length - 1].innerText !== last
        ? {top: box.scrollTop, reading: (AT_TOP)(box)} : null; }
""".replace("AT_TOP", AT_TOP)


def check_scroll_kept(page) -> None:
    """Scrolled up to read back, the inspector stays on what the reader reads while stanzas arrive."""
    up = page.evaluate(SCROLL_UP)
    assert up["top"] <= -250 and up["reading"], up
    after = wait_for(page, SCROLL_AFTER, "a new stanza in the inspector", 60, up["last"])
    # Not sent back to the newest (scrollTop 0), and the same stanza still at the top of the box.
    assert after["top"] <= -250 and after["reading"] == up["reading"], (up, after)
    page.evaluate("() => { document.querySelector('.jp-OutputArea .xiotlab-stanzas').scrollTop = 0; }")
