"""The IoT Lab panel in a real browser: JupyterLab with the panel, a thing in one kernel, an owner in another.

One test, end to end: a persistent lab for this test only (detached, with its services, as
``xiotlab server start`` runs it), JupyterLab on a free loopback port with ``XIOTLAB_HOME`` on
that lab, two notebooks, each on its own kernel: ``thing.ipynb`` runs ``thermometer``,
``owner.ipynb`` connects ``alice`` and befriends it. Debian's Chromium, driven by Playwright,
checks in the page that the panel shows both online and linked on the map, that "read" on the
thermometer's row puts ``%xmpp read thermometer`` into the notebook, that "stop" stops the lab
and the panel says so, and that a failed "start" shows its output.

Results in ``test-results/``: ``panel-network.png`` (the panel with the map), ``panel-lab.png``
(the whole page: README's picture comes from it), ``panel-stopped.png`` and
``panel-start-failed.png`` when it passes; on failure ``panel-failure.png`` and
``panel-server.log``. The browser's console errors go to ``panel-console.txt`` either way.
"""

from __future__ import annotations

import contextlib
import shutil
import time

import pytest

import xiotlab.roles.lab  # noqa: F401  (the lab started here runs its services)
from xiotlab import LabServer
from xiotlab.errors import LabNotRunning

from .jupyter import CHROMIUM, CHROMIUM_ARGS, KERNEL_NAME, RESULTS, JupyterLab, browser_or_fail, jupyterlab, wait_for

NOTEBOOKS = {
    "thing.ipynb": [
        "%load_ext xiotlab",
        (
            '%%thing thermometer --owner alice\nthing.sensor("temperature", unit="°C")\n\n'
            "@thing.every(1)\ndef tick():\n    return {'temperature': 21.5}"
        ),
    ],
    "owner.ipynb": ["%load_ext xiotlab", "%xmpp connect alice --as owner", "%xmpp befriend thermometer"],
}

OPEN_AND_READY = """async (path) => {
    const app = window.jupyterapp;
    await app.commands.execute('docmanager:open', {path});
    const panel = app.shell.currentWidget;
    await panel.sessionContext.ready;
    return panel.context.path;
}"""

KERNEL_IDLE = """(path) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return kernel && panel.context.path === path && kernel.status === 'idle'
        ? {kernel: kernel.name, id: kernel.id} : null;
}"""

MAP = """() => {
    const map = document.querySelector('#xiotlab-lab-panel .xiotlab-map');
    return map ? {nodes: map.dataset.nodes || '', edges: map.dataset.edges || ''} : null;
}"""

SOURCES = """() => window.jupyterapp.shell.currentWidget.content.widgets.map(
    (cell) => cell.model.sharedModel.getSource())"""

PANEL_STATUS = """() => {
    const status = document.querySelector('#xiotlab-lab-panel .xiotlab-panel-status');
    const output = document.querySelector('#xiotlab-lab-panel .xiotlab-panel-output');
    return status ? {running: status.dataset.running, text: status.innerText,
                     output: output ? output.innerText : ''} : null;
}"""


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_the_panel_shows_the_lab_writes_cells_and_stops_the_server(tmp_path):
    sync_playwright, expect = browser_or_fail()
    RESULTS.mkdir(exist_ok=True)
    for stale in RESULTS.glob("panel-*"):
        stale.unlink()
    console: list[str] = []
    lab = LabServer(tmp_path / "lab", detach=True).start()
    try:
        with jupyterlab(
            root=tmp_path / "notebooks", state=tmp_path / "jupyter", lab_home=lab.home, notebooks=NOTEBOOKS
        ) as server:
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                    try:
                        page = browser.new_page(viewport={"width": 1400, "height": 1000})
                        page.on(
                            "console",
                            lambda m: console.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
                        )
                        page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
                        try:
                            drive(page, server, lab, expect)
                        except BaseException:
                            with contextlib.suppress(Exception):
                                page.screenshot(path=RESULTS / "panel-failure.png")
                            raise
                    finally:
                        browser.close()
            except BaseException:
                shutil.copy(server.log, RESULTS / "panel-server.log")
                raise
    finally:
        with contextlib.suppress(LabNotRunning):
            LabServer.running(lab.home).stop()
        (RESULTS / "panel-console.txt").write_text("\n".join(console) + "\n")
        print(f"\nBrowser console errors ({len(console)}): {RESULTS / 'panel-console.txt'}")
        for line in console[:20]:
            print("   ", line[:300])


def drive(page, server: JupyterLab, lab: LabServer, expect) -> None:
    thermometer, alice = f"thermometer@{lab.domain}", f"alice@{lab.domain}"
    page.goto(f"{server.url}/lab?token={server.token}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")
    expect(page.locator("#xiotlab-lab-panel")).to_be_attached(timeout=30_000)

    kernels = []
    for path in NOTEBOOKS:  # each notebook on a kernel of its own: the thing, then the owner
        page.evaluate(OPEN_AND_READY, path)
        kernels.append(wait_for(page, KERNEL_IDLE, f"{path}'s kernel to be idle", 90, path))
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        if path == "thing.ipynb":
            wait_for(page, f"() => ({MAP})() && ({MAP})().nodes.includes('{thermometer} ')", "the thermometer", 60)
    assert kernels[0]["id"] != kernels[1]["id"] and {k["kernel"] for k in kernels} == {KERNEL_NAME}

    page.evaluate("() => window.jupyterapp.shell.activateById('xiotlab-lab-panel')")
    started = time.monotonic()
    seen = wait_for(
        page,
        f"""() => {{ const m = ({MAP})();
            return m && m.nodes.includes('{thermometer} thing online') && m.nodes.includes('{alice} owner online')
                && m.edges.includes('friend {alice} {thermometer}') ? m : null; }}""",
        "the map to show the thermometer and alice online and friends",
        90,
    )
    print(f"\nmap: {seen} ({time.monotonic() - started:.1f} s after the panel opened)")
    row = page.locator(f'#xiotlab-lab-panel tr[data-jid="{thermometer}"]')
    expect(row).to_have_attribute("data-online", "true")
    expect(page.locator(f'#xiotlab-lab-panel tr[data-jid="{alice}"]')).to_have_attribute("data-online", "true")
    page.wait_for_timeout(500)  # the map's layout settles before the picture
    page.locator("#xiotlab-lab-panel").screenshot(path=RESULTS / "panel-network.png")

    before = page.evaluate(SOURCES)
    row.locator("button[data-action=read]").click()
    after = wait_for(
        page,
        f"() => {{ const s = ({SOURCES})(); return s.length > {len(before)} ? s : null; }}",
        "a new cell in the notebook",
        15,
    )
    assert "%xmpp read thermometer" in after, after
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path") == "owner.ipynb"
    page.screenshot(path=RESULTS / "panel-lab.png", clip={"x": 0, "y": 0, "width": 1100, "height": 640})

    log = page.locator("#xiotlab-lab-panel a.xiotlab-panel-log").get_attribute("href")
    response = page.request.get(log)  # the page's own login cookie, as the link opened in a tab
    assert response.ok and response.headers["content-type"].startswith("text/plain"), response
    assert "prosody" in response.text().lower() or "c2s" in response.text(), response.text()[:500]

    page.locator("#xiotlab-lab-panel button.xiotlab-stop").click()
    stopped = wait_for(
        page,
        f"() => {{ const s = ({PANEL_STATUS})(); return s && s.running === 'false' ? s : null; }}",
        "the panel to show the server stopped",
        60,
    )
    assert stopped["text"] == "stopped" and "stopped the lab server" in stopped["output"], stopped
    with pytest.raises(LabNotRunning):
        LabServer.running(lab.home)
    offline = wait_for(
        page,
        f"() => {{ const m = ({MAP})(); return m && !m.nodes.includes(' online') ? m : null; }}",
        "every account offline on the map",
        15,
    )
    assert f"{thermometer} thing offline" in offline["nodes"]  # the role asked while online is kept
    page.locator("#xiotlab-lab-panel").screenshot(path=RESULTS / "panel-stopped.png")

    # A start that fails shows why in the panel: here the lab home's data directory is a file.
    data = lab.home / "data"
    data.rename(lab.home / "data.kept")
    data.write_text("not a directory")
    try:
        page.locator("#xiotlab-lab-panel button.xiotlab-start").click()
        failed = page.locator("#xiotlab-lab-panel .xiotlab-panel-output.xiotlab-error")
        expect(failed).to_contain_text("start failed", timeout=60_000)
        expect(failed).to_contain_text("cannot be written")
    finally:
        data.unlink()
        (lab.home / "data.kept").rename(data)
    page.locator("#xiotlab-lab-panel").screenshot(path=RESULTS / "panel-start-failed.png")
    page.locator("#xiotlab-lab-panel button.xiotlab-start").click()
    wait_for(
        page,
        f"() => {{ const s = ({PANEL_STATUS})(); return s && s.running === 'true' ? s : null; }}",
        "the panel to show the server running again",
        60,
    )
    assert LabServer.running(lab.home).is_running
