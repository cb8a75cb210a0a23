"""The lab's ejabberd: one node, or ``nodes`` of them on this machine joined in a cluster.

:class:`~.lab.LabServer` with ``engine="ejabberd"`` runs one :class:`Cluster`; with
``nodes=2`` (or more) node 1 starts first and every other joins it (``join_cluster``).
Each node has its own client port (node 1's is the lab's ``port``), spool and log; all
share the lab's domain, certificate, cookie and accounts. The lab's services (XEP-0114
components) have a listener on every node, each a port of its own (the first on node 1 the
lab's ``component_port``): they connect to node 1, and move to another node when theirs is
gone; Mnesia routes their addresses from every node.
Where the nodes run is kept in ``ejabberd/nodes.json`` in the lab home, so a process that
joins a detached lab, or stops it, finds every node.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import LabNotRunning, PortInUse, ServerStartFailed
from . import ejabberd
from . import process as _process
from .certs import CertificatePaths


@dataclass
class NodeState:
    """Where one node runs: its Erlang name, process, client port and its components' ports."""

    index: int
    node: str
    pid: int
    port: int
    component_ports: dict[str, int]


class Cluster:
    """The ejabberd nodes of one lab home: start, join, register accounts, stop, kill one."""

    def __init__(self, home: Path, nodes: int = 1) -> None:
        check_nodes(nodes)
        self.home = home
        self.files = [ejabberd.NodeFiles(home, i) for i in range(1, nodes + 1)]
        self.processes: dict[int, subprocess.Popen] = {}
        self.states: list[NodeState] = []
        self._apis: dict[int, ejabberd.Api] = {}

    @property
    def state_file(self) -> Path:
        return self.home / "ejabberd" / "nodes.json"

    # --- starting -----------------------------------------------------------

    def start(
        self,
        *,
        domain: str,
        host: str,
        port: int,
        certs: CertificatePaths,
        components: dict[str, str],
        component_port: int | None,
        tied_to_this_process: bool,
    ) -> None:
        """Start every node (node 1 on ``port``), join new ones to node 1, and wait until all serve.

        Node 1 and every node that was in the cluster before start together: Mnesia on a restarted
        node waits for the node that went down last, whichever it was. A new node starts once
        they serve, and joins node 1.
        """
        ejabberd.find_ejabberd()
        ejabberd.ensure_cookie(self.files[0])
        bundle = ejabberd.write_certificate_bundle(
            certs.server_certificate, certs.server_key, certs.server_certificate.with_name("server-bundle.pem")
        )
        dist_port = self._dist_port()
        configs = {}
        for files in self.files:
            first = files.index == 1
            node_port = port if first else self._port_again(files.index, host)
            ports = self._component_ports(files.index, components, component_port if first else None)
            node_components = {jid: (secret, ports[jid]) for jid, secret in components.items()}
            configs[files.index] = ejabberd.NodeConfig(domain, host, node_port, bundle, certs.ca, node_components)
            self.states.append(NodeState(files.index, files.node, 0, node_port, ports))
        members = [f for f in self.files if f.index == 1 or _has_spool(f)]
        try:
            for files in members:
                self._launch(files, configs[files.index], dist_port, tied_to_this_process)
            for files in members:
                config = configs[files.index]
                ejabberd.wait_until_ready(self.processes[files.index], files, config.host, config.port)
            for files in self.files[1:]:
                if files not in members or not self._is_member(files):
                    self._join_afresh(files, configs[files.index], dist_port, tied_to_this_process)
        except BaseException:
            self.stop()
            raise
        for state in self.states:
            state.pid = self.processes[state.index].pid
        self._write_state()

    def _launch(self, files: ejabberd.NodeFiles, config: ejabberd.NodeConfig, dist_port: int, tied: bool) -> None:
        ejabberd.write_config(files, config)
        self.processes[files.index] = ejabberd.launch(files, dist_port, tied_to_this_process=tied)

    def _is_member(self, files: ejabberd.NodeFiles) -> bool:
        """Whether running node ``files`` is in node 1's cluster (not alone on a spool of its own)."""
        return self.files[0].node in ejabberd.cluster_nodes(self.api(files.index))

    def _join_afresh(self, files: ejabberd.NodeFiles, config: ejabberd.NodeConfig, dist_port: int, tied: bool) -> None:
        """Start node ``files`` on an empty spool and join it to node 1.

        A node whose join failed (a timeout on a busy machine) still wrote a Mnesia schema of its
        own at boot: started again on it, it would serve alone, a split cluster. Its spool holds
        nothing of the lab's (accounts and rosters come from node 1), so it is wiped first.
        """
        api, process = self._apis.pop(files.index, None), self.processes.pop(files.index, None)
        if api is not None:
            api.close()
        if process is not None:
            _process.stop(process)
        shutil.rmtree(files.spool, ignore_errors=True)
        self._launch(files, config, dist_port, tied)
        ejabberd.wait_until_ready(self.processes[files.index], files, config.host, config.port)
        self._join(files, config, dist_port)

    def _join(self, files: ejabberd.NodeFiles, config: ejabberd.NodeConfig, dist_port: int) -> None:
        """Join node ``files`` to node 1 and wait until it serves clients again as a member."""
        ejabberd.join_cluster(files, self.files[0], dist_port)
        process = self.processes[files.index]
        ejabberd.wait_until_ready(process, files, config.host, config.port)
        if not self._is_member(files):
            tail = ejabberd.log_tail(files)
            raise ServerStartFailed(f"Node {files.node} did not join {self.files[0].node}. Its log ends with:\n{tail}")

    @staticmethod
    def _dist_port() -> int:
        """A port free on every node's loopback address: each node's peers reach it there."""
        for _ in range(20):
            port = _process.free_port(ejabberd.node_address(1))
            try:
                for index in range(2, 5):
                    _process.check_port_free(ejabberd.node_address(index), port)
            except PortInUse:
                continue
            return port
        raise PortInUse("No port is free on 127.0.0.1 to 127.0.0.4 for the ejabberd nodes to talk to each other.")

    def _port_again(self, index: int, host: str, component: str | None = None) -> int:
        """The port node ``index`` (or a component of it) had last time if it is free, else a free one."""
        kept = next((s.port if component is None else s.component_ports.get(component)
                     for s in self._read_state() if s.index == index), None)  # fmt: skip
        return _process.port_again(kept, host) or _process.free_port(host)

    def _component_ports(self, index: int, components: dict[str, str], first_port: int | None) -> dict[str, int]:
        """A port for each component on node ``index``: the first gets ``first_port``, if given."""
        ports: dict[str, int] = {}
        for jid in components:
            ports[jid] = first_port if first_port and not ports else self._port_again(index, "127.0.0.1", jid)
        return ports

    def component_addresses(self, jid: str) -> list[tuple[str, int]]:
        """Where component ``jid`` connects, node 1 first, then the other nodes, while the lab runs."""
        return [("127.0.0.1", s.component_ports[jid]) for s in self.states if jid in s.component_ports]

    # --- accounts -------------------------------------------------------------

    def api(self, index: int | None = None) -> ejabberd.Api:
        """The HTTP API of node ``index`` (None: the first that runs)."""
        if index is None:
            index = next((s.index for s in self.live_states()), 0)
            if not index:
                raise LabNotRunning(f"No ejabberd node of the lab under {self.home} runs: start the lab first.")
        if index not in self._apis:
            self._apis[index] = ejabberd.Api(self.files[index - 1])
        return self._apis[index]

    def register(self, domain: str, name: str, password: str) -> None:
        """Create account ``name@domain`` (Mnesia gives it to every node)."""
        ejabberd.register(self.api(), domain, name, password)

    def register_missing(self, domain: str, passwords: dict[str, str]) -> None:
        """Register every account of the lab's book that ejabberd does not have (made while it was down).

        Accounts ejabberd has keep their passwords: the book gave them, and only the book changes them.
        """
        api = self.api()
        for name in sorted(set(passwords) - ejabberd.registered(api, domain)):
            ejabberd.register(api, domain, name, passwords[name])

    # --- state ----------------------------------------------------------------

    def _write_state(self) -> None:
        self.state_file.write_text(json.dumps([asdict(s) for s in self.states], indent=1))

    def _read_state(self) -> list[NodeState]:
        try:
            return [NodeState(**s) for s in json.loads(self.state_file.read_text())]
        except (OSError, ValueError, TypeError):
            return []

    def load(self) -> Cluster:
        """Take up the nodes a detached lab runs (from ``nodes.json``)."""
        self.states = self._read_state()
        return self

    def live_states(self) -> list[NodeState]:
        """The nodes that run now."""
        return [
            s for s in self.states
            if s.index <= len(self.files) and ejabberd.pid_is_ejabberd(s.pid, self.files[s.index - 1])
        ]  # fmt: skip

    # --- stopping -------------------------------------------------------------

    def kill(self, index: int) -> None:
        """Kill node ``index`` (1, 2, ...) at once (SIGKILL), as a crash would: its clients lose their server.

        ValueError if there is no such node; LabNotRunning if it does not run (no other process is hit).
        """
        if not 1 <= index <= len(self.files):
            raise ValueError(
                f"The lab has {len(self.files)} ejabberd node(s), numbered from 1: there is no node {index}."
            )
        process = self.processes.get(index)
        if process is not None:
            process.kill()
            process.wait()
            return
        state = next((s for s in self.states if s.index == index), None)
        if state is None or not ejabberd.pid_is_ejabberd(state.pid, self.files[index - 1]):
            raise LabNotRunning(f"Node {index} of the lab under {self.home} does not run: there is nothing to kill.")
        os.kill(state.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop every node (the last first, so node 1 sees its peers leave). Safe to call twice."""
        for api in self._apis.values():
            api.close()
        self._apis.clear()
        for files in reversed(self.files):
            process = self.processes.pop(files.index, None)
            if process is not None:
                _process.stop(process)
        for state in reversed(self.live_states()):  # a detached lab's, started by another process
            ejabberd.stop_pid(state.pid)
        self.states = []


MAX_NODES = 4
"""The most nodes a lab's cluster has: each needs a loopback address of its own (127.0.0.1 to .4)."""


def check_nodes(nodes: int) -> None:
    """ValueError unless ``nodes`` is 1 to :data:`MAX_NODES`."""
    if not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"A lab runs on 1 to {MAX_NODES} ejabberd nodes, not {nodes}.")


def check_spools(home: Path, nodes: int) -> None:
    """ValueError if the lab home holds the spool of a node beyond ``nodes`` (a larger cluster's)."""
    kept = [i for i in range(nodes + 1, MAX_NODES + 1) if _has_spool(ejabberd.NodeFiles(home, i))]
    if kept:
        raise ValueError(
            f"The lab under {home} ran on {max(kept)} ejabberd nodes: start it with `nodes={max(kept)}` "
            f"(`--nodes {max(kept)}`), or shrink it by removing "
            + ", ".join(str(ejabberd.NodeFiles(home, i).directory) for i in kept)
            + " (node 1 keeps the accounts)."
        )


def _has_spool(files: ejabberd.NodeFiles) -> bool:
    return files.spool.exists() and any(files.spool.iterdir())
