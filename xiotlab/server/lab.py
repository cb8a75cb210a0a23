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
services' secrets (mode 0600), and the services' own store; a federating lab
also keeps there whom it trusts (:mod:`.federation`).

The lab's services (a thing registry and a provisioning service) are XMPP
components on its server. They are written above this layer, which only
declares them to Prosody and runs what registered to serve them
(:func:`add_services`): in this process for a lab that dies with it, in a
background process of their own for a detached lab.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import FederationError, LabAlreadyRunning, LabHomeNotWritable, LabNotRunning, PortInUse
from . import federation as _federation
from . import mosquitto, prosody
from . import process as _process
from . import services_process as _services_process
from .accounts import AccountBook, Credentials, check_name, write_prosody_account
from .certs import ensure_certificates
from .cluster import Cluster, check_nodes, check_spools
from .federation import Peer
from .services_process import SERVICES_READY as SERVICES_READY

DEFAULT_DOMAIN = "xiotlab.localhost"
DEFAULT_HOST = "127.0.0.1"
_EPHEMERAL_PREFIX = "xiotlab-lab-"
ENGINES = ("prosody", "ejabberd")
"""The XMPP servers a lab can run on (``engine=``): Prosody, or ejabberd (one node or a cluster)."""
SERVICES = ("registry", "provisioning")
"""The lab's services, each a component at ``<name>.<domain>``."""


@dataclass(frozen=True)
class ComponentAccess:
    """How one of the lab's services joins its server: address, secret, and where (loopback)."""

    jid: str
    secret: str
    host: str
    port: int
    fallbacks: tuple[tuple[str, int], ...] = ()  # the same service's listeners on a cluster's other nodes

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
    federation:
        Take part in federation: talk to other labs server-to-server on ``host`` port 5269
        (``host`` must then be an address of its own, e.g. ``127.0.0.2``), with encryption and
        certificates checked both ways, trusting only the labs named with :meth:`trust`.
        Off by default: a private lab talks to no other server.
    engine, nodes:
        The XMPP server (one of :data:`ENGINES`), and for ejabberd how many nodes (1 to 4) run
        it as a cluster on this machine. In a cluster the services (:attr:`registry`,
        :attr:`provisioning`) connect to node 1 and move to another node should it die.
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
        federation: bool = False,
        engine: str = "prosody",
        nodes: int = 1,
    ) -> None:
        if detach and home is None:
            raise ValueError("A detached lab outlives this process and needs a `home` to keep its state in.")
        _check_engine(engine, nodes, federation)
        if not _federation.is_domain(domain):
            raise ValueError(f"{domain!r} is not a domain: give a DNS name in lower case, e.g. lab.example.")
        self.engine = engine
        self.nodes = nodes
        self._cluster: Cluster | None = None  # the ejabberd nodes, for engine="ejabberd"
        self._ephemeral = home is None
        self.home: Path | None = None if home is None else Path(home).expanduser().resolve()
        if engine == "ejabberd" and self.home is not None:
            check_spools(self.home, nodes)  # before anything is made: a smaller cluster than ran there
        self.domain = domain
        self.host = host
        self.port = port
        self.component_port: int | None = None  # where the lab's services connect (loopback)
        self._requested_port = port
        self._detach = detach
        self.services = services
        self.mqtt = mqtt  # whether this lab runs (and stops) an MQTT broker of its own
        self.federation = federation
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
    def restart(cls, home: str | os.PathLike | None = None) -> LabServer:
        """Stop the detached lab under ``home`` (``xiotlab server start``'s) and start it again as it was.

        It keeps what its ``lab.json`` says: domain, address and port (participants come back by
        themselves), federation, engine and nodes, services and MQTT broker. A lab whose server
        died is started again the same way. LabNotRunning if no lab ran there.
        """
        home = Path(home).expanduser().resolve() if home is not None else default_home().resolve()
        state = _read_state(home)
        if not state:
            raise LabNotRunning(f"No lab server ran under {home}: start one with `xiotlab server start`.")
        mqtt = bool(state.get("mqtt")) or mosquitto.Broker.running(home) is not None  # stop() stops any broker
        if _server_alive(home, state):
            cls.running(home).stop()
        lab = cls(
            home, domain=state["domain"], host=state["host"], port=state["port"], detach=True,
            services=bool(state.get("services", state.get("component_port"))), mqtt=mqtt,
            federation=bool(state.get("federation")), engine=state.get("engine", "prosody"),
            nodes=state.get("nodes", 1),
        )  # fmt: skip
        return lab.start()

    @classmethod
    def running(cls, home: str | os.PathLike | None = None) -> LabServer:
        """The lab already running under ``home`` (default: ``$XIOTLAB_HOME`` or ``~/.xiotlab``).

        Raises LabNotRunning, saying how to start one, if none runs there.
        """
        home = Path(home).expanduser().resolve() if home is not None else default_home().resolve()
        state = _read_state(home)
        if not state or not _server_alive(home, state):
            raise LabNotRunning(
                f"No lab server runs under {home}. Start one with `xiotlab server start`"
                + ("" if home == default_home().resolve() else f" (with XIOTLAB_HOME={home})")
                + ", or use an ephemeral one: `LabServer().start()`."
            )
        engine, nodes = state.get("engine", "prosody"), state.get("nodes", 1)
        lab = cls(home, domain=state["domain"], host=state["host"], port=state["port"], engine=engine, nodes=nodes)
        if engine == "ejabberd":
            lab._cluster = Cluster(home, nodes).load()
        lab._pid = state["pid"]
        lab.component_port = state.get("component_port")
        lab.services = bool(state.get("services", lab.component_port))
        lab.mqtt = bool(state.get("mqtt"))
        lab.federation = bool(state.get("federation"))
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
                stop_server = self._cluster.stop if self._cluster is not None else lambda: prosody.stop(process)
                self._finalizer = weakref.finalize(self, _cleanup, stop_server, home, self._ephemeral)
        try:
            if self.mqtt:
                self._broker = mosquitto.Broker(home, detach=self._detach).start()
            self._start_services()
        except BaseException:
            self.stop()
            raise
        return self

    # --- federation ------------------------------------------------------------

    def trust(self, ca_file: str | os.PathLike, *, domain: str, address: str) -> Peer:
        """Trust the lab of ``domain``, found at ``address``, whose certificates ``ca_file`` signs.

        Both labs must trust each other: ``a.trust(b.ca_file, domain=b.domain, address=b.host)``
        and the same the other way. The CA is copied into the lab home; a running lab takes the
        new trust at once (its configuration is reloaded: nobody is disconnected).
        """
        if not self.federation:
            raise FederationError(
                f"{self!r} does not federate: start it with `LabServer(..., federation=True)` "
                "(`xiotlab server start --federate`) to trust other labs."
            )
        peer = _federation.record_trust(self._need_home(), ca_file, domain=domain, address=address)
        pid = self.pid
        if pid is not None:
            self._write_federation_files(self._need_home())
            prosody.reload(pid)
        return peer

    def trusted(self) -> list[Peer]:
        """The labs this lab trusts (see :meth:`trust`)."""
        return list(_federation.load_peers(self.home).values()) if self.home else []

    def _write_federation_files(self, home: Path) -> _federation.FederationFiles:
        return _federation.write_files(
            home, domain=self.domain, address=self.host, own_ca=home / "certs" / "ca.pem", services=SERVICES
        )

    def _check_federation(self) -> None:
        """Refuse to start a federating lab where it could not listen for, or find, other labs."""
        _federation.check_address(self.host)
        if not prosody.lua_module_loads("lunbound"):
            # Without it Prosody ignores the lab's hosts file: every call to another lab would fail.
            raise FederationError(
                "Federation needs lua-unbound, which Prosody finds other labs with, and it is not installed: "
                "`sudo apt-get install lua-unbound` (the README's set-up command installs it), then start again."
            )
        try:
            prosody.check_port_free(self.host, _federation.S2S_PORT)
        except PortInUse:
            raise PortInUse(
                f"Port {_federation.S2S_PORT} on {self.host} is taken (another federating lab or XMPP server?). "
                "Each federating lab needs an address of its own: start this one with another `host`, "
                "e.g. 127.0.0.3."
            ) from None

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
        jid = f"{name}.{self.domain}"
        if self._cluster is None:
            return ComponentAccess(jid, secret, DEFAULT_HOST, self.component_port)
        # On ejabberd each service has a port of its own on every node: node 1's first, the others' next.
        port, *others = self._cluster.component_addresses(jid) or [(DEFAULT_HOST, self.component_port)]
        return ComponentAccess(jid, secret, DEFAULT_HOST, port[1], tuple(others))

    @property
    def services_store(self) -> Path:
        """The services' own state (claims, tags, rules): SQLite, in the lab home."""
        return self._need_home() / "services.sqlite"

    def services_status(self) -> dict:
        """Which services run, at which address, and where (this process, or a background pid)."""
        if not self.services:
            return {}
        pid = _services_process.pid(self._need_home())
        where = "this process" if self._running_services else (f"pid {pid}" if pid else "not running")
        return {name: {"jid": f"{name}.{self.domain}", "running": where} for name in SERVICES}

    def _start_services(self) -> None:
        self._stop_services()  # those of a server that died: their streams would claim the addresses
        if not (self.services and _service_hosts):
            return
        home = self._need_home()
        if self._detach:
            for host in _service_hosts:
                _services_process.launch(home, host.command(self))
        else:
            self._running_services = [host.start(self) for host in _service_hosts]

    def _stop_services(self) -> None:
        for running in reversed(self._running_services):
            running.stop()
        self._running_services = []
        if self.home is not None:
            _services_process.stop(self.home)

    def _launch(self, home: Path) -> subprocess.Popen:
        if self.engine == "ejabberd":
            return self._launch_ejabberd(home)
        files = prosody.ServerFiles(home)
        self._refuse_if_running(files)
        if self.federation:
            self._check_federation()
        certs = ensure_certificates(
            home / "certs",
            self.domain,
            names=_federation.service_names(self.domain, SERVICES),  # other labs verify the services too
            addresses=[self.host] if reachable_ip(self.host) else [],  # a class server reached by its address
        )
        federation = self._write_federation_files(home) if self.federation else None
        for attempt in range(3):
            port, components = self._pick_ports(files)
            files.config.write_text(
                prosody.render_config(
                    files,
                    domain=self.domain,
                    host=self.host,
                    port=port,
                    certificate=certs.server_certificate,
                    key=certs.server_key,
                    components=components,
                    component_port=self.component_port,
                    federation=federation,
                )
            )
            process = prosody.launch(files, tied_to_this_process=not self._detach)
            try:
                prosody.wait_until_listening(process, files, self.host, port)
                files.port.write_text(str(port))
                if self.component_port:
                    files.component_port.write_text(str(self.component_port))
                return process
            except PortInUse:
                # A free port chosen by us can be grabbed before Prosody binds it: pick again.
                if self._requested_port or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _pick_ports(self, files: prosody.ServerFiles) -> tuple[int, dict[str, str]]:
        """Choose the client port and the services' port (last time's if free); the port, the services' secrets."""
        port = self._requested_port or _process.port_again(files.port, self.host) or prosody.free_port(self.host)
        self.port = port
        if self._requested_port:
            prosody.check_port_free(self.host, port)
        if not self.services:
            return port, {}
        self.component_port = _process.port_again(files.component_port, DEFAULT_HOST) or prosody.free_port(DEFAULT_HOST)
        return port, {access.jid: access.secret for access in map(self.component, SERVICES)}

    def _launch_ejabberd(self, home: Path) -> subprocess.Popen:
        """Start the lab's ejabberd node(s) (:mod:`.cluster`) and give them the accounts they miss."""
        files = prosody.ServerFiles(home)  # the port files: where the lab listened last
        self._refuse_if_running(files)
        certs = ensure_certificates(home / "certs", self.domain)
        for attempt in range(3):
            port, components = self._pick_ports(files)
            cluster = Cluster(home, self.nodes)
            try:
                cluster.start(
                    domain=self.domain, host=self.host, port=port, certs=certs, components=components,
                    component_port=self.component_port, tied_to_this_process=not self._detach,
                )  # fmt: skip
            except PortInUse:
                if self._requested_port or attempt == 2:
                    raise
                continue
            try:  # nodes that run with no lab.json would be orphans: a failure here stops them
                cluster.register_missing(self.domain, AccountBook(self.accounts_file).passwords())
                files.port.write_text(str(port))
                if self.component_port:
                    files.component_port.write_text(str(self.component_port))
            except BaseException:
                cluster.stop()
                raise
            self._cluster = cluster
            return cluster.processes[1]
        raise AssertionError("unreachable")

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        """Where clients reach the lab: ``(host, port)`` of each server node (one, but for a cluster)."""
        if self._cluster is None:
            return [(self.host, self.port)] if self.port else []
        return [(self.host, state.port) for state in self._cluster.states]

    @property
    def fallbacks(self) -> tuple[tuple[str, int], ...]:
        """The other nodes a client of this lab's :attr:`port` moves to when its node is gone (a cluster's)."""
        return tuple(e for e in self.endpoints if e != (self.host, self.port))

    def node(self, index: int) -> LabServer:
        """This lab as seen from cluster node ``index`` (1, 2, ...): participants given it connect there.

        ``Thing("lamp", lab=lab.node(2))`` is served by node 2 and, should it die, moves to the others.
        """
        endpoints = self.endpoints
        if not 1 <= index <= len(endpoints):
            raise ValueError(f"{self!r} has {len(endpoints)} node(s); there is no node {index}.")
        return _NodeView(self, endpoints[index - 1][1])

    def kill_node(self, index: int) -> None:
        """Kill cluster node ``index`` at once (SIGKILL), as a crash would; its clients move to another node."""
        if self._cluster is None:
            raise ValueError(f"{self!r} is not an ejabberd lab: it has no nodes to kill.")
        self._cluster.kill(index)

    def node_pids(self) -> list[int]:
        """The process ids of the lab's running ejabberd nodes (of its Prosody, for a Prosody lab)."""
        if self._cluster is None:
            return [self.pid] if self.pid else []
        return [state.pid for state in self._cluster.live_states()]

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
            elif self._cluster is not None:
                self._cluster.stop()
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
        """Whether the server process is alive (for a cluster: any of its nodes)."""
        if self._cluster is not None:
            return bool(self._cluster.live_states())
        if self._process is not None:
            return self._process.poll() is None
        return self._pid is not None and prosody.pid_is_prosody(self._pid)

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (a cluster's: its first node that runs)."""
        if self._cluster is not None:
            live = self._cluster.live_states()
            return live[0].pid if live else None
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
            "engine": self.engine,
            "nodes": self.endpoints if self.engine == "ejabberd" else None,
            "domain": self.domain,
            "host": self.host,
            "port": self.port,
            "pid": self.pid,
            "home": str(self.home) if self.home else None,
            "accounts": self.accounts() if self.home else [],
            "services": self.services_status() if self.home else {},
            "mqtt": self.mqtt_status(),
            "federation": {"trusted": [{"domain": p.domain, "address": p.address} for p in self.trusted()]}
            if self.federation
            else None,
        }

    # --- accounts -----------------------------------------------------------

    def account(self, name: str) -> Credentials:
        """The credentials of account ``name`` (``"lamp"`` or ``"lamp@<domain>"``), created if new.

        The password is generated, kept in the lab home (0600) and never printed.
        """
        local = self._local_name(name)
        book = AccountBook(self.accounts_file)
        data = prosody.ServerFiles(self._need_home()).data
        if self.engine == "ejabberd":  # a server that is down gets the account at its next start
            password = book.get_or_create(local, self._register_on_ejabberd)
            return Credentials(f"{local}@{self.domain}", password)
        password = book.get_or_create(local, lambda n, p: write_prosody_account(data, self.domain, n, p))
        return Credentials(f"{local}@{self.domain}", password)

    def _register_on_ejabberd(self, name: str, password: str) -> None:
        """Give the running server the new account; a lab that is down gets it at its next start.

        The nodes are looked up afresh (``nodes.json``): the lab may have been restarted by another
        process since this object last looked. An account the running server refuses is not made.
        """
        cluster = self._cluster
        if cluster is None or not cluster.processes:  # not started by this object: read where it runs now
            state = _read_state(self._need_home()) or {}
            cluster = Cluster(self._need_home(), state.get("nodes", self.nodes)).load()
        if cluster.live_states():
            cluster.register(self.domain, name, password)

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
        if state and _server_alive(files.home, state):
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
            "federation": self.federation,
            "engine": self.engine,
            "nodes": self.nodes,
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


def _cleanup(stop_server: Callable[[], None], home: Path, ephemeral: bool) -> None:
    stop_server()
    if ephemeral:
        shutil.rmtree(home, ignore_errors=True)


def _sweep_abandoned_homes() -> None:
    """Remove ephemeral homes whose Python process was killed before it could clean up."""
    for home in Path(tempfile.gettempdir()).glob(_EPHEMERAL_PREFIX + "*"):
        state = _read_state(home)
        owner = state.get("owner_pid") if state else None
        if state and owner and not _services_process.pid_alive(owner) and not _server_alive(home, state):
            shutil.rmtree(home, ignore_errors=True)


def _check_engine(engine: str, nodes: int, federation: bool) -> None:
    if engine not in ENGINES:
        raise ValueError(f"{engine!r} is not an engine a lab runs on: choose one of {', '.join(ENGINES)}.")
    if nodes != 1 and engine != "ejabberd":
        raise ValueError(f"A cluster of {nodes} nodes runs on ejabberd only: pass `engine='ejabberd'`.")
    check_nodes(nodes)
    if federation and engine != "prosody":
        raise FederationError("Federation runs on the Prosody engine only: leave `engine` out to federate.")


def _server_alive(home: Path, state: dict) -> bool:
    """Whether the server a lab's state file names (its Prosody, or any of its ejabberd nodes) still runs."""
    if state.get("engine", "prosody") == "ejabberd":
        return bool(Cluster(home, state.get("nodes", 1)).load().live_states())
    return prosody.pid_is_prosody(state["pid"], prosody.ServerFiles(home).config)


class _NodeView(LabServer):
    """A lab as seen from one of its cluster nodes (:meth:`LabServer.node`): the same lab, another port.

    Starting or stopping it acts on the whole lab.
    """

    def __init__(self, lab: LabServer, port: int) -> None:
        # No LabServer.__init__: a view shares the lab's state (its home, accounts, nodes), not a copy of it.
        self.__dict__.update(vars(lab))
        self.port = port
        self._lab = lab

    def start(self) -> LabServer:
        return self._lab.start()

    def stop(self) -> None:
        self._lab.stop()

    @property
    def is_running(self) -> bool:
        return self._lab.is_running


def reachable_ip(host: str) -> bool:
    """Whether ``host`` is an IP address clients can be sent to (not 0.0.0.0 or ::, which listen everywhere)."""
    try:
        return not ipaddress.ip_address(_federation.check_address(host)).is_unspecified
    except FederationError:
        return False
