"""Running one private Prosody: its configuration, its process, its port.

The configuration keeps every path inside the lab home, binds loopback only,
requires TLS, and leaves out the ``limits`` module (Debian's default throttles
clients to 10 kB/s). Server-to-server is off, unless the lab federates
(:mod:`.federation`): then it listens on its own address, requires encryption
and a valid certificate both ways, and trusts only the authorities it was given.

A lab that belongs to a Python process must die with it, even when that
process is killed: the server is started under ``setpriv --pdeathsig``, from
a spawner thread that lives as long as such a server runs, because the kernel
sends the parent-death signal when the *thread* that forked exits
(:func:`release_spawner` ends the thread once none runs). That machinery is
:mod:`.process`, shared with the lab's MQTT broker (:mod:`.mosquitto`).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import PortInUse, ProsodyNotInstalled, ServerStartFailed
from . import process as _process
from .federation import RELOAD_DNS_MODULE, S2S_PORT, FederationFiles
from .process import STOP_TIMEOUT as STOP_TIMEOUT
from .process import check_port_free as check_port_free
from .process import free_port as free_port
from .process import release_spawner as release_spawner
from .process import stop as stop

INSTALL_HINT = "sudo apt-get install prosody"
START_TIMEOUT = 10.0


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


@functools.cache
def lua_module_loads(module: str) -> bool:
    """Whether Prosody's Lua interpreter (the one its script names) can load ``module``.

    True when that cannot be told (no interpreter line): the check is a courtesy, Prosody's log
    says the rest.
    """
    try:
        first = Path(find_prosody()).read_text(errors="replace").split("\n", 1)[0]
    except OSError:
        return True
    interpreter = first.removeprefix("#!").split()[-1] if first.startswith("#!") else ""
    if not interpreter.startswith("lua") or not shutil.which(interpreter):
        return True
    probe = [interpreter, "-e", f"require {_lua(module)}"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=START_TIMEOUT).returncode == 0
    except subprocess.TimeoutExpired:
        return True


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
    federation: FederationFiles | None = None,
) -> str:
    """Prosody's configuration for a private lab on ``host:port`` serving ``domain``.

    ``components`` maps each external component's address to its secret (XEP-0114); they connect
    to ``component_port``, on loopback only whatever ``host`` is: that stream is not encrypted.
    ``federation``: the lab talks to other labs on ``host`` port 5269, with those files.
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
        "admin_shell",  # its socket (data/prosody.sock, the user's only) tells the lab panel who is online
    ]
    if federation:
        modules.append(RELOAD_DNS_MODULE)  # the second re-reads the hosts file at a reload (see .federation)
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
            *(_federation_lines(host, federation) if federation else ["s2s_ports = { }"]),
            "modules_enabled = { " + ", ".join(_lua(m) for m in modules) + " }",
            'modules_disabled = { "limits" }' if federation else 'modules_disabled = { "s2s", "limits" }',
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


def _federation_lines(host: str, files: FederationFiles) -> list[str]:
    """Server-to-server on ``host``: encrypted, certificates checked both ways against the lab's bundle only."""
    return [
        f"s2s_ports = {{ {S2S_PORT} }}",
        f"s2s_interfaces = {{ {_lua(host)} }}",
        "s2s_require_encryption = true",
        "s2s_secure_auth = true",  # a certificate that does not verify for its domain is refused, no dialback
        # Only the lab's own CA and those it was told to trust: capath points at the lab's own directory,
        # not /etc/ssl/certs, so no public authority can vouch for a lab.
        f"ssl = {{ cafile = {_lua(files.cafile)}, capath = {_lua(files.cafile.parent)} }}",
        f"unbound = {{ hoststxt = {_lua(files.hosts)} }}",
        f"plugin_paths = {{ {_lua(files.plugins)} }}",
    ]


def reload(pid: int) -> None:
    """Have the Prosody ``pid`` re-read its configuration and certificates (SIGHUP), keeping every session.

    Prosody installs its SIGHUP handler only once its event loop runs, a moment after its ports
    open; before that the signal's default action would kill it, so this waits for the handler.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while not _catches(pid, signal.SIGHUP):
        if time.monotonic() > deadline:
            raise ServerStartFailed(f"The lab server (pid {pid}) is not ready to reload its configuration.")
        time.sleep(0.01)
    os.kill(pid, signal.SIGHUP)


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (the SigCgt mask of /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        raise ServerStartFailed(f"The lab server (pid {pid}) is not running.") from None
    mask = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(mask, 16) >> (signum - 1) & 1)


def launch(files: ServerFiles, *, tied_to_this_process: bool) -> subprocess.Popen:
    """Start Prosody in the foreground with the written config, its output going to its log.

    ``tied_to_this_process``: the server gets SIGTERM when this Python process ends,
    however it ends. Otherwise it runs in a session of its own and outlives us.
    """
    command = [find_prosody(), "--config", str(files.config), "-F"]
    return _process.spawn(command, log=files.log, cwd=files.home, tied_to_this_process=tied_to_this_process)


def wait_until_listening(process: subprocess.Popen, files: ServerFiles, host: str, port: int) -> None:
    """Return once ``host:port`` accepts connections; raise with the log's tail if it never does."""
    if _process.listening(process, host, port, START_TIMEOUT):
        return
    tail = log_tail(files)
    stop(process)
    if "Failed to open server port" in tail or "Address already in use" in tail:
        raise PortInUse(f"Port {port} on {host} was taken before the lab server could bind it.")
    raise ServerStartFailed(
        f"The lab server did not start listening on {host}:{port} within {START_TIMEOUT:.0f} s. "
        f"Its log ({files.log}) ends with:\n{tail}"
    )


def log_tail(files: ServerFiles, lines: int = 15) -> str:
    return _process.tail(files.log, lines)


def stop_pid(pid: int) -> None:
    """Stop a Prosody this process did not start (a detached lab), waiting until it is gone."""
    _process.stop_pid(pid, pid_is_prosody)


def pid_is_prosody(pid: int, config: Path | None = None) -> bool:
    """Whether ``pid`` is a live Prosody (run with ``config``, if given), not a reused pid."""
    return _process.pid_runs(pid, "prosody", config)
