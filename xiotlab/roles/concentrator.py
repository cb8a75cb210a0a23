"""``Concentrator``: one XMPP identity serving a tree of nodes (``urn:nfi:iot:concentrator:1.0``).

A gateway, a PLC, a bridge to another protocol: many devices behind one JID.
Each :class:`~xiotlab.roles.nodes.Node` declares sensors and controls and
reports values as a :class:`~xiotlab.roles.thing.Thing` does; readouts,
event subscriptions and control sets reach nodes through their ``<nd id src
pt/>`` references, and a request naming no node is the concentrator's own
(it reads none of the nodes). Owners browse the tree with the concentrator
protocol (:mod:`.browsing` on their side, :mod:`.concentrating` here), which
also tells subscribers when nodes are added, changed or removed. Access is
the thing's, per node the same: owner, friends, and the provisioning
service's answers.
"""

from __future__ import annotations

import threading

from ..protocol.values import Field, NodeRef
from ..runtime.connection import State
from .concentrating import ConcentratorService
from .controls import ControlService
from .nodes import DEFAULT_SOURCE, Node, NodeDirectory
from .sensing import SensorService
from .thing import Thing


class Concentrator(Thing):
    """A thing that serves nodes; every option of :class:`~xiotlab.roles.thing.Thing` applies.

    >>> gateway = Concentrator("gateway", owner="alice", lab=lab)     # doctest: +SKIP
    >>> kitchen = gateway.node("kitchen", display_name="Kitchen")
    >>> fridge = gateway.node("kitchen/fridge", parent=kitchen)
    >>> fridge.report(temperature=4.5)
    >>> gateway.start()
    >>> alice.read("gateway", nodes=["kitchen/fridge"])
    """

    def __init__(self, jid: str, password: str | None = None, **options) -> None:
        self._directory = NodeDirectory()  # before the thing's services, which read its nodes
        self._lock = threading.Lock()  # nodes are added and removed from any thread
        super().__init__(jid, password, **options)
        self._concentrating = ConcentratorService(self._client, self._access, self._directory)
        self._attach(self._concentrating)
        self.connection.observe(self._run_node_timers)

    def _services(self) -> tuple[SensorService, ControlService]:
        sensing = SensorService(
            self._client, self._access, self._history_size, nodes=self._directory, peer_features=self._peers.features
        )
        controls = ControlService(self._client, self._access, nodes=self._node_controls)
        return sensing, controls

    def _node_controls(self, ref: NodeRef):
        node = self._directory.find(ref)
        return None if node is None else node.control_data

    # --- nodes ------------------------------------------------------------------------

    def node(
        self,
        node_id: str,
        *,
        source: str = DEFAULT_SOURCE,
        parent: str | Node | None = None,
        display_name: str | None = None,
        node_type: str = "xiotlab.Node",
        partition: str | None = None,
    ) -> Node:
        """The node ``node_id`` of data source ``source``, made if new (while online too).

        ``parent``: the node (or its id, in the same source) it sits below; made first.
        Asking again for an existing node returns it (a new ``display_name`` renames it).
        """
        parent_id = parent.id if isinstance(parent, Node) else parent
        with self._lock:
            existing = self._directory.get(source, node_id)
            if existing is not None:
                if display_name is not None and display_name != existing.display_name:
                    existing.display_name = display_name
                return existing
            if parent_id is not None and self._directory.get(source, parent_id) is None:
                raise KeyError(f"{self.jid} has no node {parent_id!r} in source {source!r} to put {node_id!r} below.")
            made = Node(
                self,
                NodeRef(node_id, source, partition),
                parent=parent_id,
                display_name=display_name,
                node_type=node_type,
                history_size=self._history_size,
            )
            self._directory.add(made)
        if self.connection.state is State.ONLINE:
            made.timer_set.start()
        self._concentrating.added(made)
        return made

    def remove_node(self, node: Node | str, source: str = DEFAULT_SOURCE) -> None:
        """Take a node (or the node of this id in ``source``) and every node below it away."""
        target = node if isinstance(node, Node) else self._directory.get(source, node)
        if target is None:
            raise KeyError(f"{self.jid} has no node {node!r} in source {source!r}; its nodes: {self.node_ids()}.")
        with self._lock:
            gone = self._directory.discard(target)
        for each in gone:
            each.timer_set.stop()  # and never started again: it is no longer among the nodes that go online
            each.timer_set.clear()
            self._concentrating.removed(each)

    def find(self, node_id: str, source: str | None = None) -> Node | None:
        """The node of this id (in ``source``, or in any source), or None."""
        return self._directory.find(NodeRef(node_id, source))

    @property
    def nodes(self) -> list[Node]:
        """Every node, in the order they were made."""
        return list(self._directory)

    def node_ids(self) -> list[str]:
        return [node.id for node in self._directory]

    @property
    def sources(self) -> list[str]:
        """The data sources that have nodes."""
        return self._directory.sources()

    # --- the node host port (see nodes.NodeHost) ------------------------------------------

    def push(self, fields: list[Field]) -> None:
        self._sensing.report(fields)

    def node_changed(self, node: Node, status: bool = False) -> None:
        self._concentrating.updated(node, status)

    # --- timers of the nodes run while online -------------------------------------------

    def _run_node_timers(self, _connection, state: State) -> None:
        if state is State.ONLINE:
            for node in self._directory:
                node.timer_set.start()
        elif state is State.OFFLINE:
            for node in self._directory:
                node.timer_set.stop()

    def __repr__(self) -> str:
        state = "online" if self.online else "offline"
        return f"<Concentrator {self.jid} {state}, {len(self._directory)} nodes, {len(self.roster.friends)} friends>"
