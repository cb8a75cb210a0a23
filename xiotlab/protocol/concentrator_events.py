"""Data source events of a concentrator: what a ``subscribe``-r hears, in messages.

After ``<subscribe src=.. ttl=..>`` (:class:`.concentrator.Subscribe`) the
concentrator sends each change of that data source in a ``<message>`` to the
subscriber, one of:

* ``<nodeAdded …node info… aid apt ts>`` (:class:`NodeAdded`), after sibling
  ``aid`` (partition ``apt``) when given;
* ``<nodeUpdated …node info… oid ts>`` (:class:`NodeUpdated`), ``oid`` the
  node's id before the update (a renamed node);
* ``<nodeStatusChanged id src pt localId logId state ts>`` with ``<message>``
  children when the subscription asked for messages (:class:`NodeStatusChanged`);
* ``<nodeRemoved id src pt localId logId ts>`` (:class:`NodeRemoved`);
* ``<nodeMovedUp …>``/``<nodeMovedDown …>``, the same shape
  (:class:`NodeMovedUp`, :class:`NodeMovedDown`).

Node info carries parameters only when the subscription asked for them. Each
event class names its :class:`NodeEvents` flag (``FLAG``), so a concentrator
sends an event to exactly those subscriptions whose ``events`` include it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import ClassVar

from . import elements as x
from .concentrator_nodes import (
    MAX_DETAILS,
    NAMESPACES,
    NodeInfo,
    NodeMessage,
    NodeState,
    element,
    read_enum,
    read_message,
    read_node_info,
    write_message,
    write_node_info,
)
from .namespaces import CONCENTRATOR
from .values import UTC, NodeRef, as_utc, check_xml_text, format_boolean, format_datetime

__all__ = [
    "NodeEvents", "EVENT_ATTRIBUTES",
    "NodeAdded", "NodeUpdated", "NodeStatusChanged", "NodeRemoved", "NodeMovedUp", "NodeMovedDown", "NodeEvent",
    "build_event", "parse_event", "write_event_types", "read_event_types",
]  # fmt: skip


class NodeEvents(enum.Flag):
    """The kinds of data source event a subscription asks for (or an unsubscription drops)."""

    NODE_ADDED = enum.auto()
    NODE_UPDATED = enum.auto()
    NODE_STATUS_CHANGED = enum.auto()
    NODE_REMOVED = enum.auto()
    NODE_MOVED_UP = enum.auto()
    NODE_MOVED_DOWN = enum.auto()
    ALL = NODE_ADDED | NODE_UPDATED | NODE_STATUS_CHANGED | NODE_REMOVED | NODE_MOVED_UP | NODE_MOVED_DOWN


EVENT_ATTRIBUTES = {
    NodeEvents.NODE_ADDED: "nodeAdded",
    NodeEvents.NODE_UPDATED: "nodeUpdated",
    NodeEvents.NODE_STATUS_CHANGED: "nodeStatusChanged",
    NodeEvents.NODE_REMOVED: "nodeRemoved",
    NodeEvents.NODE_MOVED_UP: "nodeMovedUp",
    NodeEvents.NODE_MOVED_DOWN: "nodeMovedDown",
}
"""The boolean attribute of each kind in ``subscribe``/``unsubscribe``, also the event's element name."""


def write_event_types(el: ET.Element, events: NodeEvents) -> None:
    """Write ``name="false"`` for each kind not in ``events``; every attribute defaults to true."""
    for flag, name in EVENT_ATTRIBUTES.items():
        if flag not in events:
            el.set(name, format_boolean(False))


def read_event_types(el: ET.Element) -> NodeEvents:
    """The kinds whose attribute is true or absent (the default is true)."""
    events = NodeEvents(0)
    for flag, name in EVENT_ATTRIBUTES.items():
        if x.boolean(el, name, default=True):
            events |= flag
    return events


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _optional(value: object, what: str) -> None:
    if value is not None:
        check_xml_text(value, what)


@dataclasses.dataclass(frozen=True)
class NodeAdded:
    """A node was added to the data source; it follows sibling ``after_id`` (in ``after_partition``) if given."""

    ELEMENT: ClassVar[str] = "nodeAdded"
    FLAG: ClassVar[NodeEvents] = NodeEvents.NODE_ADDED

    info: NodeInfo
    timestamp: dt.datetime = dataclasses.field(default_factory=_now)
    after_id: str | None = None
    after_partition: str | None = None
    namespace: str = dataclasses.field(default=CONCENTRATOR, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.info, NodeInfo):
            raise TypeError(f"info must be a NodeInfo, not {self.info!r}")
        object.__setattr__(self, "timestamp", as_utc(self.timestamp, "event timestamp"))
        _optional(self.after_id, "after_id")
        _optional(self.after_partition, "after_partition")

    @property
    def node(self) -> NodeRef:
        return self.info.node


@dataclasses.dataclass(frozen=True)
class NodeUpdated:
    """A node changed; ``old_id`` is its id before the change, when the change renamed it."""

    ELEMENT: ClassVar[str] = "nodeUpdated"
    FLAG: ClassVar[NodeEvents] = NodeEvents.NODE_UPDATED

    info: NodeInfo
    timestamp: dt.datetime = dataclasses.field(default_factory=_now)
    old_id: str | None = None
    namespace: str = dataclasses.field(default=CONCENTRATOR, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.info, NodeInfo):
            raise TypeError(f"info must be a NodeInfo, not {self.info!r}")
        object.__setattr__(self, "timestamp", as_utc(self.timestamp, "event timestamp"))
        _optional(self.old_id, "old_id")

    @property
    def node(self) -> NodeRef:
        return self.info.node


def _check_reference(event: NodeStatusChanged | NodeReferenceEvent) -> None:
    if not isinstance(event.node, NodeRef):
        raise TypeError(f"node must be a NodeRef, not {event.node!r}")
    object.__setattr__(event, "timestamp", as_utc(event.timestamp, "event timestamp"))
    _optional(event.local_id, "local_id")
    _optional(event.log_id, "log_id")


@dataclasses.dataclass(frozen=True)
class NodeStatusChanged:
    """A node's state changed; ``messages`` are there when the subscription asked for messages."""

    ELEMENT: ClassVar[str] = "nodeStatusChanged"
    FLAG: ClassVar[NodeEvents] = NodeEvents.NODE_STATUS_CHANGED

    node: NodeRef
    state: NodeState
    timestamp: dt.datetime = dataclasses.field(default_factory=_now)
    local_id: str | None = None
    log_id: str | None = None
    messages: tuple[NodeMessage, ...] = ()
    namespace: str = dataclasses.field(default=CONCENTRATOR, compare=False)

    def __post_init__(self) -> None:
        _check_reference(self)
        object.__setattr__(self, "state", NodeState(self.state))
        messages = tuple(self.messages)
        if not all(isinstance(m, NodeMessage) for m in messages):
            raise TypeError(f"messages must be NodeMessage instances, not {messages!r}")
        object.__setattr__(self, "messages", messages)


@dataclasses.dataclass(frozen=True)
class NodeReferenceEvent:
    """An event naming a node only (the schema's ``NodeReferenceEvent``): removed, moved up, moved down."""

    ELEMENT: ClassVar[str] = ""
    FLAG: ClassVar[NodeEvents] = NodeEvents(0)

    node: NodeRef
    timestamp: dt.datetime = dataclasses.field(default_factory=_now)
    local_id: str | None = None
    log_id: str | None = None
    namespace: str = dataclasses.field(default=CONCENTRATOR, compare=False)

    def __post_init__(self) -> None:
        if type(self) is NodeReferenceEvent:
            raise TypeError("NodeReferenceEvent is abstract; use NodeRemoved, NodeMovedUp or NodeMovedDown")
        _check_reference(self)


@dataclasses.dataclass(frozen=True)
class NodeRemoved(NodeReferenceEvent):
    """A node was removed from the data source."""

    ELEMENT: ClassVar[str] = "nodeRemoved"
    FLAG: ClassVar[NodeEvents] = NodeEvents.NODE_REMOVED


@dataclasses.dataclass(frozen=True)
class NodeMovedUp(NodeReferenceEvent):
    """A node moved one step up among its siblings."""

    ELEMENT: ClassVar[str] = "nodeMovedUp"
    FLAG: ClassVar[NodeEvents] = NodeEvents.NODE_MOVED_UP


@dataclasses.dataclass(frozen=True)
class NodeMovedDown(NodeReferenceEvent):
    """A node moved one step down among its siblings."""

    ELEMENT: ClassVar[str] = "nodeMovedDown"
    FLAG: ClassVar[NodeEvents] = NodeEvents.NODE_MOVED_DOWN


NodeEvent = NodeAdded | NodeUpdated | NodeStatusChanged | NodeRemoved | NodeMovedUp | NodeMovedDown


def build_event(event: NodeEvent, *, ns: str = CONCENTRATOR) -> ET.Element:
    """The message payload of ``event``, in ``ns`` (the namespace of the subscription)."""
    if not isinstance(event, (NodeAdded, NodeUpdated, NodeStatusChanged, NodeReferenceEvent)):
        raise TypeError(f"build_event takes a node event, not {event!r}")
    el = element(event.ELEMENT, ns)
    if isinstance(event, (NodeAdded, NodeUpdated)):
        write_node_info(el, ns, event.info)
        if isinstance(event, NodeAdded):
            x.put(el, "aid", event.after_id)
            x.put(el, "apt", event.after_partition)
        else:
            x.put(el, "oid", event.old_id)
    else:
        el.attrib.update(x.node_element("nd", event.node).attrib)
        x.put(el, "localId", event.local_id)
        x.put(el, "logId", event.log_id)
        if isinstance(event, NodeStatusChanged):
            el.set("state", event.state.value)
            for message in event.messages:
                write_message(el, ns, message)
    el.set("ts", format_datetime(event.timestamp))
    return el


def _ts(el: ET.Element) -> dt.datetime:
    stamp = x.timestamp(el, "ts")
    if stamp is None:
        raise x.missing(el, "ts")
    return stamp


def _parse_added(el: ET.Element, ns: str) -> NodeAdded:
    limit = x.MAX_NAME_LENGTH
    info = read_node_info(el, ns)
    return NodeAdded(info, _ts(el), x.optional(el, "aid", limit), x.optional(el, "apt", limit), namespace=ns)


def _parse_updated(el: ET.Element, ns: str) -> NodeUpdated:
    return NodeUpdated(read_node_info(el, ns), _ts(el), x.optional(el, "oid", x.MAX_NAME_LENGTH), namespace=ns)


def _alt_ids(el: ET.Element) -> tuple[str | None, str | None]:
    return x.optional(el, "localId", x.MAX_NAME_LENGTH), x.optional(el, "logId", x.MAX_NAME_LENGTH)


def _parse_status(el: ET.Element, ns: str) -> NodeStatusChanged:
    messages: list[NodeMessage] = []
    for local, child in x.children(el, ns):
        if local == "message":
            messages.append(read_message(child))
            x.check_limit(len(messages), MAX_DETAILS, "messages", el)
    state = read_enum(el, "state", NodeState)
    return NodeStatusChanged(x.read_node(el), state, _ts(el), *_alt_ids(el), tuple(messages), namespace=ns)


def _reference_parser(cls: type[NodeRemoved | NodeMovedUp | NodeMovedDown]) -> Callable[[ET.Element, str], NodeEvent]:
    def parse(el: ET.Element, ns: str) -> NodeEvent:
        return cls(x.read_node(el), _ts(el), *_alt_ids(el), namespace=ns)

    return parse


_PARSERS: dict[str, Callable[[ET.Element, str], NodeEvent]] = {
    "nodeAdded": _parse_added,
    "nodeUpdated": _parse_updated,
    "nodeStatusChanged": _parse_status,
    "nodeRemoved": _reference_parser(NodeRemoved),
    "nodeMovedUp": _reference_parser(NodeMovedUp),
    "nodeMovedDown": _reference_parser(NodeMovedDown),
}


@x.guard
def parse_event(el: ET.Element) -> NodeEvent:
    """Read a data source event (any of the six), recording its namespace."""
    ns, local = x.expect(el, NAMESPACES, _PARSERS)
    return _PARSERS[local](el, ns)
