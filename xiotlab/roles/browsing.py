"""The owner's side of concentrators: the tree of nodes behind one JID (``urn:nfi:iot:concentrator:1.0``).

``owner.nodes(jid)`` asks the concentrator (at its full JID, so it must be a
friend and online) what nodes it has and returns them as :class:`Nodes`: a
list of :class:`~xiotlab.protocol.concentrator.NodeInfo` (id, source,
partition, parent, display name, node type, state, has children) that also
answers ``roots()``, ``children(node)``, ``parent(node)`` and ``find(node)``,
and shows itself as an indented tree.

How the tree is gathered follows what the concentrator says it can do
(``getCapabilities``): every node of each data source (``getAllNodes``), or
else the root nodes and, below each node that has children, its children
(``getRootNodes``/``getChildNodes``). A participant that announces no
concentrator namespace in service discovery, or answers ``getCapabilities``
with an error saying it does not know it, is not a concentrator: a
:class:`~xiotlab.errors.StanzaError` (``feature-not-implemented``) says so.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from ..errors import ProtocolError, StanzaError
from ..protocol import concentrator as c
from ..protocol.values import NodeRef
from ..runtime import XmppClient
from .peers import Peers
from .readout import as_node, node_label
from .service import Service

_NOT_KNOWN = ("feature-not-implemented", "service-unavailable", "bad-request")
"""Answers to ``getCapabilities`` from a participant that does not speak the concentrator protocol."""

MAX_REQUESTS = 1000
"""Most requests one browse sends (walking a tree one level at a time); a bigger tree raises ProtocolError."""


class Nodes(Sequence[c.NodeInfo]):
    """The nodes of concentrator ``thing``, as it described them, in the order it listed them.

    A sequence of :class:`~xiotlab.protocol.concentrator.NodeInfo`; ``info.node`` is the
    :class:`~xiotlab.protocol.values.NodeRef` to read, watch or control it by. Nodes are
    named by id (a node of that id in any data source), by NodeRef, or by a NodeInfo.
    ``sources`` are the concentrator's data sources (empty if it has none).
    """

    def __init__(self, thing: str, nodes: Iterable[c.NodeInfo], sources: Iterable[c.DataSource] = ()) -> None:
        self.thing = thing
        self._nodes = list(nodes)
        self.sources = tuple(sources)

    # --- a sequence -------------------------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> c.NodeInfo: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[c.NodeInfo]: ...

    def __getitem__(self, index):
        return self._nodes[index]

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        if isinstance(node, (str, NodeRef, c.NodeInfo)):
            return self.find(node) is not None
        return False

    # --- the tree ---------------------------------------------------------------------

    def find(self, node: str | NodeRef | c.NodeInfo) -> c.NodeInfo | None:
        """The node named (its first match, by list order), or None."""
        ref = _ref(node)
        return next((info for info in self._nodes if ref.names(info.node)), None)

    def get(self, node: str | NodeRef | c.NodeInfo) -> c.NodeInfo:
        """The node named; KeyError, listing the ids there are, if there is none."""
        found = self.find(node)
        if found is None:
            ids = ", ".join(info.id for info in self._nodes) or "none"
            raise KeyError(f"{self.thing} has no node {node_label(_ref(node))!r}; its nodes: {ids}")
        return found

    def parent(self, node: str | NodeRef | c.NodeInfo) -> c.NodeInfo | None:
        """The node's parent, or None for a root (or a parent the concentrator did not list)."""
        parent = self.get(node).parent
        return None if parent is None else self.find(parent)

    def roots(self) -> list[c.NodeInfo]:
        """The nodes without a parent here: the tops of the tree, in list order."""
        return [info for info in self._nodes if info.parent is None or self.find(info.parent) is None]

    def children(self, node: str | NodeRef | c.NodeInfo) -> list[c.NodeInfo]:
        """The nodes right below ``node``, in list order."""
        ref = self.get(node).node
        return [info for info in self._nodes if info.parent is not None and info.parent.names(ref)]

    def walk(self) -> Iterator[tuple[int, c.NodeInfo]]:
        """Every node once with its depth, depth first from the roots; nodes caught in a cycle come last."""
        seen: set[int] = set()
        below: dict[int, list[c.NodeInfo]] = {}
        for info in self._nodes:
            parent = None if info.parent is None else self.find(info.parent)
            if parent is not None and parent is not info:
                below.setdefault(id(parent), []).append(info)

        def visit(info: c.NodeInfo, depth: int) -> Iterator[tuple[int, c.NodeInfo]]:
            stack = [(depth, info)]
            while stack:
                level, each = stack.pop()
                if id(each) in seen:
                    continue
                seen.add(id(each))
                yield level, each
                stack.extend((level + 1, child) for child in reversed(below.get(id(each), [])))

        for root in [*self.roots(), *self._nodes]:  # after the roots, whatever they did not reach
            yield from visit(root, 0)

    def to_dataframe(self):
        """The nodes as a pandas DataFrame, one row each, in tree order with their depth."""
        import pandas as pd  # imported here: only those who ask for frames pay for pandas

        rows = [
            (
                info.id,
                info.source,
                info.partition,
                info.parent_id,
                info.display_name,
                info.node_type,
                info.state.value,
                info.has_children,
                info.is_readable,
                info.is_controllable,
                depth,
            )
            for depth, info in self.walk()
        ]
        columns = ["id", "source", "partition", "parent", "display_name", "node_type", "state", "has_children"]
        return pd.DataFrame.from_records(rows, columns=[*columns, "readable", "controllable", "depth"])

    # --- showing it -------------------------------------------------------------------

    def __repr__(self) -> str:
        lines = [f"  {'  ' * depth}{_line(info)}" for depth, info in self.walk()]
        return f"<Nodes of {self.thing}: {len(self)} nodes" + "".join(f"\n{line}" for line in lines) + ">"

    def _repr_html_(self) -> str:
        def item(info: c.NodeInfo, depth: int) -> str:
            name = html.escape(info.display_name or info.id)
            notes = [f"<code>{html.escape(node_label(info.node))}</code>"]
            if info.node_type:
                notes.append(html.escape(info.node_type))
            if info.state is not c.NodeState.NONE:
                notes.append(f"<b>{html.escape(info.state.value)}</b>")
            notes += [word for word, flag in (("readable", info.is_readable), ("controllable", info.is_controllable))
                      if flag]  # fmt: skip
            return f"<li><b>{name}</b> <small>{' · '.join(notes)}</small>"

        parts: list[str] = []
        depth = -1
        for level, info in self.walk():
            if level > depth:
                parts.append("<ul>" * (level - depth))
            else:
                parts.append("</li>" + "</ul></li>" * (depth - level))
            parts.append(item(info, level))
            depth = level
        if depth >= 0:
            parts.append("</li>" + "</ul></li>" * depth + "</ul>")
        caption = f"Nodes of {html.escape(self.thing)}: {len(self)}"
        return f"<div><div><b>{caption}</b></div>{''.join(parts) or '<i>no nodes</i>'}</div>"


def _ref(node: str | NodeRef | c.NodeInfo) -> NodeRef:
    return node.node if isinstance(node, c.NodeInfo) else as_node(node)


def _line(info: c.NodeInfo) -> str:
    """A node on one line: its name, reference, type and state."""
    name = info.display_name if info.display_name and info.display_name != info.id else None
    text = node_label(info.node) + (f" {name!r}" if name else "")
    if info.node_type:
        text += f" [{info.node_type}]"
    if info.state is not c.NodeState.NONE:
        text += f" ({info.state.value})"
    return text


class NodeBrowser(Service[XmppClient]):
    """Browses concentrators for one owner."""

    def __init__(self, client: XmppClient, peers: Peers) -> None:
        super().__init__(client)
        self.peers = peers

    async def nodes(self, jid: str, timeout: float) -> Nodes:
        """The tree of nodes of friend ``jid``, a concentrator."""
        full = await self.peers.address(jid, timeout)
        bare = full.split("/")[0]
        ns = await self._dialect(full, timeout)
        capabilities = await self._capabilities(full, ns, timeout)
        ask = _Asker(self.peers, full, ns, timeout)
        sources: tuple[c.DataSource, ...] = ()
        if "getAllDataSources" in capabilities:
            sources = c.parse_data_sources(await ask(c.GetAllDataSources(namespace=ns)))
        names = [source.id for source in sources] or [""]  # "": a concentrator without data sources
        walkable = "getRootNodes" in capabilities and "getChildNodes" in capabilities
        if "getAllNodes" in capabilities:
            try:
                found: list[c.NodeInfo] = []
                for name in names:
                    found += c.parse_node_infos(await ask(c.GetAllNodes(source=name, namespace=ns)))
            except StanzaError as error:
                if error.condition != "resource-constraint" or not walkable:
                    raise
                found = await _walk(ask, names, ns)  # too many for one answer: a level at a time
        elif walkable:
            found = await _walk(ask, names, ns)
        else:
            raise ProtocolError(
                f"{bare} is a concentrator that lists no nodes: it offers neither getAllNodes "
                f"nor getRootNodes and getChildNodes (it offers {', '.join(sorted(capabilities)) or 'nothing'})."
            )
        return Nodes(bare, _unique(found), sources)

    async def commands(self, jid: str, node: NodeRef, timeout: float) -> tuple[c.NodeCommand, ...]:
        """The commands ``node`` of concentrator ``jid`` offers."""
        full = await self.peers.address(jid, timeout)
        ns = await self._dialect(full, timeout)
        request = c.build_request(c.GetNodeCommands(node=node, namespace=ns), ns=ns)
        answer = await self.peers.request(full, "get", request, timeout)
        return c.parse_commands(answer) if answer is not None else ()

    async def execute(self, jid: str, command: str, node: NodeRef, timeout: float) -> None:
        """Run ``command`` of ``node`` of concentrator ``jid``; its refusal or failure is raised."""
        full = await self.peers.address(jid, timeout)
        ns = await self._dialect(full, timeout)
        request = c.build_request(c.ExecuteNodeCommand(node=node, command=command, namespace=ns), ns=ns)
        await self.peers.request(full, "set", request, timeout)

    async def _dialect(self, full: str, timeout: float) -> str:
        try:
            features = await self.peers.features(full, timeout)
        except StanzaError:
            return c.NAMESPACES[0]  # no discovery: ask, and let the answer tell
        ns = next((ns for ns in c.NAMESPACES if ns in features), None)
        if ns is None:
            raise _not_a_concentrator(full, "it announces no concentrator namespace in service discovery")
        return ns

    async def _capabilities(self, full: str, ns: str, timeout: float) -> frozenset[str]:
        request = c.build_request(c.GetCapabilities(namespace=ns), ns=ns)
        try:
            answer = await self.peers.request(full, "get", request, timeout)
        except StanzaError as error:
            if error.condition in _NOT_KNOWN:
                raise _not_a_concentrator(full, f"it answered getCapabilities with {error.condition}") from error
            raise
        if answer is None:
            raise ProtocolError(f"{full} answered getCapabilities with nothing.")
        return frozenset(c.parse_strings(answer))


class _Asker:
    """Sends concentrator requests to one concentrator, counting them against MAX_REQUESTS."""

    def __init__(self, peers: Peers, full: str, ns: str, timeout: float) -> None:
        self.peers, self.full, self.ns, self.timeout = peers, full, ns, timeout
        self.sent = 0

    async def __call__(self, request: c.Request):
        self.sent += 1
        if self.sent > MAX_REQUESTS:
            raise ProtocolError(f"{self.full} has more nodes than {MAX_REQUESTS} requests can list.")
        answer = await self.peers.request(self.full, "get", c.build_request(request, ns=self.ns), self.timeout)
        if answer is None:
            raise ProtocolError(f"{self.full} answered {request.ELEMENT} with nothing.")
        return answer


async def _walk(ask: _Asker, sources: list[str], ns: str) -> list[c.NodeInfo]:
    """The root nodes of each source, then the children of each node that has some, level by level."""
    found: list[c.NodeInfo] = []
    for source in sources:
        found += c.parse_node_infos(await ask(c.GetRootNodes(source=source, namespace=ns)))
    asked: set[NodeRef] = set()
    level = list(found)
    while level:
        below: list[c.NodeInfo] = []
        for info in level:
            if info.has_children and info.node not in asked:
                asked.add(info.node)
                below += c.parse_node_infos(await ask(c.GetChildNodes(node=info.node, namespace=ns)))
        found += below
        level = below
    return found


def _unique(nodes: list[c.NodeInfo]) -> list[c.NodeInfo]:
    """Each node once (a node is its id, source and partition), in the order first listed."""
    unique: dict[tuple[str, str, str], c.NodeInfo] = {}
    for info in nodes:
        unique.setdefault((info.id, info.source or "", info.partition or ""), info)
    return list(unique.values())


def _not_a_concentrator(full: str, why: str) -> StanzaError:
    return StanzaError(
        f"{full.split('/')[0]} is not a concentrator ({why}): it has no nodes to list; "
        "read, watch and control it without nodes.",
        condition="feature-not-implemented",
    )
