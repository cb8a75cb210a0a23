"""The magics in a real browser: JupyterLab, a kernel on this .venv, a thing, an owner, a roster and a live plot.

One test, end to end: a lab server for this test only, JupyterLab on a free loopback port
(everything it writes kept under the test's tmp dir), a notebook written here that brings
``alice`` (owner) and ``thermometer`` (a thing with a 10 Hz timer) online, and Debian's
Chromium driven by Playwright. It runs every cell through ``window.jupyterapp.commands`` and
checks, in the page, that the roster widget lists the thermometer and that the plotly figure's
points grow.

Results land in ``test-results/`` at the repository root: ``jupyterlab-live-plot.png`` when it
passes; on failure ``jupyterlab-failure.png``, ``jupyterlab-failure-cells.txt`` (every cell's
input and output as the page shows them) and ``jupyterlab-server.log`` (JupyterLab's and the
kernel's log). The browser's console errors go to ``jupyterlab-console.txt`` either way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from xiotlab import LabServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "test-results"
SCREENSHOT = RESULTS / "jupyterlab-live-plot.png"
NOTEBOOK = "live_lab.ipynb"
KERNEL_NAME = "xiotlab-test-venv"  # a kernelspec written for this test: it runs this very interpreter

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

# Failures that end the wait at once: an error in a cell (a traceback, or a magic's one-line
# UsageError, which IPython prints to stderr), a widget that cannot show, a dialog ("Select Kernel").
PAGE_PROBLEMS = """() => {
    const problems = [];
    for (const node of document.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"]'))
        problems.push('error output: ' + node.innerText);
    for (const node of document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
        if (/UsageError|Traceback|Error:/.test(node.innerText)) problems.push('stderr: ' + node.innerText);
    for (const node of document.querySelectorAll('.jp-Dialog'))
        problems.push('dialog: ' + node.innerText);
    for (const node of document.querySelectorAll('.jp-OutputArea-output'))
        if (node.innerText.includes('Error displaying widget')) problems.push('widget: ' + node.innerText);
    return problems.join('\\n');
}"""

ROSTER_ROW = """(jid) => {
    const row = document.querySelector(`.jp-OutputArea table.xiotlab-roster tr[data-jid="${jid}"]`);
    return row ? {presence: row.dataset.presence, text: row.innerText} : null;
}"""

# The plotly graph div: how many points the first trace holds, and how many drawn line paths.
PLOT = """() => {
    const gd = document.querySelector('.jp-OutputArea .js-plotly-plot');
    if (!gd || !gd.data || !gd.data.length) return null;
    const length = (trace) => (trace && trace.x) ? trace.x.length : 0;
    const lines = Array.from(gd.querySelectorAll('.scatterlayer path.js-line'))
        .filter((path) => (path.getAttribute('d') || '').length > 10).length;
    return {points: length(gd.data[0]), drawn: length(gd._fullData && gd._fullData[0]),
            name: gd.data[0].name, lines: lines, title: gd.layout && gd.layout.title && gd.layout.title.text,
            xtitle: gd._fullLayout && gd._fullLayout.xaxis && gd._fullLayout.xaxis.title &&
                    gd._fullLayout.xaxis.title.text};
}"""

CELLS_TEXT = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).map((cell, i) =>
    `--- cell ${i} ---\\n` + ((cell.querySelector('.jp-InputArea-editor') || {}).innerText || '')
    + '\\n--- output ---\\n' + ((cell.querySelector('.jp-OutputArea') || {}).innerText || '')).join('\\n')"""


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_roster_and_live_plot_work_in_jupyterlab_in_a_real_browser(tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"No Chromium at {CHROMIUM}: the browser tests drive Debian's Chromium. Run bin/test, "
            "which installs it (apt-get install chromium), or install it yourself.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail(
            "Python playwright is missing: run bin/test (it installs the `test` extra into .venv).", pytrace=False
        )

    RESULTS.mkdir(exist_ok=True)
    for stale in RESULTS.glob("jupyterlab-*"):
        stale.unlink()
    timings: dict[str, float] = {}
    started = time.monotonic()
    console: list[str] = []
    lab = LabServer(home=tmp_path / "lab").start()  # XIOTLAB_HOME for the kernel: it joins this lab
    try:
        with jupyterlab(root=tmp_path / "notebooks", state=tmp_path / "jupyter", lab_home=lab.home) as server:
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
    assert first["name"] == "temperature" and later["lines"] >= 1
    assert (later["xtitle"] or "").startswith("seconds since "), later
    accounts = lab.accounts()
    assert {f"alice@{lab.domain}", thermometer} <= set(accounts), (
        f"the kernel did not join the test's lab at {lab.home}: its accounts are {accounts}"
    )

    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.locator(".js-plotly-plot").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOT)
    shutil.copy(SCREENSHOT, tmp_path / SCREENSHOT.name)
    print(f"\nroster row: {row['text']!r}; plot points: {first['points']} -> {later['points']}")
    print(f"Screenshot: {SCREENSHOT} (and {tmp_path / SCREENSHOT.name})")


def wait_for(page, script: str, what: str, timeout: float, arg=None):
    """Poll ``script`` in the page until it returns something truthy; fail at once on a cell error."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        problems = page.evaluate(PAGE_PROBLEMS)
        if problems:
            raise AssertionError(f"While waiting for {what}, the page shows:\n{problems}")
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {timeout:g} s waiting for {what}.")
        page.wait_for_timeout(200)


def save_failure(page) -> None:
    with contextlib.suppress(Exception):
        page.screenshot(path=RESULTS / "jupyterlab-failure.png")
        print(f"\nFailure screenshot: {RESULTS / 'jupyterlab-failure.png'}")
    with contextlib.suppress(Exception):
        (RESULTS / "jupyterlab-failure-cells.txt").write_text(page.evaluate(CELLS_TEXT))
        print(f"Cells as the page shows them: {RESULTS / 'jupyterlab-failure-cells.txt'}")


# --- the Jupyter server ----------------------------------------------------------------------


@dataclass
class JupyterLab:
    url: str
    token: str
    log: Path
    runtime: Path
    process: subprocess.Popen
    stray_kernels: list[int] = field(default_factory=list)


@contextlib.contextmanager
def jupyterlab(*, root: Path, state: Path, lab_home: Path):
    """JupyterLab on a free loopback port, with its config, data, runtime and settings under ``state``.

    Its kernels join the lab at ``lab_home`` (``XIOTLAB_HOME``). At exit: the server shuts down
    its kernels and stops; what is left of its process group is killed, and so is any kernel
    whose connection file is in our runtime dir (listed in ``stray_kernels``).
    """
    root.mkdir(parents=True)
    dirs = {name: state / name for name in ("config", "data", "runtime", "ipython", "settings", "workspaces")}
    for path in dirs.values():
        path.mkdir(parents=True)
    write_kernelspec(dirs["data"] / "kernels" / KERNEL_NAME)
    # No "Would you like to get notified about official Jupyter news?" toast over the outputs.
    news = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))
    write_notebook(root / NOTEBOOK)
    token = os.urandom(16).hex()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update(
        JUPYTER_TOKEN=token,
        XIOTLAB_HOME=str(lab_home),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        MPLCONFIGDIR=str(state / "matplotlib"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = state / "jupyter-server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=root,
            start_new_session=True,
        )
    server = JupyterLab(f"http://127.0.0.1:{port}", token, log, dirs["runtime"], process)
    try:
        wait_until_serving(server)
        yield server
    finally:
        shut_down(server)


def write_kernelspec(where: Path) -> None:
    where.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "xiotlab test (.venv)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (where / "kernel.json").write_text(json.dumps(spec, indent=1))


def write_notebook(path: Path) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in CELLS],
        metadata={
            "kernelspec": {"name": KERNEL_NAME, "display_name": "xiotlab test (.venv)", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.write(notebook, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(server: JupyterLab, path: str, method: str = "GET", timeout: float = 5):
    request = urllib.request.Request(
        f"{server.url}{path}", method=method, headers={"Authorization": f"token {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def wait_until_serving(server: JupyterLab, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise AssertionError(
                f"JupyterLab exited with {server.process.returncode}; its log ({server.log}):\n" + tail(server.log)
            )
        try:
            api(server, "/api/status", timeout=2)
            return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"JupyterLab did not answer within {timeout:g} s; its log:\n" + tail(server.log))
        time.sleep(0.2)


def shut_down(server: JupyterLab) -> None:
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            api(server, "/api/shutdown", method="POST", timeout=15)  # shuts its kernels down first
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(10)
    _signal_group(process.pid, signal.SIGKILL)  # anything the server left in its group
    deadline = time.monotonic() + 10
    while (left := kernels_of(server.runtime)) and time.monotonic() < deadline:
        time.sleep(0.2)  # a kernel told to shut down may take a moment
    for pid in left:
        server.stray_kernels.append(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kernels_of(runtime: Path) -> list[int]:
    """Live ``ipykernel_launcher`` processes whose connection file is under ``runtime``."""
    found = []
    marker = str(runtime).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"ipykernel_launcher" in a for a in argv) and any(marker in a for a in argv):
            found.append(int(entry.name))
    return found


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"(no log: {e})"
