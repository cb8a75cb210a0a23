"""``LabServer``: a private XMPP server that the lab starts, owns and stops.

Two kinds of lab:

- ephemeral (``LabServer()``): state in a temporary directory, removed at
  ``stop()``; the server dies with the Python process that started it;
- persistent (``LabServer(home, detach=True)``, what ``xiotlab server start``
  runs): state under a lab home, the server outlives the process, and any
  process of the same user joins it with ``LabServer.running()``.

A lab home holds everything: ``lab.json`` (where the server listens), the
Prosody configuration, store and log, the certificate authority,
``accounts.json`` with the generated passwords and ``services.json`` with the
services' secrets (mode 0600), and the services' own store.

The lab's services (a thing registry and a provisioning service) are XMPP
components on its server. They are written above this layer, which only
declares them to Prosody and runs what registered to serve them
(:func:`add_services`): in this process for a lab that dies with it, in a
background process of their own for a detached lab.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import LabAlreadyRunning, LabHomeNotWritable, LabNotRunning, PortInUse, ServerStartFailed
from . import mosquitto, prosody
from .accounts import AccountBook, Credentials, check_name, write_prosody_account
from .certs import ensure_certificates

DEFAULT_DOMAIN = "xiotlab.localhost"
DEFAULT_HOST = "127.0.0.1"
_EPHEMERAL_PREFIX = "xiotlab-lab-"
SERVICES = ("registry", "provisioning")
"""The lab's services, each a component at ``<name>.<domain>``."""


@dataclass(frozen=True)
class ComponentAccess:
    """How one of the lab's services joins its server: address, secret, and where (loopback)."""

    jid: str
    secret: str
    host: str
    port: int

    def __repr__(self) -> str:
        return f"ComponentAccess(jid={self.jid!r}, host={self.host!r}, port={self.port}, secret=<hidden>)"


class RunningServices(Protocol):
    """What runs a lab's services in this process; :meth:`stop` ends them."""

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ServiceHost:
    """Who serves the lab's services: ``start(lab)`` runs them here, ``command(lab)`` is a process that does."""

    start: Callable[[LabServer], RunningServices]
    command: Callable[[LabServer], Sequence[str]]


_service_hosts: list[ServiceHost] = []


def add_services(host: ServiceHost) -> None:
    """Have every lab started from now on run ``host``'s services (the layer that has them calls this)."""
    if host not in _service_hosts:
        _service_hosts.append(host)


def default_home() -> Path:
    """The persistent lab's home: ``$XIOTLAB_HOME``, else ``~/.xiotlab``."""
    return Path(os.environ.get("XIOTLAB_HOME") or Path.home() / ".xiotlab")


class LabServer:
    """A private Prosody on loopback with its own certificate authority and accounts.

    >>> with LabServer() as lab:                      # doctest: +SKIP
    ...     alice = lab.account("alice")              # Credentials(jid='alice@xiotlab.localhost', ...)

    Parameters
    ----------
    home:
        State directory. ``None``: a temporary one, removed at ``stop()``.
    domain:
        The XMPP domain of the lab's accounts.
    host, port:
        Where the server listens; loopback and a free port by default.
    detach:
        Keep the server running after this Python process ends (needs ``home``).
    services:
        Run the lab's services (the thing registry at :attr:`registry`, provisioning at
        :attr:`provisioning`) beside the server.
    mqtt:
        Run a private MQTT broker (mosquitto, loopback only) beside the server, started and
        stopped with it: :attr:`mqtt_url` is where MQTT clients and an
        :class:`~xiotlab.bridges.MqttBridge` connect.
    """

    def __init__(
        self,
        home: str | os.PathLike | None = None,
        *,
        domain: str = DEFAULT_DOMAIN,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        detach: bool = False,
        services: bool = True,
        mqtt: bool = False,
    ) -> None:
        if detach and home is None:
            raise ValueError("A detached lab outlives this process and needs a `home` to keep its state in.")
        self._ephemeral = home is None
        self.home: Path | None = None if home is None else Path(home).expanduser().resolve()
        self.domain = domain
        self.host = host
        self.port = port
        self.component_port: int | None = None  # where the lab's services connect (loopback)
        self._requested_port = port
        self._detach = detach
        self.services = services
        self.mqtt = mqtt  # whether this lab runs (and stops) an MQTT broker of its own
        self._broker: mosquitto.Broker | None = None
        self._running_services: list[RunningServices] = []
        self._process: subprocess.Popen | None = None
        self._pid: int | None = None
        self._started_here = False
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None

    @property
    def persistent(self) -> bool:
        """True for a lab with a home that other processes can join; False for an ephemeral one."""
        return not self._ephemeral

    # --- joining a running lab ----------------------------------------------

    @classmethod
    def running(cls, home: str | os.PathLike | None = None) -> LabServer:
        """The lab already running under ``home`` (default: ``$XIOTLAB_HOME`` or ``~/.xiotlab``).

        Raises LabNotRunning, saying how to start one, if none runs there.
        """
        home = Path(home).expanduser().resolve() if home is not None else default_home().resolve()
        state = _read_state(home)
        if not state or not prosody.pid_is_prosody(state["pid"], prosody.ServerFiles(home).config):
            raise LabNotRunning(
                f"No lab server runs under {home}. Start one with `xiotlab server start`"
                + ("" if home == default_home().resolve() else f" (with XIOTLAB_HOME={home})")
                + ", or use an ephemeral one: `LabServer().start()`."
            )
        lab = cls(home, domain=state["domain"], host=state["host"], port=state["port"])
        lab._pid = state["pid"]
        lab.component_port = state.get("component_port")
        lab.services = bool(state.get("services", lab.component_port))
        lab.mqtt = bool(state.get("mqtt"))
        lab._broker = mosquitto.Broker.running(home)  # this lab's, or one `xiotlab mqtt start` runs here
        return lab

    # --- life cycle ---------------------------------------------------------

    def start(self) -> LabServer:
        """Start the server and return once it accepts connections (well within a second)."""
        with self._lock:
            if self.is_running:
                return self
            home = self._prepare_home()
            try:
                process = self._launch(home)
            except BaseException:
                if self._ephemeral:  # a failed ephemeral start leaves nothing behind
                    shutil.rmtree(home, ignore_errors=True)
                    self.home = None
                raise
            self._process, self._pid, self._started_here = process, process.pid, True
            self._write_state(home)
            if not self._detach:
                self._finalizer = weakref.finalize(self, _cleanup, process, home, self._ephemeral)
        try:
            if self.mqtt:
                self._broker = mosquitto.Broker(home, detach=self._detach).start()
            self._start_services()
        except BaseException:
            self.stop()
            raise
        return self

    # --- the MQTT broker -------------------------------------------------------

    def start_mqtt(self) -> str:
        """Start the lab's MQTT broker (loopback, state in the lab home) unless one runs; its URL.

        A persistent lab's broker outlives this process, as ``xiotlab mqtt start``'s does; an
        ephemeral lab's dies with it. Either stops with the lab.
        """
        if self._live_broker() is None:
            self._broker = mosquitto.Broker(self._need_home(), detach=self.persistent).start()
        return self.mqtt_url

    def _live_broker(self) -> mosquitto.Broker | None:
        """The broker running in the lab home: ours, or one another process started there since."""
        if self._broker is None or not self._broker.is_running:
            self._broker = mosquitto.Broker.running(self.home) if self.home is not None else None
        return self._broker

    @property
    def mqtt_port(self) -> int | None:
        """The port of the lab's MQTT broker on loopback while it runs, else None."""
        broker = self._live_broker()
        return broker.port if broker is not None else None

    @property
    def mqtt_url(self) -> str:
        """``mqtt://127.0.0.1:PORT``: the lab's MQTT broker. LabNotRunning, saying how to start one, if none runs."""
        broker = self._live_broker()
        if broker is None:
            raise LabNotRunning(
                f"{self!r} runs no MQTT broker: call `lab.start_mqtt()`, start the lab with "
                "`LabServer(mqtt=True)`, or the persistent lab's with `xiotlab mqtt start`."
            )
        return broker.url

    def mqtt_status(self) -> dict:
        """Whether the lab's MQTT broker runs, where (``url``) and as which process."""
        broker = self._live_broker()
        if broker is None:
            return {"running": False, "url": None, "pid": None}
        return broker.status()

    # --- the lab's services -----------------------------------------------------

    @property
    def registry(self) -> str:
        """The thing registry's address (``registry.<domain>``): things register there, owners claim."""
        return f"registry.{self.domain}"

    @property
    def provisioning(self) -> str:
        """The provisioning service's address (``provisioning.<domain>``): things ask it who may do what."""
        return f"provisioning.{self.domain}"

    def component(self, name: str) -> ComponentAccess:
        """How service ``name`` (one of :data:`SERVICES`) joins the server; the secret stays in the lab home."""
        if name not in SERVICES:
            raise ValueError(f"{name!r} is not one of the lab's services: {', '.join(SERVICES)}.")
        if not self.component_port:
            raise LabNotRunning(f"{self!r} runs no services: start it with `services=True`.")
        secret = AccountBook(self._need_home() / "services.json").get_or_create(name, lambda *_: None)
        return ComponentAccess(f"{name}.{self.domain}", secret, DEFAULT_HOST, self.component_port)

    @property
    def services_store(self) -> Path:
        """The services' own state (claims, tags, rules): SQLite, in the lab home."""
        return self._need_home() / "services.sqlite"

    def services_status(self) -> dict:
        """Which services run, at which address, and where (this process, or a background pid)."""
        if not self.services:
            return {}
        pid = _services_pid(self._need_home())
        where = "this process" if self._running_services else (f"pid {pid}" if pid else "not running")
        return {name: {"jid": f"{name}.{self.domain}", "running": where} for name in SERVICES}

    def _start_services(self) -> None:
        self._stop_services()  # those of a server that died: their streams would claim the addresses
        if not (self.services and _service_hosts):
            return
        home = self._need_home()
        if self._detach:
            for host in _service_hosts:
                _launch_services(home, host.command(self))
        else:
            self._running_services = [host.start(self) for host in _service_hosts]

    def _stop_services(self) -> None:
        for running in reversed(self._running_services):
            running.stop()
        self._running_services = []
        if self.home is not None:
            _stop_services_process(self.home)

    def _launch(self, home: Path) -> subprocess.Popen:
        files = prosody.ServerFiles(home)
        self._refuse_if_running(files)
        certs = ensure_certificates(home / "certs", self.domain)
        for attempt in range(3):
            self.port = self._requested_port or self._port_again(files.port, self.host) or prosody.free_port(self.host)
            if self._requested_port:
                prosody.check_port_free(self.host, self.port)
            components: dict[str, str] = {}
            if self.services:
                self.component_port = self._port_again(files.component_port, DEFAULT_HOST) or prosody.free_port(
                    DEFAULT_HOST
                )
                components = {access.jid: access.secret for access in map(self.component, SERVICES)}
            files.config.write_text(
                prosody.render_config(
                    files,
                    domain=self.domain,
                    host=self.host,
                    port=self.port,
                    certificate=certs.server_certificate,
                    key=certs.server_key,
                    components=components,
                    component_port=self.component_port,
                )
            )
            process = prosody.launch(files, tied_to_this_process=not self._detach)
            try:
                prosody.wait_until_listening(process, files, self.host, self.port)
                files.port.write_text(str(self.port))
                if self.component_port:
                    files.component_port.write_text(str(self.component_port))
                return process
            except PortInUse:
                # A free port chosen by us can be grabbed before Prosody binds it: pick again.
                if self._requested_port or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _port_again(kept: Path, host: str) -> int | None:
        """The port this lab had last time, if it is free: clients that knew it come back by themselves."""
        try:
            port = int(kept.read_text())
            prosody.check_port_free(host, port)
        except (OSError, ValueError, PortInUse):
            return None
        return port

    def stop(self) -> None:
        """Stop the server; an ephemeral lab's state is removed. Safe to call twice."""
        with self._lock:
            self._stop_services()
            broker = self._live_broker()
            if broker is not None:
                broker.stop()  # the lab's broker, whoever started it, stops with the lab
                self._broker = None
            if self._finalizer is not None:
                self._finalizer()  # stops our process and removes an ephemeral home
                self._finalizer = None
            elif self._process is not None:
                prosody.stop(self._process)
            elif self._pid is not None:
                prosody.stop_pid(self._pid)
            if self.home is not None and not self._ephemeral:
                (self.home / "lab.json").unlink(missing_ok=True)
            self._process = None
            self._pid = None

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        # Leaving a `with` block stops only what this object started, not a lab it joined.
        if self._started_here:
            self.stop()

    # --- state --------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """Whether the server process is alive."""
        if self._process is not None:
            return self._process.poll() is None
        return self._pid is not None and prosody.pid_is_prosody(self._pid)

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._pid if self.is_running else None

    @property
    def ca_file(self) -> Path:
        """The lab's certificate authority: give it to any TLS client that talks to the lab."""
        return self._need_home() / "certs" / "ca.pem"

    @property
    def accounts_file(self) -> Path:
        """Where the generated passwords are kept (mode 0600)."""
        return self._need_home() / "accounts.json"

    def status(self) -> dict:
        """Where the lab runs and what it holds, as a plain dict (no passwords)."""
        return {
            "running": self.is_running,
            "domain": self.domain,
            "host": self.host,
            "port": self.port,
            "pid": self.pid,
            "home": str(self.home) if self.home else None,
            "accounts": self.accounts() if self.home else [],
            "services": self.services_status() if self.home else {},
            "mqtt": self.mqtt_status(),
        }

    # --- accounts -----------------------------------------------------------

    def account(self, name: str) -> Credentials:
        """The credentials of account ``name`` (``"lamp"`` or ``"lamp@<domain>"``), created if new.

        The password is generated, kept in the lab home (0600) and never printed.
        """
        local = self._local_name(name)
        book = AccountBook(self.accounts_file)
        data = prosody.ServerFiles(self._need_home()).data
        password = book.get_or_create(local, lambda n, p: write_prosody_account(data, self.domain, n, p))
        return Credentials(f"{local}@{self.domain}", password)

    def thing_key(self, name: str) -> str:
        """The secret KEY thing ``name`` registers with (made once, kept in the lab home, mode 0600).

        Whoever holds the thing's claim code (its QR code) can claim it: the KEY is what makes
        the code the thing's own.
        """
        return AccountBook(self._need_home() / "keys.json").get_or_create(self._local_name(name), lambda *_: None)

    def accounts(self) -> list[str]:
        """The JIDs of every account this lab created."""
        return [f"{n}@{self.domain}" for n in AccountBook(self.accounts_file).names()]

    def password_of(self, jid: str) -> str | None:
        """The stored password of a lab account, or None if the lab did not create it."""
        try:
            local = self._local_name(jid)
        except ValueError:
            return None
        return AccountBook(self.accounts_file).password(local)

    def _local_name(self, name: str) -> str:
        local, _, domain = name.partition("@")
        if domain and domain.split("/")[0] != self.domain:
            raise ValueError(f"{name!r} is not on this lab's domain {self.domain!r}.")
        return check_name(local)

    # --- internals ----------------------------------------------------------

    def _need_home(self) -> Path:
        if self.home is None:
            raise LabNotRunning("This ephemeral lab has not been started yet: call `start()` first.")
        return self.home

    def _prepare_home(self) -> Path:
        """The lab home, made (a fresh temporary one for an ephemeral lab) and checked writable."""
        if self.home is None:
            _sweep_abandoned_homes()
            self.home = Path(tempfile.mkdtemp(prefix=_EPHEMERAL_PREFIX))
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            (self.home / "data").mkdir(mode=0o700, exist_ok=True)
            probe = self.home / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise LabHomeNotWritable(
                f"The lab home {self.home} cannot be written ({e.strerror}): choose another with "
                "`home=...` or XIOTLAB_HOME, or fix its permissions."
            ) from None
        return self.home

    def _refuse_if_running(self, files: prosody.ServerFiles) -> None:
        state = _read_state(files.home)
        if state and prosody.pid_is_prosody(state["pid"], files.config):
            raise LabAlreadyRunning(
                f"A lab server already runs under {self.home} (pid {state['pid']}, port {state['port']}). "
                "Join it with `LabServer.running()`, or stop it first with `xiotlab server stop`."
            )

    def _write_state(self, home: Path) -> None:
        state = {
            "domain": self.domain,
            "host": self.host,
            "port": self.port,
            "pid": self._pid,
            "component_port": self.component_port,
            "services": self.services,
            "mqtt": self.mqtt,
            "owner_pid": None if self._detach else os.getpid(),
            "started": time.time(),
        }
        (home / "lab.json").write_text(json.dumps(state, indent=1))

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.port else self.host
        kind = "ephemeral" if self._ephemeral else f"home={str(self.home)!r}"
        return f"<LabServer {self.domain} on {where}, {'running' if self.is_running else 'stopped'}, {kind}>"


def _read_state(home: Path) -> dict | None:
    try:
        return json.loads((home / "lab.json").read_text())
    except (OSError, ValueError):  # missing, half written, or another user's (a shared /tmp)
        return None


_SERVICES_PID = "services.pid"
SERVICES_READY = "services.ready"
"""The file a background services process writes its pid to once its services are connected."""


def _launch_services(home: Path, command: Sequence[str]) -> None:
    """Start a detached lab's services in a background process of their own, logging to the lab home."""
    with open(home / "services.log", "ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=home,
            start_new_session=True,
        )
    (home / _SERVICES_PID).write_text(str(process.pid))
    ready = home / SERVICES_READY
    deadline = time.monotonic() + prosody.START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if ready.exists() and ready.read_text() == str(process.pid):
            return
        time.sleep(0.05)
    if process.poll() is None:
        process.terminate()
    tail = "\n".join((home / "services.log").read_text(errors="replace").splitlines()[-15:])
    raise ServerStartFailed(
        f"The lab's services did not come up within {prosody.START_TIMEOUT:.0f} s. "
        f"Their log ({home / 'services.log'}) ends with:\n{tail}"
    )


def _services_pid(home: Path) -> int | None:
    """The pid of the background process serving this lab's services, if it runs."""
    try:
        pid = int((home / _SERVICES_PID).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(home).encode() in cmdline else None  # not a reused pid


def _stop_services_process(home: Path) -> None:
    pid = _services_pid(home)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + prosody.STOP_TIMEOUT
        while _services_pid(home) == pid and time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.02)
            _reap(pid)
    (home / _SERVICES_PID).unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect a child that exited (a background process this process started), so it leaves no zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _cleanup(process: subprocess.Popen, home: Path, ephemeral: bool) -> None:
    prosody.stop(process)
    if ephemeral:
        shutil.rmtree(home, ignore_errors=True)


def _sweep_abandoned_homes() -> None:
    """Remove ephemeral homes whose Python process was killed before it could clean up."""
    for home in Path(tempfile.gettempdir()).glob(_EPHEMERAL_PREFIX + "*"):
        state = _read_state(home)
        owner = state.get("owner_pid") if state else None
        if state and owner and not _pid_alive(owner) and not prosody.pid_is_prosody(state["pid"]):
            shutil.rmtree(home, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
