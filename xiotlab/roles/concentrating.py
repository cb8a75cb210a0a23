"""A concentrator's answers about its nodes (``urn:nfi:iot:concentrator:1.0``), and its node events.

Owners and friends browse the tree: capabilities, data sources, nodes,
their children and ancestors, their commands. A subscriber to a data source
hears ``nodeAdded``, ``nodeUpdated``, ``nodeStatusChanged`` and
``nodeRemoved`` as nodes come and go, for the time it asked (``ttl``), until
it unsubscribes or goes offline. Only those who may read the concentrator may
browse it (its :class:`~xiotlab.roles.access.Access` port: its owner's rules,
or for a claimed one its provisioning service's answer).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
import xml.etree.ElementTree as ET

from slixmpp import JID, Presence

from ..errors import Forbidden, StanzaError
from ..protocol import concentrator as c
from ..protocol.values import Category
from ..runtime import XmppClient, network
from ..runtime.connection import State
from .access import Access
from .nodes import Node, NodeDirectory
from .service import Service

OPERATIONS = (
    "getCapabilities", "getAllDataSources", "getRootDataSources", "getChildDataSources", "containsNode",
    "containsNodes", "getNode", "getNodes", "getAllNodes", "getRootNodes", "getChildNodes", "getAncestors",
    "getNodeCommands", "executeNodeCommand", "subscribe", "unsubscribe",
)  # fmt: skip
"""What this concentrator answers (``getCapabilities``)."""

MAX_SUBSCRIPTIONS = 256
"""Most data-source subscriptions held at once, over every subscriber."""

MAX_SUBSCRIPTIONS_PER_FRIEND = 16
"""Most data-source subscriptions one friend (bare JID) holds, over all its resources."""

MAX_LISTED = 500
"""Most node infos in one answer: Prosody closes the stream of a client sending a stanza over 256 kB,
and a node info takes up to a few hundred bytes. A longer list is refused ``resource-constraint``;
an owner then walks the tree a level at a time (:mod:`.browsing` does)."""

MAX_TTL = 24 * 3600
"""Longest a subscription lasts before it must be renewed, in seconds (a longer ``ttl`` is cut to it)."""


@dataclasses.dataclass
class _Watch:
    """One subscriber's subscription to one data source: which events, until when."""

    events: c.NodeEvents
    until: float


def node_info(node: Node, directory: NodeDirectory) -> c.NodeInfo:
    """What the concentrator tells about ``node``."""
    return c.NodeInfo(
        node.id,
        source=node.source,
        partition=node.partition,
        display_name=node.display_name,
        node_type=node.node_type,
        state=node.state,
        has_children=bool(directory.children(node)),
        is_readable=bool(node.sensors),
        is_controllable=bool(node.controls),
        has_commands=bool(node.commands),
        parent_id=node.parent,
    )


class ConcentratorService(Service[XmppClient]):
    """Answers the concentrator protocol for one concentrator's nodes (network thread)."""

    features = c.NAMESPACES

    def __init__(self, client: XmppClient, access: Access, directory: NodeDirectory) -> None:
        super().__init__(client)
        self.access = access
        self.directory = directory
        self.watches: dict[tuple[str, str], _Watch] = {}  # (subscriber full JID, source) -> watch

    def register(self) -> None:
        for name in OPERATIONS:
            kind = ("set",) if name in ("executeNodeCommand", "subscribe", "unsubscribe") else ("get",)
            self.serve(c.NAMESPACES, name, self._answer, types=kind)
        self.on_event("presence_unavailable", self._subscriber_left)
        self.on_state(self._forget_watches)

    async def _answer(self, sender: JID, element: ET.Element):
        # Browsing tells what the concentrator holds: only those who may read it (a provisioning
        # service asked, for a claimed one) may browse it.
        await self.access.readable(sender, (), Category.ALL)
        request = c.parse_request(element)
        if isinstance(request, c.ExecuteNodeCommand):
            await self._execute(sender, request)
            return None
        answer = self._respond(sender, request)
        return None if answer is None else [answer]

    async def _execute(self, sender: JID, request: c.ExecuteNodeCommand) -> None:
        """Run a node's command for someone who may control the concentrator."""
        node = self._need(request.node)
        if request.command not in node.commands:
            known = ", ".join(node.commands) or "none"
            raise StanzaError(
                f"Node {node.id!r} has no command {request.command!r}; its commands: {known}.",
                condition="item-not-found",
            )
        self.access.check_controller(sender)
        if not await self.access.controllable(sender, (request.command,), nodes=(node.ref,)):
            raise Forbidden(f"{sender.bare} may not run {request.command!r} on node {node.id!r}.")
        _, action = node.commands[request.command]
        result = action() if inspect.iscoroutinefunction(action) else await asyncio.to_thread(action)
        if inspect.isawaitable(result):
            await result

    def _respond(self, sender: JID, request: c.Request) -> ET.Element | None:
        ns = request.namespace
        match request:
            case c.GetCapabilities():
                return c.build_strings(OPERATIONS, ns=ns)
            case c.GetAllDataSources() | c.GetRootDataSources():
                sources = [c.DataSource(source, source) for source in self.directory.sources()]
                return c.build_data_sources(sources, ns=ns)
            case c.GetChildDataSources(source=source):
                self._need_source(source)
                return c.build_data_sources((), ns=ns)  # data sources here are flat
            case c.ContainsNode(node=ref):
                return c.build_bool(self.directory.find(ref) is not None, ns=ns)
            case c.ContainsNodes(nodes=refs):
                return c.build_bools([self.directory.find(ref) is not None for ref in refs], ns=ns)
            case c.GetNode(node=ref):
                return c.build_node_info(self._info(self._need(ref)), ns=ns)
            case c.GetNodes(nodes=refs):
                return self._infos([self._need(ref) for ref in refs], ns)
            case c.GetAllNodes(source=source, only_if_derived_from=types):
                found = [n for n in self.directory if source in ("", n.source) and (not types or n.node_type in types)]
                return self._infos(found, ns)
            case c.GetRootNodes(source=source):
                return self._infos(self.directory.children(None, source or None), ns)
            case c.GetChildNodes(node=ref):
                return self._infos(self.directory.children(self._need(ref)), ns)
            case c.GetAncestors(node=ref):
                node = self._need(ref)
                return self._infos([node, *self.directory.ancestors(node)], ns)
            case c.GetNodeCommands(node=ref):
                node = self._need(ref)
                commands = [c.NodeCommand(command, name) for command, (name, _) in node.commands.items()]
                return c.build_commands(commands, ns=ns)
            case c.Subscribe():
                self._subscribe(sender, request)
                return None
            case c.Unsubscribe():
                self._unsubscribe(sender, request)
                return None
        raise StanzaError(f"{request.ELEMENT} is not answered here.", condition="feature-not-implemented")

    def _info(self, node: Node) -> c.NodeInfo:
        return node_info(node, self.directory)

    def _infos(self, nodes: list[Node], ns: str) -> ET.Element:
        if len(nodes) > MAX_LISTED:
            raise StanzaError(
                f"{len(nodes)} nodes are too many for one answer (at most {MAX_LISTED}): ask for the root "
                "nodes, then each node's children.",
                condition="resource-constraint",
                kind="wait",
            )
        return c.build_node_infos([self._info(node) for node in nodes], ns=ns)

    def _need(self, ref) -> Node:
        node = self.directory.find(ref)
        if node is None:
            raise StanzaError(f"{self.client.jid.bare} has no node {ref.id!r}.", condition="item-not-found")
        return node

    def _need_source(self, source: str) -> None:
        if source not in self.directory.sources():
            raise StanzaError(f"{self.client.jid.bare} has no data source {source!r}.", condition="item-not-found")

    # --- data-source subscriptions -----------------------------------------------------

    def _subscribe(self, sender: JID, request: c.Subscribe) -> None:
        if request.source:
            self._need_source(request.source)
        self._expire()
        key = (sender.full, request.source)
        watch = self.watches.get(key)
        friend = sum(1 for subscriber, _ in self.watches if JID(subscriber).bare == sender.bare)
        if watch is None and (len(self.watches) >= MAX_SUBSCRIPTIONS or friend >= MAX_SUBSCRIPTIONS_PER_FRIEND):
            raise StanzaError(
                f"{self.client.jid.bare} holds as many data-source subscriptions as it takes "
                f"({MAX_SUBSCRIPTIONS_PER_FRIEND} a friend, {MAX_SUBSCRIPTIONS} in all); unsubscribe some first.",
                condition="resource-constraint",
                kind="wait",
            )
        until = time.monotonic() + min(request.ttl, MAX_TTL)
        events = request.events if watch is None else watch.events | request.events
        self.watches[key] = _Watch(events, until)

    def _unsubscribe(self, sender: JID, request: c.Unsubscribe) -> None:
        key = (sender.full, request.source)
        watch = self.watches.get(key)
        if watch is None:
            return
        watch.events &= ~request.events
        if not watch.events:
            del self.watches[key]

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [key for key, watch in self.watches.items() if watch.until < now]:
            del self.watches[key]

    def _forget_watches(self, _connection, state: State) -> None:
        if state is State.OFFLINE:
            self.watches.clear()  # a concentrator that went away keeps no subscriptions, as its sensors do not

    def _subscriber_left(self, presence: Presence) -> None:
        gone = presence["from"].full
        for key in [key for key in self.watches if key[0] == gone]:
            del self.watches[key]

    # --- events, from the concentrator ---------------------------------------------------

    # From any thread: the events leave from the network loop.

    def added(self, node: Node) -> None:
        network.call_soon(self._tell, node, c.NodeAdded(self._info(node)))

    def updated(self, node: Node, status: bool = False) -> None:
        event = c.NodeStatusChanged(node.ref, node.state) if status else c.NodeUpdated(self._info(node))
        network.call_soon(self._tell, node, event)

    def removed(self, node: Node) -> None:
        network.call_soon(self._tell, node, c.NodeRemoved(node.ref))

    def _tell(self, node: Node, event: c.NodeEvent) -> None:
        """Send ``event`` to every live subscription of ``node``'s source that asked for its kind."""
        if not self.client.online:
            return
        self._expire()
        for (subscriber, source), watch in list(self.watches.items()):
            if source in ("", node.source) and event.FLAG & watch.events:
                self.client.send_message(subscriber, [c.build_event(event)])
