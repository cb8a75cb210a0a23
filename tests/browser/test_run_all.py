"""Lessons 00–06 with Run All in JupyterLab in Chromium: no error output, and the live plots still move.

Each lesson ends with "When you are done", whose cell only defines ``tidy_up()``: after Run All
every plot on the page must keep drawing (its views' ``data-frames`` grow, waited for with a
deadline), no output may say that someone is not online, and the console shows no error from our
module, uPlot or the widgets. Each notebook's kernel is shut down before the next opens.
Screenshots: ``test-results/run-all-<notebook>.png``.
"""

from __future__ import annotations

import contextlib
import shutil
import time

import pytest

from xiotlab import LabServer

from .jupyter import CHROMIUM, CHROMIUM_ARGS, REPO, RESULTS, browser_or_fail, jupyterlab
from .test_live_plot import our_errors, record_errors

PLOTS = {"00-start-here.ipynb": 1, "03-live-streams.ipynb": 2}  # live plots each lesson shows
LESSONS = sorted(path.name for path in (REPO / "notebooks").glob("0[0-6]-*.ipynb"))

KERNEL_IDLE = """(path) => { const p = window.jupyterapp.shell.currentWidget; const c = p && p.sessionContext;
    return c && c.path === path && c.session && c.session.kernel && c.session.kernel.status === 'idle'; }"""

# Every code cell has run and the kernel is idle: Run All is over.
ALL_RAN = """(path) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const context = panel && panel.sessionContext;
    const kernel = context && context.session && context.session.kernel;
    if (!kernel || context.path !== path || kernel.status !== 'idle' || !panel.content) return null;
    const cells = panel.content.widgets.filter((cell) => cell.model.type === 'code');
    const ran = cells.filter((cell) => cell.model.executionCount !== null).length;
    return ran === cells.length && !document.querySelector('.jp-InputPrompt')?.innerText.includes('*')
        ? {cells: cells.length} : null;
}"""

# What went wrong in the outputs: errors, tracebacks on stderr, and widgets that lost their participant.
BROKEN = """() => {
    const found = [];
    for (const node of document.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"]'))
        found.push('error: ' + node.innerText.slice(0, 300));
    for (const node of document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
        if (/Traceback/.test(node.innerText)) found.push('stderr: ' + node.innerText.slice(0, 300));
    for (const node of document.querySelectorAll('.jp-OutputArea-output'))
        if (/is not online|the owner went offline|Error displaying widget/.test(node.innerText))
            found.push('dead widget: ' + node.innerText.slice(0, 200));
    return found;
}"""

FRAMES = """() => Array.from(document.querySelectorAll('.jp-OutputArea .xiotlab-live-plot'))
    .map((el) => Number(el.dataset.frames || 0))"""


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_lessons_run_all_without_errors_and_their_plots_keep_moving(tmp_path):
    sync_playwright, _ = browser_or_fail()
    RESULTS.mkdir(exist_ok=True)
    lab = LabServer(home=tmp_path / "lab").start()  # the persistent lab the lessons join
    timings = {}
    console: list[str] = []
    try:
        with (
            jupyterlab(root=tmp_path / "notebooks", state=tmp_path / "jupyter", lab_home=lab.home) as server,
            sync_playwright() as playwright,
        ):
            # Every cell in the page, not only those scrolled into view: the plots are looked at all at once.
            tracker = tmp_path / "jupyter" / "settings" / "@jupyterlab" / "notebook-extension"
            tracker.mkdir(parents=True, exist_ok=True)
            (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
            for path in (REPO / "notebooks").iterdir():
                if path.is_file():
                    shutil.copy(path, tmp_path / "notebooks" / path.name)
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                record_errors(page, console)
                for name in LESSONS:
                    console.append(f"--- {name}")
                    started = time.monotonic()
                    try:
                        run_all(page, f"{server.url}/lab/tree/{name}?reset&token={server.token}", name)
                    except BaseException:
                        with contextlib.suppress(Exception):
                            page.screenshot(path=RESULTS / f"run-all-failure-{name}.png")
                        shutil.copy(server.log, RESULTS / "run-all-server.log")
                        raise
                    timings[name] = time.monotonic() - started
            finally:
                browser.close()
    finally:
        lab.stop()
        print("\n" + ", ".join(f"{k}: {v:.0f} s" for k, v in timings.items()))
        (RESULTS / "run-all-console.txt").write_text("\n".join(console) + "\n")
    assert not our_errors(console), "\n".join(console)


def run_all(page, url: str, name: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    deadline = time.monotonic() + 90
    while not page.evaluate(KERNEL_IDLE, name):  # the saved outputs may show errors on purpose: not wait_for
        assert time.monotonic() < deadline, f"{name}: its kernel was not idle within 90 s"
        page.wait_for_timeout(300)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + 240
    while not page.evaluate(ALL_RAN, name):
        assert time.monotonic() < deadline, f"{name}: Run All did not finish in 240 s"
        broken = page.evaluate(BROKEN)
        assert not broken, f"{name}:\n" + "\n".join(broken)
        page.wait_for_timeout(500)
    broken = page.evaluate(BROKEN)
    assert not broken, f"{name} after Run All:\n" + "\n".join(broken)
    before = page.evaluate(FRAMES)
    assert len(before) == PLOTS.get(name, 0), f"{name}: {len(before)} plots on the page"
    deadline = time.monotonic() + 60
    while before:  # every plot keeps drawing after the last cell ran: each view paints again
        after = page.evaluate(FRAMES)
        if len(after) == len(before) and all(a > b for a, b in zip(after, before, strict=True)):
            break
        assert time.monotonic() < deadline, f"{name}: plots stopped drawing after Run All: frames {before} -> {after}"
        page.wait_for_timeout(300)
    if before:
        page.locator(".xiotlab-live-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=RESULTS / f"run-all-{name.removesuffix('.ipynb')}.png")
    page.evaluate(
        """() => { const p = window.jupyterapp.shell.currentWidget;
                   return p.sessionContext.shutdown().then(() => p.context.model.dirty = false); }"""
    )
