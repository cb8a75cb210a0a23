"""Running one private Prosody: its configuration, its process, its port.

The configuration keeps every path inside the lab home, binds loopback only,
requires TLS, and leaves out server-to-server and the ``limits`` module
(Debian's default throttles clients to 10 kB/s).

A lab that belongs to a Python process must die with it, even when that
process is killed: the server is started under ``setpriv --pdeathsig``, from
a spawner thread that lives as long as such a server runs, because the kernel
sends the parent-death signal when the *thread* that forked exits
(:func:`release_spawner` ends the thread once none runs).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import PortInUse, ProsodyNotInstalled, ServerStartFailed

INSTALL_HINT = "sudo apt-get install prosody"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

_spawner: concurrent.futures.ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()
_tied: list[subprocess.Popen] = []  # servers that get SIGTERM when the spawner thread exits


class _InHome:
    """A file of the lab home, by its name there: ``ServerFiles(home).log`` is ``home / "prosody.log"``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, files: ServerFiles, owner: type[ServerFiles]) -> Path:
        return files.home / self.name


@dataclass(frozen=True)
class ServerFiles:
    """The files of one Prosody instance, all inside its lab home."""

    home: Path

    config = _InHome("prosody.cfg.lua")
    log = _InHome("prosody.log")
    data = _InHome("data")
    pidfile = _InHome("prosody.pid")
    port = _InHome("port")  # the port it listened on last, kept across stops so clients find it again
    component_port = _InHome("component-port")  # the same, for the lab's services (XEP-0114 components)


def find_prosody() -> str:
    """The path of the ``prosody`` executable; ProsodyNotInstalled names the install command."""
    path = shutil.which("prosody")
    if not path:
        raise ProsodyNotInstalled(
            f"Prosody, the XMPP server the lab runs, is not installed. Install it with "
            f"`{INSTALL_HINT}` (Debian/Ubuntu), or run the README's set-up command, then try again."
        )
    return path


def _lua(text: str | Path) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(
    files: ServerFiles,
    *,
    domain: str,
    host: str,
    port: int,
    certificate: Path,
    key: Path,
    components: dict[str, str] | None = None,
    component_port: int | None = None,
) -> str:
    """Prosody's configuration for a private lab on ``host:port`` serving ``domain``.

    ``components`` maps each external component's address to its secret (XEP-0114); they connect
    to ``component_port``, on loopback only whatever ``host`` is: that stream is not encrypted.
    """
    components = components or {}
    modules = [
        "roster",
        "saslauth",
        "tls",
        "disco",
        "ping",
        "presence",
        "offline",
        "posix",
        "time",
        "version",
        "smacks",
    ]
    return "\n".join(
        [
            "-- Written by xiotlab at every start; edits are overwritten.",
            f"run_as_root = {'true' if os.geteuid() == 0 else 'false'}",
            f"pidfile = {_lua(files.pidfile)}",
            f"data_path = {_lua(files.data)}",
            f"interfaces = {{ {_lua(host)} }}",
            f"c2s_interfaces = {{ {_lua(host)} }}",
            f"c2s_ports = {{ {port} }}",
            "c2s_direct_tls_ports = { }",
            "legacy_ssl_ports = { }",
            "s2s_ports = { }",
            "modules_enabled = { " + ", ".join(_lua(m) for m in modules) + " }",
            'modules_disabled = { "s2s", "limits" }',
            "c2s_require_encryption = true",
            # Prosody leaves Nagle's algorithm on: with the peer's delayed acknowledgements, the last part
            # of a large stanza (a page of search results, a readout) then waited 40 ms to be sent.
            "network_settings = { nagle = false }",
            # A dropped client's session waits this long to be resumed (XEP-0198); meanwhile its
            # friends still see it online, so a device that died shows offline after half a minute.
            "smacks_hibernation_time = 30",
            'authentication = "internal_hashed"',
            'storage = "internal"',
            "allow_registration = false",
            f'log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = {_lua(files.log)} }} }}',
            *(
                [f"component_ports = {{ {component_port} }}", 'component_interfaces = { "127.0.0.1" }']
                if components and component_port
                else ["component_ports = { }"]
            ),
            f"VirtualHost {_lua(domain)}",
            f"  ssl = {{ key = {_lua(key)}, certificate = {_lua(certificate)} }}",
            *(
                f"Component {_lua(address)}\n  component_secret = {_lua(secret)}"
                for address, secret in components.items()
            ),
            "",
        ]
    )


def free_port(host: str) -> int:
    """A port on ``host`` that nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse if ``host:port`` cannot be bound."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"Port {port} on {host} is taken by another program: choose another port, "
                    "or leave `port` unset to let the lab pick a free one."
                ) from None
            raise


def launch(files: ServerFiles, *, tied_to_this_process: bool) -> subprocess.Popen:
    """Start Prosody in the foreground with the written config, its output going to its log.

    ``tied_to_this_process``: the server gets SIGTERM when this Python process ends,
    however it ends. Otherwise it runs in a session of its own and outlives us.
    """
    command = [find_prosody(), "--config", str(files.config), "-F"]
    if tied_to_this_process:
        command = ["setpriv", "--pdeathsig", "TERM", "--", *command]
    global _spawner
    with open(files.log, "ab") as log, _spawner_lock:
        if _spawner is None:
            _spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="xiotlab-spawner")
        process = _spawner.submit(
            subprocess.Popen,
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=files.home,
            start_new_session=not tied_to_this_process,
        ).result()
        if tied_to_this_process:
            _tied.append(process)
        return process


def release_spawner() -> bool:
    """End the spawner thread unless a server tied to it still runs; True if no spawner thread is left.

    The next :func:`launch` starts another. A tied server would get SIGTERM when
    the thread ends, so while one runs the thread stays.
    """
    global _spawner
    with _spawner_lock:
        _tied[:] = [process for process in _tied if process.poll() is None]
        if _spawner is not None and not _tied:
            _spawner.shutdown(wait=True)
            _spawner = None
        return _spawner is None


def wait_until_listening(process: subprocess.Popen, files: ServerFiles, host: str, port: int) -> None:
    """Return once ``host:port`` accepts connections; raise with the log's tail if it never does."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    tail = log_tail(files)
    stop(process)
    if "Failed to open server port" in tail or "Address already in use" in tail:
        raise PortInUse(f"Port {port} on {host} was taken before the lab server could bind it.")
    raise ServerStartFailed(
        f"The lab server did not start listening on {host}:{port} within {START_TIMEOUT:.0f} s. "
        f"Its log ({files.log}) ends with:\n{tail}"
    )


def log_tail(files: ServerFiles, lines: int = 15) -> str:
    try:
        return "\n".join(files.log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if Prosody has not exited within STOP_TIMEOUT."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_pid(pid: int) -> None:
    """Stop a Prosody this process did not start (a detached lab), waiting until it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not pid_is_prosody(pid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def pid_is_prosody(pid: int, config: Path | None = None) -> bool:
    """Whether ``pid`` is a live Prosody (run with ``config``, if given), not a reused pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    if state == "Z":
        return False
    text = b" ".join(cmdline)
    return b"prosody" in text and (config is None or str(config).encode() in text)
