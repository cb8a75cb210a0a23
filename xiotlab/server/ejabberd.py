"""Running the lab on ejabberd (Debian's 23.01): one node, or a cluster of nodes on this machine.

Each node is ``erl`` started directly (not ``ejabberdctl``, which switches to the ``ejabberd``
user when run as root and cannot run as anyone else), so the node runs as whoever starts
the lab and dies with it (the shared spawner of :mod:`.process`). Everything lives in the
lab home, under ``ejabberd/``: the Erlang cookie (``.erlang.cookie``, mode 0400: the node's
``HOME`` points there), and per node ``node<i>/`` with its configuration, Mnesia spool and log.

Erlang distribution runs without ``epmd``: every node listens for its peers on one port
(``-erl_epmd_port``), each on a loopback address of its own (node ``i`` is
``xiotlab@127.0.0.<i>``), so no machine-wide ``epmd`` is started and none is left behind.

Accounts are created through ejabberd's HTTP API (``mod_http_api``) on a Unix socket inside
the node's directory: only the lab's user can reach it, no password is needed, and one
registration takes milliseconds (an ``ejabberdctl register`` starts an Erlang VM per call).
The accounts book (:class:`.accounts.AccountBook`) is where accounts are made: every start
registers those the server is missing, so accounts may be created while the server is down.

The stock configuration throttles clients (shaper ``normal``: 3,000 B/s); the lab's has no
shaper. A cluster joins node ``i > 1`` to node 1 with ejabberd's ``join_cluster``;
Mnesia then replicates accounts and rosters, and a stanza reaches a client on any node.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import EjabberdNotInstalled, PortInUse, ServerCommandRefused, ServerStartFailed
from . import process as _process

INSTALL_HINT = "sudo apt-get install ejabberd"
START_TIMEOUT = 30.0  # an Erlang VM, Mnesia and ejabberd: about a second alone, more on a busy machine
JOIN_TIMEOUT = 60.0
NODE_NAME = "xiotlab"
_API_TIMEOUT = 10.0
API_COMMANDS = ("status", "register", "change_password", "registered_users", "list_cluster")
"""The only commands the node's HTTP API runs: what the lab itself calls."""


def find_ejabberd() -> tuple[str, str]:
    """``erl`` and ejabberd's own ``ebin`` directory (the newest installed); EjabberdNotInstalled if missing.

    Its dependencies (fast_xml, p1_tls, ...) are in Erlang's own library, which ``erl`` finds by itself:
    only ejabberd's directory is added to the code path, not a whole directory of libraries.
    """
    erl = shutil.which("erl")
    # Debian has ejabberd-23.01-1 and a link to it, ejabberd-23.01: one directory, seen once.
    found = {os.path.realpath(path) for path in glob.glob("/usr/lib/*/ejabberd-*/ebin")}
    if not erl or not found:
        raise EjabberdNotInstalled(
            f"ejabberd, the XMPP server `engine='ejabberd'` runs, is not installed. Install it with "
            f"`{INSTALL_HINT}` (Debian/Ubuntu; `XIOTLAB_EJABBERD=1 bin/setup` does it), then try again."
        )
    return erl, max(found, key=_version_key)


def _version_key(ebin: str) -> tuple[int, ...]:
    """``(23, 10, 1)`` for ``.../ejabberd-23.10-1/ebin``: versions compared as numbers (23.10 after 23.9)."""
    return tuple(int(n) for n in re.findall(r"\d+", Path(ebin).parent.name))


def node_address(index: int) -> str:
    """The loopback address node ``index`` (1, 2, ...) speaks Erlang distribution on."""
    return f"127.0.0.{index}"


@dataclass(frozen=True)
class NodeFiles:
    """The files of one ejabberd node of a lab, under ``<home>/ejabberd/node<i>/``."""

    home: Path
    index: int = 1

    @property
    def root(self) -> Path:
        return self.home / "ejabberd"

    @property
    def directory(self) -> Path:
        return self.root / f"node{self.index}"

    @property
    def config(self) -> Path:
        return self.directory / "ejabberd.yml"

    @property
    def spool(self) -> Path:
        return self.directory / "spool"

    @property
    def log(self) -> Path:
        return self.directory / "ejabberd.log"

    @property
    def output(self) -> Path:
        return self.directory / "erlang.log"  # the VM's own output: crashes before ejabberd logs

    @property
    def api_socket(self) -> Path:
        return self.directory / "api.sock"

    @property
    def cookie(self) -> Path:
        return self.root / ".erlang.cookie"

    @property
    def node(self) -> str:
        return f"{NODE_NAME}@{node_address(self.index)}"


@dataclass(frozen=True)
class NodeConfig:
    """What one node serves and where: the lab's domain, ports and certificate."""

    domain: str
    host: str
    port: int
    certificate: Path  # certificate and key in one PEM, as ejabberd's ``certfiles`` wants
    ca_file: Path
    components: dict[str, tuple[str, int]]  # address -> (secret, port): one listener each (see render_config)


def render_config(files: NodeFiles, config: NodeConfig) -> str:
    """ejabberd's configuration for one node, as JSON (which YAML reads): quoting for free.

    Paths are written as they are (UTF-8, not ``\\u`` escapes, which ejabberd would read as
    Latin-1), the node's own files relative to its directory (where it runs).

    TLS is required on the client port (STARTTLS), the stock shaper is left out, and every
    listener binds loopback (the client port ``config.host``); the components' stream is not
    encrypted (XEP-0114), so it binds 127.0.0.1 whatever ``host`` is.

    Each component has a listener of its own: ejabberd gives a component that connects to a
    listener *every* address that listener lists, so two services on one listener would each
    claim both addresses, and stanzas for one would reach the other.
    """
    listen: list[dict] = [
        {
            "port": config.port,
            "ip": config.host,
            "module": "ejabberd_c2s",
            "starttls_required": True,
            "shaper": "none",
            "max_stanza_size": 1048576,
            "backlog": 1024,  # a fleet of things connecting at once (the default, 128, dropped some)
        },
        {
            "port": f"unix:{files.api_socket.name}",
            "module": "ejabberd_http",
            "request_handlers": {"/api": "mod_http_api"},
        },
    ]
    for jid, (secret, port) in config.components.items():
        listen.append(
            {"port": port, "ip": "127.0.0.1", "module": "ejabberd_service", "hosts": {jid: {"password": secret}}}
        )
    document = {
        "hosts": [config.domain],
        # Not "info": at info, ejabberd logs each API call with its arguments, new passwords included.
        "loglevel": "warning",
        "log_rotate_count": 0,
        "certfiles": [os.path.relpath(config.certificate, files.directory)],
        "ca_file": os.path.relpath(config.ca_file, files.directory),
        "auth_method": "internal",
        "auth_password_format": "scram",
        "listen": listen,
        "acl": {"local": {"user_regexp": ""}},
        # A private lab talks to no other server (ejabberd would try any domain asked for).
        "access_rules": {"c2s": {"allow": "all"}, "local": {"allow": "local"}, "s2s": {"deny": "all"}},
        "s2s_access": "s2s",
        # The API socket (mode 0600) is in the node's own directory (0700): whoever reaches it is the
        # lab's user. It runs only the commands the lab calls.
        "api_permissions": {"lab": {"from": ["mod_http_api"], "who": "all", "what": list(API_COMMANDS)}},
        "shaper_rules": {"max_user_sessions": 100, "max_user_offline_messages": 5000},
        "modules": {
            "mod_roster": {},
            "mod_disco": {},
            "mod_ping": {},
            "mod_offline": {},
            "mod_caps": {},
            "mod_time": {},
            "mod_version": {"show_os": False},
            "mod_admin_extra": {},
            # A dropped client's session waits this long to be resumed (XEP-0198), as on Prosody.
            "mod_stream_mgmt": {"resume_timeout": 30},
        },
    }
    return (
        "# Written by xiotlab at every start; edits are overwritten.\n"
        + json.dumps(document, indent=1, ensure_ascii=False)
        + "\n"
    )


def ensure_cookie(files: NodeFiles) -> None:
    """The lab's Erlang cookie (what lets its nodes talk to each other), made once, owner-read only."""
    files.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not files.cookie.exists():
        fd = os.open(files.cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(20))


def write_config(files: NodeFiles, config: NodeConfig) -> None:
    """Write the node's configuration, mode 0600: it holds the components' secrets."""
    files.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(files.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # one written before by an older version may have been 0644
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(render_config(files, config))


def write_certificate_bundle(certificate: Path, key: Path, bundle: Path) -> Path:
    """ejabberd reads certificate and key from one file: write it (mode 0600) beside them."""
    fd = os.open(bundle, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(certificate.read_bytes() + key.read_bytes())
    return bundle


def launch(files: NodeFiles, dist_port: int, *, tied_to_this_process: bool) -> subprocess.Popen:
    """Start node ``files.index`` in the foreground with its written configuration.

    It runs in its own directory, and every path it is given is relative to it: a lab home
    whose path is not ASCII works, and the node is recognised by its directory (:func:`pid_is_ejabberd`).
    """
    erl, ebin = find_ejabberd()
    files.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
    if files.log.exists():  # the last run's log, kept aside: what this run logs is read alone
        files.log.replace(files.log.with_name(files.log.name + ".old"))
    address = node_address(files.index).replace(".", ",")
    command = [
        erl,
        "-name", files.node,
        "-noinput",
        "-start_epmd", "false",
        "-erl_epmd_port", str(dist_port),
        "-kernel", "inet_dist_use_interface", "{" + address + "}",
        "+K", "true",
        "+P", "250000",
        "-pa", ebin,
        "-mnesia", "dir", json.dumps(files.spool.name),
        "-s", "ejabberd",
    ]  # fmt: skip
    env = {
        **os.environ,
        "HOME": str(files.root),  # where Erlang reads the cookie from
        "EJABBERD_CONFIG_PATH": files.config.name,
        "EJABBERD_LOG_PATH": files.log.name,
        "ERL_CRASH_DUMP_BYTES": "0",
        "ERL_MAX_PORTS": "65536",
    }
    return _process.spawn(command, log=files.output, cwd=files.directory, tied_to_this_process=tied_to_this_process,
                          env=env, umask=0o077)  # fmt: skip


def wait_until_ready(process: subprocess.Popen, files: NodeFiles, host: str, port: int) -> None:
    """Return once the node accepts clients and API calls; raise with the log's tail if it never does.

    A node that logs ``[critical]`` (a configuration it refused, say) never comes up: that is
    said at once, not after START_TIMEOUT.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None and not _logged_critical(files):
        if _process.listening(process, host, port, 0.2) and files.api_socket.exists() and _api_answers(files):
            files.api_socket.chmod(0o600)
            return
        time.sleep(0.05)
    tail = log_tail(files)
    _process.stop(process)
    if "eaddrinuse" in tail.lower() or "address already in use" in tail.lower():
        raise PortInUse(
            f"A port of the lab server ({host}:{port}, or a node's) was taken before ejabberd could bind it."
        )
    raise ServerStartFailed(
        f"The lab's ejabberd (node {files.node}) did not come up on {host}:{port}"
        + ("" if "[critical]" in tail else f" within {START_TIMEOUT:.0f} s")
        + f". Its log ({files.log}) ends with:\n{tail}"
    )


def _logged_critical(files: NodeFiles) -> bool:
    try:
        return "[critical]" in files.log.read_text(errors="replace")
    except FileNotFoundError:
        return False


def log_tail(files: NodeFiles, lines: int = 15) -> str:
    logged = _process.tail(files.log, lines)
    output = _process.tail(files.output, lines)
    return logged if output == "(no log written)" else f"{logged}\n--- {files.output.name}:\n{output}"


def pid_is_ejabberd(pid: int, files: NodeFiles | None = None) -> bool:
    """Whether ``pid`` is a live ejabberd node (running in ``files``' directory, if given), not a reused pid."""
    if not _process.pid_runs(pid, "beam", None):
        return False
    try:
        return files is None or Path(os.readlink(f"/proc/{pid}/cwd")) == files.directory
    except OSError:
        return False


def stop_pid(pid: int) -> None:
    """Stop a node this process did not start (a detached lab), waiting until it is gone."""
    _process.stop_pid(pid, pid_is_ejabberd)


# --- the HTTP API, on the node's Unix socket -----------------------------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class Api:
    """ejabberd's HTTP API of one node (``/api/<command>``), over one kept-alive connection."""

    def __init__(self, files: NodeFiles, timeout: float = _API_TIMEOUT) -> None:
        self.files = files
        self.timeout = timeout
        self._connection: _UnixConnection | None = None

    def call(self, command: str, **arguments: object) -> object:
        """Run ``command`` with ``arguments``; its JSON answer. ServerCommandRefused quotes ejabberd if refused."""
        body = json.dumps(arguments)
        for attempt in range(2):  # a kept-alive connection the server closed meanwhile: once more, fresh
            connection = self._connection or _UnixConnection(self.files.api_socket, self.timeout)
            try:
                connection.request("POST", f"/api/{command}", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._connection = None
                if attempt:
                    raise
                continue
            self._connection = connection
            if response.status != 200:
                raise ServerCommandRefused(
                    f"ejabberd (node {self.files.node}) refused `{command}`: {answer.decode(errors='replace')}"
                )
            return json.loads(answer) if answer else None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _api_answers(files: NodeFiles) -> bool:
    api = Api(files, timeout=2.0)
    try:
        api.call("status")
    except (OSError, http.client.HTTPException, ServerCommandRefused, ValueError):
        return False
    finally:
        api.close()
    return True


def register(api: Api, domain: str, name: str, password: str) -> None:
    """Create account ``name@domain``, or set its password if it exists (the book is the truth)."""
    try:
        api.call("register", user=name, host=domain, password=password)
    except ServerCommandRefused as e:
        if "already registered" not in str(e):
            raise
        api.call("change_password", user=name, host=domain, newpass=password)


def registered(api: Api, domain: str) -> set[str]:
    """The names of the accounts ejabberd has on ``domain``."""
    return set(api.call("registered_users", host=domain) or ())  # type: ignore[call-overload]


def join_cluster(files: NodeFiles, first: NodeFiles, dist_port: int) -> None:
    """Join node ``files`` to ``first``'s cluster (it restarts its ejabberd meanwhile).

    Not through the HTTP API: the node stops ejabberd while it joins, which ends the API call's
    own process, and the join with it. A short-lived hidden Erlang node asks instead.
    """
    erl, _ = find_ejabberd()
    call = (
        f"R = rpc:call('{files.node}', ejabberd_admin, join_cluster, [<<\"{first.node}\">>], "
        f'{int(JOIN_TIMEOUT * 1000)}), io:format("~p~n", [R]), halt().'
    )
    command = [
        erl, "-name", f"join-{secrets.token_hex(4)}@{node_address(1)}", "-hidden", "-noinput",
        "-start_epmd", "false", "-erl_epmd_port", str(dist_port), "-dist_listen", "false", "-eval", call,
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(files.root)}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=JOIN_TIMEOUT + 10)
    except subprocess.TimeoutExpired:
        raise ServerStartFailed(f"Node {files.node} did not join {first.node} within {JOIN_TIMEOUT:.0f} s.") from None
    if done.stdout.strip() != "ok":
        raise ServerStartFailed(
            f"Node {files.node} could not join {first.node}: {(done.stdout + done.stderr).strip()[-500:]}"
        )


def cluster_nodes(api: Api) -> list[str]:
    """The nodes the node behind ``api`` knows to be in its cluster."""
    return list(api.call("list_cluster") or ())  # type: ignore[call-overload]
