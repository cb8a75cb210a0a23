"""The magics in a real browser: JupyterLab, a kernel on this .venv, a thing, an owner, a roster and a live plot.

One test, end to end: a lab server for this test only, JupyterLab on a free loopback port
(everything it writes kept under the test's tmp dir), a notebook written here that brings
``alice`` (owner) and ``thermometer`` (a thing with a 10 Hz timer) online, and Debian's
Chromium driven by Playwright. It runs every cell through ``window.jupyterapp.commands`` and
checks, in the page, that the roster widget lists the thermometer and that the live plot's
points grow.

Results land in ``test-results/`` at the repository root: ``jupyterlab-live-plot.png`` when it
passes; on failure ``jupyterlab-failure.png``, ``jupyterlab-failure-cells.txt`` (every cell's
input and output as the page shows them) and ``jupyterlab-server.log`` (JupyterLab's and the
kernel's log). The browser's console errors go to ``jupyterlab-console.txt`` either way.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import pytest

from xiotlab import LabServer

from .jupyter import CHROMIUM, CHROMIUM_ARGS, KERNEL_NAME, RESULTS, JupyterLab, browser_or_fail, jupyterlab, wait_for

SCREENSHOT = RESULTS / "jupyterlab-live-plot.png"
NOTEBOOK = "live_lab.ipynb"

CELLS = [
    "%load_ext xiotlab",
    "%xmpp connect alice --as owner",
    (
        "%%thing thermometer\n"
        "import math, time\n"
        "\n"
        'thing.sensor("temperature", unit="°C", decimals=2)\n'
        "\n"
        "@thing.every(0.1)\n"
        "def tick():\n"
        '    return {"temperature": 21 + 2 * math.sin(time.time())}'
    ),
    "%xmpp befriend thermometer",
    "%xmpp roster",
    "%xmpp plot thermometer temperature --window 30s",
]

# --- what the page is asked ------------------------------------------------------------------

NOTEBOOK_READY = """(path) => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    const context = panel && panel.sessionContext;
    const kernel = context && context.session && context.session.kernel;
    if (!kernel || context.path !== path || kernel.status !== 'idle' || !panel.content) return null;
    return {kernel: kernel.name, cells: panel.content.widgets.length};
}"""

ROSTER_ROW = """(jid) => {
    const row = document.querySelector(`.jp-OutputArea table.xiotlab-roster tr[data-jid="${jid}"]`);
    return row ? {presence: row.dataset.presence, text: row.innerText} : null;
}"""

# The live plot's view (xiotlab's own chart): how many points it holds, how often it painted, its lines.
PLOT = """() => {
    const el = document.querySelector('.jp-OutputArea .xiotlab-live-plot');
    if (!el || !el.dataset.frames) return null;
    const labels = Array.from(el.querySelectorAll('.u-legend .u-series .u-label')).map((n) => n.innerText);
    return {points: Number(el.dataset.points || 0), lines: labels.length - 1, name: labels[1] || null,
            xtitle: JSON.parse(el.dataset.axes || '[]')[0]};
}"""

CELLS_TEXT = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).map((cell, i) =>
    `--- cell ${i} ---\\n` + ((cell.querySelector('.jp-InputArea-editor') || {}).innerText || '')
    + '\\n--- output ---\\n' + ((cell.querySelector('.jp-OutputArea') || {}).innerText || '')).join('\\n')"""


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_roster_and_live_plot_work_in_jupyterlab_in_a_real_browser(tmp_path):
    sync_playwright, expect = browser_or_fail()

    RESULTS.mkdir(exist_ok=True)
    for stale in RESULTS.glob("jupyterlab-*"):
        stale.unlink()
    timings: dict[str, float] = {}
    started = time.monotonic()
    console: list[str] = []
    lab = LabServer(home=tmp_path / "lab").start()  # XIOTLAB_HOME for the kernel: it joins this lab
    try:
        with jupyterlab(
            root=tmp_path / "notebooks", state=tmp_path / "jupyter", lab_home=lab.home, notebooks={NOTEBOOK: CELLS}
        ) as server:
            timings["lab + jupyter server up"] = time.monotonic() - started
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                    try:
                        page = browser.new_page(viewport={"width": 1280, "height": 1700})
                        page.on(
                            "console",
                            lambda m: (
                                console.append(f"console.{m.type}: {m.text}")
                                if m.type in ("error", "warning")
                                else None
                            ),
                        )
                        page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
                        try:
                            drive(page, server, lab, expect, timings, started, tmp_path)
                        except BaseException:
                            save_failure(page)
                            raise
                    finally:
                        browser.close()
            except BaseException:
                shutil.copy(server.log, RESULTS / "jupyterlab-server.log")
                print(f"\nJupyter server log: {RESULTS / 'jupyterlab-server.log'}")
                raise
        assert not server.stray_kernels, (
            f"Kernel processes outlived the Jupyter server (killed now): {server.stray_kernels}"
        )
    finally:
        lab.stop()
        (RESULTS / "jupyterlab-console.txt").write_text("\n".join(console) + "\n")
        timings["total"] = time.monotonic() - started
        print("\n" + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))
        print(f"Browser console errors and warnings ({len(console)}): {RESULTS / 'jupyterlab-console.txt'}")
        for line in console[:20]:
            print("   ", line[:300])


def drive(page, server: JupyterLab, lab: LabServer, expect, timings: dict, started: float, tmp_path: Path) -> None:
    """Open the notebook, run every cell, and check the roster and the plot in the page."""
    thermometer = f"thermometer@{lab.domain}"
    page.goto(f"{server.url}/lab/tree/{NOTEBOOK}?token={server.token}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")  # resolves once the workspace and the notebook are open
    ready = wait_for(page, NOTEBOOK_READY, "the notebook's kernel to be idle", 90, NOTEBOOK)
    assert ready["kernel"] == KERNEL_NAME, f"the notebook runs kernel {ready['kernel']!r}, not {KERNEL_NAME!r}"
    assert ready["cells"] == len(CELLS)
    timings["page + kernel ready"] = time.monotonic() - started

    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    row = wait_for(
        page,
        f"(jid) => {{ const r = ({ROSTER_ROW})(jid); "
        "return r && r.presence === 'available' && r.text.includes('friend') ? r : null; }",
        f"the roster widget to show {thermometer} online and a friend",
        90,
        thermometer,
    )
    expect(page.locator("table.xiotlab-roster td", has_text=thermometer)).to_be_visible()
    timings["roster shows the thermometer"] = time.monotonic() - started

    first = wait_for(
        page,
        f"() => {{ const p = ({PLOT})(); return p && p.points >= 2 && p.lines ? p : null; }}",
        "the live plot to draw a line of at least 2 points",
        90,
    )
    later = wait_for(
        page,
        f"(n) => {{ const p = ({PLOT})(); return p && p.points > n ? p : null; }}",
        f"the live plot to grow beyond {first['points']} points",
        30,
        first["points"],
    )
    timings["plot grows"] = time.monotonic() - started
    assert first["name"] == "temperature (°C)" and later["lines"] >= 1
    assert later["xtitle"] == "local time", later
    accounts = lab.accounts()
    assert {f"alice@{lab.domain}", thermometer} <= set(accounts), (
        f"the kernel did not join the test's lab at {lab.home}: its accounts are {accounts}"
    )

    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.locator(".xiotlab-live-plot").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOT)
    shutil.copy(SCREENSHOT, tmp_path / SCREENSHOT.name)
    print(f"\nroster row: {row['text']!r}; plot points: {first['points']} -> {later['points']}")
    print(f"Screenshot: {SCREENSHOT} (and {tmp_path / SCREENSHOT.name})")


def save_failure(page) -> None:
    with contextlib.suppress(Exception):
        page.screenshot(path=RESULTS / "jupyterlab-failure.png")
        print(f"\nFailure screenshot: {RESULTS / 'jupyterlab-failure.png'}")
    with contextlib.suppress(Exception):
        (RESULTS / "jupyterlab-failure-cells.txt").write_text(page.evaluate(CELLS_TEXT))
        print(f"Cells as the page shows them: {RESULTS / 'jupyterlab-failure-cells.txt'}")
