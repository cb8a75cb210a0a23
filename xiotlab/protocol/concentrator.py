"""Concentrators, ``urn:nfi:iot:concentrator:1.0`` and its older names: many nodes behind one JID.

A concentrator serves a tree of *nodes*, optionally grouped in *data
sources* (``src``) and partitions (``pt``); a node is addressed by
``id``/``src``/``pt``, here and in the readout, event and control requests
(``<nd id src pt/>``, :class:`~.values.NodeRef`). A missing ``src`` or ``pt``
means the empty string. A bridge is a concentrator whose nodes stand for
things of another network. What is asked, and what the concentrator answers
(in the namespace it was asked in; ``ns=request.namespace``)::

    iq get <getCapabilities/>                   ->  <strings><value>op</value>…</strings>   (mandatory)
    iq get <getAllDataSources/>                 ->  <dataSources><dataSource src name hasChildren lastChanged/>…
    iq get <getRootDataSources/>                ->  <dataSources>
    iq get <getChildDataSources src/>           ->  <dataSources>
    iq get <containsNode id src pt/>            ->  <bool>true|false</bool>
    iq get <containsNodes><nd/>…</containsNodes>   ->  <bools><bool/>…</bools>, one per nd, in order
    iq get <getNode id src pt parameters messages/>  ->  <nodeInfo …/>
    iq get <getNodes parameters messages><nd/>…      ->  <nodeInfos><nodeInfo/>…</nodeInfos>
    iq get <getAllNodes src parameters messages><onlyIfDerivedFrom>type</…>…  ->  <nodeInfos>
    iq get <getRootNodes src parameters messages/>   ->  <nodeInfos>
    iq get <getChildNodes id src pt parameters messages/>  ->  <nodeInfos>
    iq get <getAncestors id src pt parameters messages/>   ->  <nodeInfos>, the node first, then up to its root
    iq get <getNodeCommands id src pt/>         ->  <commands><command command name type …/>…</commands>
    iq get <getCommandParameters id src pt command/>  ->  an xd:x data form of the command's parameters
    iq set <executeNodeCommand id src pt command>[xd:x submit]  ->  empty result; when the form is wrong,
                                                    an iq error carrying the form with its errors
    iq set <subscribe src ttl getEventsSince parameters messages nodeAdded=… …/>  ->  empty result
    iq set <unsubscribe src nodeAdded=… …/>     ->  empty result
    message <nodeAdded/> <nodeUpdated/> <nodeStatusChanged/> <nodeRemoved/> <nodeMovedUp/> <nodeMovedDown/>

Every request may carry tokens (``st``/``dt``/``ut``). Failures are XMPP
errors: ``item-not-found`` (no such node or source), ``forbidden``,
``bad-request``, ``feature-not-implemented`` (an operation not in the
capabilities). Requests are :class:`Request` subclasses, built and read by
:func:`build_request`/:func:`parse_request` (``parse`` also reads events);
their ``ANSWER`` names the element the concentrator answers with (None: an
empty result). Answers and events are built and read by
:mod:`.concentrator_nodes` and :mod:`.concentrator_events`, whose names this
module re-exports.

Modelled: the operations of :data:`MODELLED_OPERATIONS` and all six data
source events (the four the issue names and ``nodeMovedUp``/``nodeMovedDown``,
whose flags ``subscribe`` carries anyway). Not modelled: node editing
(``…ParametersForEdit``, ``createNewNode``, ``destroyNode``, addable types),
moving, ``getNodeInheritance``, the ``…Common…`` set operations, queries
(``executeNodeQuery``, ``queryProgress``) and sniffers. :data:`OPERATIONS`
lists every operation the schema defines.

Limits: ids, sources, partitions, command ids, node types and the other
identifiers at most :data:`~.elements.MAX_NAME_LENGTH` characters, tokens
:data:`~.elements.MAX_TOKEN_LENGTH`, human-readable texts
:data:`MAX_TEXT_LENGTH`; at most :data:`MAX_NODES` ``nd`` in a request,
:data:`MAX_ITEMS` entries in a list answer, :data:`MAX_DETAILS` parameters or
messages per node. More raises ``ProtocolError`` saying what and how much.

Where the page (Concentrator.md) and Concentrator.xsd disagree, or the schema
is wrong, this module follows the schema where it can and says so here:

* ``getAllNodes`` and ``getRootNodes``: the page makes ``src`` optional, the
  schema (``SourceReferenceParametersRequest``) requires it. Builders always
  write it (``""`` for a concentrator without data sources, which is what a
  missing attribute means by the page); parsers read a missing one as ``""``.
* ``containsNodes`` is answered by ``<bools>`` (page), but the schema defines
  ``bools`` only as a type, with no element. We send ``<bools>``.
* ``ts``, ``timestamp``, ``command`` (and ``queryId``, ``snifferId``, …) are
  declared globally and referenced (``<xs:attribute ref=…>``), which by XML
  Schema's rules makes them namespace-qualified attributes. The page lists
  them as plain attributes like all others; we write and read them
  unqualified.
* ``NodeReferenceEvent`` (``nodeStatusChanged``, ``nodeRemoved``, moves)
  repeats its base type's ``id``/``src``/``pt``; lxml refuses the schema.
* The ``Color`` pattern ``^[0-9a-fA-F]{6}$`` has anchors, which XML Schema
  regexes do not have (they are literal characters there); colors are six
  hexadecimal digits, ``RRGGBB``.
* ``CommandType`` spells ``Parameterized`` (the page's prose says
  "parametrized"); the wire value is the schema's.
* The page says ``getChildNodes`` answers "root nodes in the source" (copied
  from ``getRootNodes``): it answers the node's children.
* The page has no XML examples; tests build theirs from its tables.

The tests validate what we build against the schema with the four schema
faults above repaired in memory (``tests/protocol/schema.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, ClassVar

from ..errors import ProtocolError
from . import dataforms
from . import elements as x
from .concentrator_events import (
    EVENT_ATTRIBUTES,
    NodeAdded,
    NodeEvent,
    NodeEvents,
    NodeMovedDown,
    NodeMovedUp,
    NodeRemoved,
    NodeStatusChanged,
    NodeUpdated,
    build_event,
    parse_event,
    read_event_types,
    write_event_types,
)
from .concentrator_nodes import (
    MAX_DETAILS,
    MAX_ITEMS,
    MAX_NODES,
    MAX_TEXT_LENGTH,
    NAMESPACES,
    CommandType,
    DataSource,
    MessageType,
    NodeCommand,
    NodeInfo,
    NodeMessage,
    NodeParameter,
    NodeState,
    ParameterType,
    build_bool,
    build_bools,
    build_commands,
    build_data_sources,
    build_node_info,
    build_node_infos,
    build_strings,
    element,
    parse_bool,
    parse_bools,
    parse_commands,
    parse_data_sources,
    parse_node_info,
    parse_node_infos,
    parse_strings,
)
from .namespaces import CONCENTRATOR, DATA_FORMS
from .values import NodeRef, as_utc, check_xml_text, format_datetime, parse_integer

__all__ = [
    "NAMESPACES", "MAX_NODES", "MAX_ITEMS", "MAX_DETAILS", "MAX_TEXT_LENGTH", "OPERATIONS", "MODELLED_OPERATIONS",
    # values
    "NodeState", "MessageType", "ParameterType", "CommandType",
    "DataSource", "NodeParameter", "NodeMessage", "NodeInfo", "NodeCommand",
    # requests
    "Request", "GetCapabilities", "GetAllDataSources", "GetRootDataSources", "GetChildDataSources",
    "ContainsNode", "ContainsNodes", "GetNode", "GetNodes", "GetAllNodes", "GetRootNodes", "GetChildNodes",
    "GetAncestors", "GetNodeCommands", "GetCommandParameters", "ExecuteNodeCommand", "Subscribe", "Unsubscribe",
    "REQUESTS", "build_request", "parse_request",
    # answers
    "build_strings", "parse_strings", "build_data_sources", "parse_data_sources",
    "build_bool", "parse_bool", "build_bools", "parse_bools",
    "build_node_info", "parse_node_info", "build_node_infos", "parse_node_infos",
    "build_commands", "parse_commands",
    # events
    "NodeEvents", "EVENT_ATTRIBUTES", "NodeAdded", "NodeUpdated", "NodeStatusChanged", "NodeRemoved",
    "NodeMovedUp", "NodeMovedDown", "NodeEvent", "build_event", "parse_event",
    "parse",
]  # fmt: skip

OPERATIONS = (
    "getCapabilities", "getAllDataSources", "getRootDataSources", "getChildDataSources",
    "containsNode", "containsNodes", "getNode", "getNodes", "getAllNodes", "getNodeInheritance",
    "getRootNodes", "getChildNodes", "getAncestors",
    "getNodeParametersForEdit", "setNodeParametersAfterEdit", "getCommonNodeParametersForEdit",
    "setCommonNodeParametersAfterEdit", "getAddableNodeTypes", "getParametersForNewNode", "createNewNode",
    "destroyNode", "moveNodeUp", "moveNodeDown", "moveNodesUp", "moveNodesDown", "subscribe", "unsubscribe",
    "getNodeCommands", "getCommandParameters", "executeNodeCommand", "executeNodeQuery",
    "getCommonNodeCommands", "getCommonCommandParameters", "executeCommonNodeCommand", "executeCommonNodeQuery",
    "abortNodeQuery", "abortCommonNodeQuery", "registerSniffer", "unregisterSniffer",
)  # fmt: skip
"""Every operation Concentrator.xsd defines, in the page's order: the names ``getCapabilities`` answers with."""


# --- requests -----------------------------------------------------------------------------------


def _check_field(name: str, value: Any) -> Any:
    """``value`` of request field ``name``, checked and normalized (tuples, UTC, flags)."""
    if name == "node":
        if not isinstance(value, NodeRef):
            raise TypeError(f"node must be a NodeRef, not {value!r}")
    elif name == "nodes":
        if isinstance(value, NodeRef):
            raise TypeError(f"nodes must be a sequence of NodeRef; wrap it: ({value!r},)")
        value = tuple(value)
        if not all(isinstance(node, NodeRef) for node in value):
            raise TypeError(f"nodes must be NodeRef instances, not {value!r}")
    elif name in ("source", "command"):
        check_xml_text(value, name)
    elif name == "only_if_derived_from":
        if isinstance(value, str):
            raise TypeError(f"only_if_derived_from must be a sequence of node types; wrap it: ({value!r},)")
        value = tuple(check_xml_text(v, "node type") for v in value)
    elif name in ("parameters", "messages"):
        value = bool(value)
    elif name == "form":
        if value is not None and not isinstance(value, dataforms.DataForm):
            raise TypeError(f"form must be a DataForm or None, not {value!r}")
    elif name == "ttl":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"ttl must be a whole number of seconds >= 1, not {value!r}")
    elif name == "get_events_since":
        value = None if value is None else as_utc(value, "get_events_since")
    elif name == "events":
        if not isinstance(value, NodeEvents):
            raise TypeError(f"events must be NodeEvents flags, not {value!r}")
    elif name in ("service_token", "device_token", "user_token") and value is not None:
        check_xml_text(value, name)
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Request:
    """What every concentrator request has: tokens, and the namespace it came in (not compared).

    ``ELEMENT`` is the request's element name, ``ANSWER`` the element the
    concentrator answers with (``None``: an empty iq result).
    """

    ELEMENT: ClassVar[str] = ""
    ANSWER: ClassVar[str | None] = None
    SOURCE_OPTIONAL: ClassVar[bool] = False

    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    namespace: str = dataclasses.field(default=CONCENTRATOR, compare=False)

    def __post_init__(self) -> None:
        if not self.ELEMENT:
            raise TypeError("Request is abstract; use one of its subclasses (GetNode, GetRootNodes, …)")
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _check_field(field.name, getattr(self, field.name)))


@dataclasses.dataclass(frozen=True)
class GetCapabilities(Request):
    """Which operations the concentrator supports (mandatory); answered by ``<strings>``."""

    ELEMENT: ClassVar[str] = "getCapabilities"
    ANSWER: ClassVar[str | None] = "strings"


@dataclasses.dataclass(frozen=True)
class GetAllDataSources(Request):
    """Every data source (the caller may see); answered by ``<dataSources>``."""

    ELEMENT: ClassVar[str] = "getAllDataSources"
    ANSWER: ClassVar[str | None] = "dataSources"


@dataclasses.dataclass(frozen=True)
class GetRootDataSources(Request):
    """The root data sources; answered by ``<dataSources>``."""

    ELEMENT: ClassVar[str] = "getRootDataSources"
    ANSWER: ClassVar[str | None] = "dataSources"


@dataclasses.dataclass(frozen=True)
class GetChildDataSources(Request):
    """The child data sources of ``source``; answered by ``<dataSources>``."""

    ELEMENT: ClassVar[str] = "getChildDataSources"
    ANSWER: ClassVar[str | None] = "dataSources"

    source: str


@dataclasses.dataclass(frozen=True)
class ContainsNode(Request):
    """Does ``node`` exist (for the caller)? Answered by ``<bool>``."""

    ELEMENT: ClassVar[str] = "containsNode"
    ANSWER: ClassVar[str | None] = "bool"

    node: NodeRef


@dataclasses.dataclass(frozen=True)
class ContainsNodes(Request):
    """Do these nodes exist? Answered by ``<bools>``, one per node, in order."""

    ELEMENT: ClassVar[str] = "containsNodes"
    ANSWER: ClassVar[str | None] = "bools"

    nodes: tuple[NodeRef, ...] = ()


@dataclasses.dataclass(frozen=True)
class GetNode(Request):
    """Information on ``node``, with its parameters and messages if asked; answered by ``<nodeInfo>``."""

    ELEMENT: ClassVar[str] = "getNode"
    ANSWER: ClassVar[str | None] = "nodeInfo"

    node: NodeRef
    parameters: bool = False
    messages: bool = False


@dataclasses.dataclass(frozen=True)
class GetNodes(Request):
    """Information on several nodes; answered by ``<nodeInfos>`` in the order asked."""

    ELEMENT: ClassVar[str] = "getNodes"
    ANSWER: ClassVar[str | None] = "nodeInfos"

    nodes: tuple[NodeRef, ...] = ()
    parameters: bool = False
    messages: bool = False


@dataclasses.dataclass(frozen=True)
class GetAllNodes(Request):
    """Every node of ``source`` (``""``: no data sources), only of the given types if any; ``<nodeInfos>``."""

    ELEMENT: ClassVar[str] = "getAllNodes"
    ANSWER: ClassVar[str | None] = "nodeInfos"
    SOURCE_OPTIONAL: ClassVar[bool] = True

    source: str = ""
    only_if_derived_from: tuple[str, ...] = ()
    parameters: bool = False
    messages: bool = False


@dataclasses.dataclass(frozen=True)
class GetRootNodes(Request):
    """The root nodes of ``source`` (``""``: no data sources); answered by ``<nodeInfos>``."""

    ELEMENT: ClassVar[str] = "getRootNodes"
    ANSWER: ClassVar[str | None] = "nodeInfos"
    SOURCE_OPTIONAL: ClassVar[bool] = True

    source: str = ""
    parameters: bool = False
    messages: bool = False


@dataclasses.dataclass(frozen=True)
class GetChildNodes(Request):
    """The children of ``node``; answered by ``<nodeInfos>``."""

    ELEMENT: ClassVar[str] = "getChildNodes"
    ANSWER: ClassVar[str | None] = "nodeInfos"

    node: NodeRef
    parameters: bool = False
    messages: bool = False


@dataclasses.dataclass(frozen=True)
class GetAncestors(Request):
    """``node`` and its ancestors up to a root, in that order; answered by ``<nodeInfos>``."""

    ELEMENT: ClassVar[str] = "getAncestors"
    ANSWER: ClassVar[str | None] = "nodeInfos"

    node: NodeRef
    parameters: bool = False
    messages: bool = False


@dataclasses.dataclass(frozen=True)
class GetNodeCommands(Request):
    """The commands ``node`` offers; answered by ``<commands>``."""

    ELEMENT: ClassVar[str] = "getNodeCommands"
    ANSWER: ClassVar[str | None] = "commands"

    node: NodeRef


@dataclasses.dataclass(frozen=True)
class GetCommandParameters(Request):
    """The parameters of a parameterized command; answered by a data form (``dataforms.build_form``)."""

    ELEMENT: ClassVar[str] = "getCommandParameters"
    ANSWER: ClassVar[str | None] = "x"

    node: NodeRef
    command: str


@dataclasses.dataclass(frozen=True)
class ExecuteNodeCommand(Request):
    """Run ``command`` on ``node``; ``form`` is the submitted parameters of a parameterized one.

    Answered by an empty result, or, when the parameters are wrong, an iq
    error carrying the form with its errors.
    """

    ELEMENT: ClassVar[str] = "executeNodeCommand"

    node: NodeRef
    command: str
    form: dataforms.DataForm | None = None


@dataclasses.dataclass(frozen=True)
class Subscribe(Request):
    """Hear ``events`` of ``source`` for ``ttl`` seconds (renew before then); an empty result.

    A subscription that exists is renewed and gains ``events`` (none are
    removed). ``get_events_since`` replays events from then on;
    ``parameters``/``messages`` put node parameters and messages in events.
    """

    ELEMENT: ClassVar[str] = "subscribe"

    source: str
    ttl: int
    get_events_since: dt.datetime | None = None
    parameters: bool = False
    messages: bool = False
    events: NodeEvents = NodeEvents.ALL


@dataclasses.dataclass(frozen=True)
class Unsubscribe(Request):
    """Stop hearing ``events`` of ``source`` (all by default); none left ends the subscription. Empty result."""

    ELEMENT: ClassVar[str] = "unsubscribe"

    source: str
    events: NodeEvents = NodeEvents.ALL


REQUESTS: dict[str, type[Request]] = {
    cls.ELEMENT: cls
    for cls in (
        GetCapabilities,
        GetAllDataSources,
        GetRootDataSources,
        GetChildDataSources,
        ContainsNode,
        ContainsNodes,
        GetNode,
        GetNodes,
        GetAllNodes,
        GetRootNodes,
        GetChildNodes,
        GetAncestors,
        GetNodeCommands,
        GetCommandParameters,
        ExecuteNodeCommand,
        Subscribe,
        Unsubscribe,
    )
}
"""The request class of each modelled operation."""

MODELLED_OPERATIONS = tuple(REQUESTS)
"""The operations this module reads and writes; a concentrator's capabilities are a subset of them."""


def build_request(request: Request, *, ns: str = CONCENTRATOR) -> ET.Element:
    """The element of ``request``, in ``ns``: ``<getNode id=.. src=.. pt=.. parameters="true"/>`` and so on."""
    if not isinstance(request, Request) or not request.ELEMENT:
        raise TypeError(f"build_request takes a concentrator request, not {request!r}")
    el = element(request.ELEMENT, ns)
    x.write_tokens(el, request.service_token, request.device_token, request.user_token)
    values = {field.name: getattr(request, field.name) for field in dataclasses.fields(request)}
    if "node" in values:
        el.attrib.update(x.node_element("nd", values["node"]).attrib)
    if "source" in values:
        el.set("src", values["source"])
    if "command" in values:
        el.set("command", values["command"])
    if "ttl" in values:
        el.set("ttl", str(values["ttl"]))
    if values.get("get_events_since") is not None:
        el.set("getEventsSince", format_datetime(values["get_events_since"]))
    for name in ("parameters", "messages"):
        x.put_true(el, name, values.get(name, False))
    if "events" in values:
        write_event_types(el, values["events"])
    x.add_nodes(el, x.qname(ns, "nd"), values.get("nodes", ()))
    for node_type in values.get("only_if_derived_from", ()):
        ET.SubElement(el, x.qname(ns, "onlyIfDerivedFrom")).text = node_type
    if values.get("form") is not None:
        el.append(dataforms.build_form(values["form"]))
    return el


def _ttl(el: ET.Element) -> int:
    ttl = parse_integer(x.required(el, "ttl"), x.where(el, "ttl"), bits=64)
    if ttl < 1:
        raise ProtocolError(f"{x.where(el, 'ttl')} is {ttl}; a subscription lasts at least 1 second")
    return ttl


def _children_text(el: ET.Element, ns: str, local: str) -> tuple[str, ...]:
    found = []
    for name, child in x.children(el, ns):
        if name == local:
            text = child.text or ""
            if len(text) > x.MAX_NAME_LENGTH:
                raise ProtocolError(
                    f"a <{local}> in {x.describe(el)} is {len(text)} characters long; "
                    f"xiotlab takes at most {x.MAX_NAME_LENGTH}"
                )
            found.append(text)
            x.check_limit(len(found), MAX_ITEMS, f"<{local}> elements", el)
    return tuple(found)


def _read_field(el: ET.Element, ns: str, cls: type[Request], name: str) -> Any:
    if name == "node":
        return x.read_node(el)
    if name == "nodes":
        nodes = []
        for local, child in x.children(el, ns):
            if local == "nd":
                nodes.append(x.read_node(child))
                x.check_limit(len(nodes), MAX_NODES, "node references", el)
        return tuple(nodes)
    if name == "source":
        if cls.SOURCE_OPTIONAL:
            return x.optional(el, "src", x.MAX_NAME_LENGTH) or ""
        return x.required(el, "src", x.MAX_NAME_LENGTH)
    if name == "command":
        return x.required(el, "command", x.MAX_NAME_LENGTH)
    if name in ("parameters", "messages"):
        return x.boolean(el, name)
    if name == "only_if_derived_from":
        return _children_text(el, ns, "onlyIfDerivedFrom")
    if name == "form":
        form = el.find(x.qname(DATA_FORMS, "x"))
        return None if form is None else dataforms.parse_form(form)
    if name == "ttl":
        return _ttl(el)
    if name == "get_events_since":
        return x.timestamp(el, "getEventsSince")
    if name == "events":
        return read_event_types(el)
    raise AssertionError(f"no reader for {cls.__name__}.{name}")  # pragma: no cover - every field has one


_COMMON = frozenset(("service_token", "device_token", "user_token", "namespace"))


@x.guard
def parse_request(el: ET.Element) -> Request:
    """Read any modelled request, in any of the namespaces, recording which in ``namespace``."""
    ns, local = x.expect(el, NAMESPACES, REQUESTS)
    cls = REQUESTS[local]
    values = {f.name: _read_field(el, ns, cls, f.name) for f in dataclasses.fields(cls) if f.name not in _COMMON}
    return cls(**values, **x.read_tokens(el), namespace=ns)


_PARSERS: dict[str, Callable[[ET.Element], Request | NodeEvent]] = {
    **dict.fromkeys(REQUESTS, parse_request),
    **dict.fromkeys(EVENT_ATTRIBUTES.values(), parse_event),
}


def parse(el: ET.Element) -> Request | NodeEvent:
    """Read what reaches a concentrator or its subscriber unasked: a request (iq) or an event (message)."""
    return x.dispatch(el, NAMESPACES, _PARSERS)
