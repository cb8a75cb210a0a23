"""What the browser tests share: JupyterLab on a free loopback port, with its own state, and a page to poll.

``jupyterlab(...)`` runs a real JupyterLab (this interpreter, this .venv, a kernelspec for it),
every file it writes under the test's tmp dir, its kernels joining the lab at ``lab_home``;
``wait_for(page, ...)`` polls a script in the page, failing at once on an error in a cell;
``browser_or_fail()`` is Playwright with Debian's Chromium, or a failure that says how to get them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

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
KERNEL_NAME = "xiotlab-test-venv"  # a kernelspec written for the tests: it runs this very interpreter


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


def browser_or_fail():
    """Playwright's ``(sync_playwright, expect)``, or a test failure saying how to install what is missing."""
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
    return sync_playwright, expect


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
def jupyterlab(
    *,
    root: Path,
    state: Path,
    lab_home: Path,
    notebooks: dict[str, list[str]] | None = None,
    options: Sequence[str] = (),
):
    """JupyterLab on a free loopback port, with its config, data, runtime and settings under ``state``.

    ``options`` are more command-line options of the server, e.g. ``--ServerApp.tornado_settings=k=v``.

    Its kernels join the lab at ``lab_home`` (``XIOTLAB_HOME``), and so does the lab panel's server
    side. ``notebooks`` maps file names to their cells: written under ``root``, on the test kernel.
    At exit: the server shuts down its kernels and stops; what is left of its process group is
    killed, and so is any kernel whose connection file is in our runtime dir (listed in ``stray_kernels``).
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
    for name, cells in (notebooks or {}).items():
        write_notebook(root / name, cells)
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
        *options,
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


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells],
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
