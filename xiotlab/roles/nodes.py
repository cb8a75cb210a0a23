"""The nodes behind a concentrator: each a device of its own, addressed by data source and id.

A :class:`Node` declares sensors and controls, reports values and runs
timers exactly as a :class:`~xiotlab.roles.thing.Thing` does (the
:class:`~xiotlab.roles.device.Device` mixin); its fields carry its
:class:`~xiotlab.protocol.values.NodeRef`, so readouts and events say where
each value came from. The nodes form a tree per data source through their
parents (:class:`NodeDirectory`). A node sees its concentrator through a
narrow port (:class:`NodeHost`), never its private members.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from ..protocol.concentrator_nodes import NodeState
from ..protocol.values import Field, NodeRef
from .controls import Controls
from .device import Device
from .sensors import Sensors
from .timers import Timers

Handler = TypeVar("Handler", bound=Callable[..., Any])

DEFAULT_SOURCE = "nodes"
"""The data source of nodes made without naming one."""


class NodeHost(Protocol):
    """What a node needs of its concentrator."""

    @property
    def jid(self) -> str: ...

    def push(self, fields: list[Field]) -> None:
        """Reported fields, on their way to history and subscribers (any thread)."""

    def remove_node(self, node: Node) -> None:
        """Take ``node`` (and its descendants) away."""

    def node_changed(self, node: Node, status: bool = False) -> None:
        """``node``'s description changed (``status``: its state did): tell whoever watches."""


class Node(Device):
    """One node of a concentrator: made by :meth:`~xiotlab.roles.concentrator.Concentrator.node`.

    >>> kitchen = gateway.node("kitchen", display_name="Kitchen")       # doctest: +SKIP
    >>> fridge = gateway.node("kitchen/fridge", parent=kitchen)
    >>> @fridge.sensor("temperature", unit="°C")
    ... def temperature():
    ...     return 4.5
    >>> fridge.report(temperature=4.7)
    """

    def __init__(self, host: NodeHost, ref: NodeRef, *, parent: str | None, display_name: str | None,
                 node_type: str, history_size: int) -> None:  # fmt: skip
        self.ref = ref
        self.parent = parent
        self._display_name = display_name or ref.id
        self.node_type = node_type
        self._state = NodeState.NONE
        self._host = host
        self._sensors = Sensors(history_size, node=ref)
        self._controls = Controls()
        self._timers = Timers(f"{host.jid} node {ref.id}", self.report)
        self.commands: dict[str, tuple[str, Callable[[], Any]]] = {}  # id -> (name people read, what it does)

    @property
    def id(self) -> str:
        return self.ref.id

    @property
    def source(self) -> str:
        """The data source the node belongs to."""
        return self.ref.source or DEFAULT_SOURCE

    @property
    def partition(self) -> str | None:
        return self.ref.partition

    @property
    def display_name(self) -> str:
        return self._display_name

    @display_name.setter
    def display_name(self, name: str) -> None:
        if name != self._display_name:
            self._display_name = name
            self._host.node_changed(self)

    @property
    def state(self) -> NodeState:
        """The node's state; set it (``NodeState.WARNING_UNSIGNED``...) to tell the owners watching."""
        return self._state

    @state.setter
    def state(self, state: NodeState | str) -> None:
        new = NodeState(state)
        if new is not self._state:
            self._state = new
            self._host.node_changed(self, status=True)

    @property
    def sensor_data(self) -> Sensors:
        """The node's sensors (for the concentrator's readouts)."""
        return self._sensors

    @property
    def control_data(self) -> Controls:
        """The node's control parameters (for the concentrator's sets and forms)."""
        return self._controls

    @property
    def timer_set(self) -> Timers:
        """The node's timers (the concentrator runs them while it is online)."""
        return self._timers

    def command(self, command: str, *, name: str | None = None) -> Callable[[Handler], Handler]:
        """Declare command ``command`` of this node; decorate what it does (no arguments).

        Owners list a node's commands and run them (``owner.execute(jid, command, node=...)``).
        A plain function runs on a worker thread, a coroutine function on the network loop;
        what it raises is the owner's error.

        >>> @meter.command("reset", name="Reset the peak")             # doctest: +SKIP
        ... def reset():
        ...     meter.report(peak=0.0)
        """

        def declare(action: Handler) -> Handler:
            self.commands[command] = (name or command, action)
            self._host.node_changed(self)
            return action

        return declare

    def remove(self) -> None:
        """Take this node (and the nodes below it) away from its concentrator."""
        self._host.remove_node(self)

    # --- the device mixin's host part --------------------------------------------------

    @property
    def _label(self) -> str:
        return f"node {self.id!r} of {self._host.jid}"

    def _push(self, fields: list[Field]) -> None:
        self._host.push(fields)

    def __repr__(self) -> str:
        parent = f" under {self.parent!r}" if self.parent else ""
        return f"<Node {self.source}/{self.id}{parent}: {len(self.sensors)} fields, {len(self.controls)} controls>"


class NodeDirectory:
    """The nodes of one concentrator by data source and id, and the tree their parents make."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[str, str], Node] = {}
        # (source, parent id or None) -> its children by id: a bridge's tree has thousands of nodes.
        self._below: dict[tuple[str, str | None], dict[str, Node]] = {}

    def add(self, node: Node) -> None:
        self._nodes[(node.source, node.id)] = node
        self._below.setdefault((node.source, node.parent), {})[node.id] = node

    def get(self, source: str, node_id: str) -> Node | None:
        return self._nodes.get((source, node_id))

    def find(self, ref: NodeRef) -> Node | None:
        """The node ``ref`` names; without a source, the first of that id in any source."""
        if ref.source is not None:
            node = self._nodes.get((ref.source, ref.id))
            return node if node is not None and ref.names(node.ref) else None
        return next((node for node in list(self._nodes.values()) if ref.names(node.ref)), None)

    def discard(self, node: Node) -> list[Node]:
        """Take ``node`` and its descendants out; the nodes taken, deepest first."""
        if self._nodes.get((node.source, node.id)) is not node:
            return []  # removed already (perhaps replaced by a new node of the same id): nothing to take
        gone = [*self.descendants(node), node]
        for each in gone:
            self._nodes.pop((each.source, each.id), None)
            self._below.get((each.source, each.parent), {}).pop(each.id, None)
            self._below.pop((each.source, each.id), None)
        return gone

    def children(self, node: Node | None, source: str | None = None) -> list[Node]:
        """The nodes directly below ``node`` (None: the roots, of ``source`` or of every source)."""
        if node is None:
            sources = self.sources() if source is None else [source]
            return [n for each in sources for n in list(self._below.get((each, None), {}).values())]
        return list(self._below.get((node.source, node.id), {}).copy().values())

    def descendants(self, node: Node) -> list[Node]:
        """Every node below ``node``, deepest first."""
        found: list[Node] = []
        for child in self.children(node):
            found += [*self.descendants(child), child]
        return found

    def ancestors(self, node: Node) -> list[Node]:
        """``node``'s parent, its parent's parent, ... up to a root."""
        chain: list[Node] = []
        parent = self.get(node.source, node.parent) if node.parent else None
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.get(parent.source, parent.parent) if parent.parent else None
        return chain

    def sources(self) -> list[str]:
        """The data sources that have nodes, in the order their first node came."""
        return list(dict.fromkeys(source for source, _ in list(self._nodes)))

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._nodes.values()))  # a snapshot: nodes come and go from any thread

    def __len__(self) -> int:
        return len(self._nodes)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(n.source)}</td><td>{html.escape(n.id)}</td>"
            f"<td>{html.escape(n.parent or '')}</td><td>{html.escape(n.display_name)}</td></tr>"
            for n in self
        )
        return f"<table><tr><th>source</th><th>id</th><th>parent</th><th>name</th></tr>{rows}</table>"
