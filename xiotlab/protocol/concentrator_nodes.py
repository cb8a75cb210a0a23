"""What a concentrator tells about itself: capabilities, data sources, nodes, commands.

The values and answer elements of ``urn:nfi:iot:concentrator:1.0`` (and its
older names), shared by the requests of :mod:`.concentrator` and the events
of :mod:`.concentrator_events`. The protocol, its limits and where the page
and the schema disagree are described in :mod:`.concentrator`.

Answers (payloads of an iq result), each built in the namespace of its
request (``ns=request.namespace``):

* ``<strings><value>getNode</value>…</strings>``: the operations supported
  (:func:`build_strings`);
* ``<dataSources><dataSource src name hasChildren lastChanged/>…``
  (:func:`build_data_sources`);
* ``<bool>true</bool>`` and ``<bools><bool>…</bool>…</bools>``;
* ``<nodeInfo id src pt … state hasChildren …>`` with parameter and message
  children, and ``<nodeInfos>`` of several (:class:`NodeInfo`);
* ``<commands><command command name type …/>…`` (:class:`NodeCommand`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..errors import ProtocolError
from . import elements as x
from .namespaces import CONCENTRATOR, CONCENTRATOR_ALIASES
from .values import (
    Duration,
    NodeRef,
    as_utc,
    check_xml_text,
    format_boolean,
    format_datetime,
    format_double,
    format_integer,
    format_time,
    parse_boolean,
    parse_double,
    parse_integer,
    parse_time,
)

__all__ = [
    "NAMESPACES", "DIALECT", "MAX_NODES", "MAX_ITEMS", "MAX_DETAILS", "MAX_TEXT_LENGTH",
    "NodeState", "MessageType", "ParameterType", "CommandType",
    "DataSource", "NodeParameter", "NodeMessage", "NodeInfo", "NodeCommand",
    "build_strings", "parse_strings", "build_data_sources", "parse_data_sources",
    "build_bool", "parse_bool", "build_bools", "parse_bools",
    "build_node_info", "parse_node_info", "build_node_infos", "parse_node_infos",
    "build_commands", "parse_commands",
    "write_node_info", "read_node_info", "write_message", "read_message", "read_enum", "element",
]  # fmt: skip

NAMESPACES: tuple[str, ...] = (CONCENTRATOR, *CONCENTRATOR_ALIASES)
"""Every namespace of the concentrator protocol, the current one first."""

DIALECT = "concentrator"

MAX_NODES = 1000
"""Most node references (``<nd>``) a request may carry, and most ``<bool>`` in ``<bools>``."""

MAX_ITEMS = 10_000
"""Most entries of a list answer (node infos, data sources, commands, strings) or ``onlyIfDerivedFrom``."""

MAX_DETAILS = 256
"""Most parameters, and most messages, of one node (in a node info or an event)."""

MAX_TEXT_LENGTH = 65_536
"""Most characters of a human-readable text: a name, a display name, a message, a string parameter."""

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


class NodeState(enum.Enum):
    """``NodeState``: the worst kind of message logged on a node, and whether it was signed (acknowledged)."""

    NONE = "None"
    INFORMATION = "Information"
    WARNING_SIGNED = "WarningSigned"
    WARNING_UNSIGNED = "WarningUnsigned"
    ERROR_SIGNED = "ErrorSigned"
    ERROR_UNSIGNED = "ErrorUnsigned"


class MessageType(enum.Enum):
    """``MessageType`` of a node message."""

    ERROR = "Error"
    WARNING = "Warning"
    INFORMATION = "Information"


class ParameterType(enum.Enum):
    """The element name, and so the type, of a node parameter."""

    BOOLEAN = "boolean"
    COLOR = "color"
    DATETIME = "dateTime"
    DOUBLE = "double"
    DURATION = "duration"
    INT = "int"
    LONG = "long"
    STRING = "string"
    TIME = "time"


class CommandType(enum.Enum):
    """``CommandType``: ``Parameterized`` commands take a data form, ``Query`` ones also report progress."""

    SIMPLE = "Simple"
    PARAMETERIZED = "Parameterized"
    QUERY = "Query"


def _text(value: object, what: str) -> str:
    return check_xml_text(value, what)


def _optional(value: object, what: str) -> str | None:
    return None if value is None else check_xml_text(value, what)


def _time(value: dt.datetime | None, what: str) -> dt.datetime | None:
    return None if value is None else as_utc(value, what)


def _enum_value(cls: type[E], value: object, what: str) -> E:
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in cls)
        raise ValueError(f"{what} must be a {cls.__name__} ({choices}), not {value!r}") from None


def _tuple_of(values: Iterable[T], cls: type[T], what: str) -> tuple[T, ...]:
    if isinstance(values, (str, cls)):
        raise TypeError(f"{what} must be a sequence of {cls.__name__}, not a single one; wrap it: ({values!r},)")
    items = tuple(values)
    for item in items:
        if not isinstance(item, cls):
            raise TypeError(f"{what} must be {cls.__name__} instances, not {item!r}")
    return items


# --- the values -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DataSource:
    """A data source (``<dataSource>``): ``id`` is its ``src``, the identity node references use."""

    id: str
    name: str
    has_children: bool = False
    last_changed: dt.datetime | None = None

    def __post_init__(self) -> None:
        _text(self.id, "data source id")
        _text(self.name, "data source name")
        object.__setattr__(self, "has_children", bool(self.has_children))
        object.__setattr__(self, "last_changed", _time(self.last_changed, "last_changed"))


_COLOR = re.compile(r"[0-9a-fA-F]{6}")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def _infer(value: object) -> ParameterType:
    if isinstance(value, bool):
        return ParameterType.BOOLEAN
    if isinstance(value, int):
        return ParameterType.INT if _INT32[0] <= value <= _INT32[1] else ParameterType.LONG
    if isinstance(value, float):
        return ParameterType.DOUBLE
    if isinstance(value, str):
        return ParameterType.STRING
    if isinstance(value, dt.datetime):
        return ParameterType.DATETIME
    if isinstance(value, dt.time):
        return ParameterType.TIME
    if isinstance(value, (Duration, dt.timedelta)):
        return ParameterType.DURATION
    raise TypeError(f"a node parameter cannot hold {type(value).__name__}; give its type explicitly")


ParameterValue = bool | int | float | str | dt.datetime | dt.time | Duration


def _coerce(ptype: ParameterType, value: object, what: str) -> ParameterValue:
    """``value`` as the Python value of a ``ptype`` parameter; ``TypeError``/``ValueError`` otherwise."""
    wrong = TypeError(f"{what} of type {ptype.value} cannot be {value!r}")
    if ptype is ParameterType.BOOLEAN:
        if not isinstance(value, bool):
            raise wrong
        return value
    if ptype in (ParameterType.INT, ParameterType.LONG):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        low, high = _INT32 if ptype is ParameterType.INT else _INT64
        if not low <= value <= high:
            raise ValueError(f"{what} {value} does not fit xs:{ptype.value} ({low}..{high})")
        return value
    if ptype is ParameterType.DOUBLE:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        return float(value)
    if ptype is ParameterType.STRING:
        return _text(value, what)
    if ptype is ParameterType.COLOR:
        if not isinstance(value, str) or not _COLOR.fullmatch(value):
            raise ValueError(f"{what} must be a color of 6 hexadecimal digits (RRGGBB), not {value!r}")
        return value
    if ptype is ParameterType.DATETIME:
        return as_utc(value, what)  # type: ignore[arg-type]  # as_utc refuses what is not a datetime
    if ptype is ParameterType.TIME:
        if not isinstance(value, dt.time):
            raise wrong
        return value
    if isinstance(value, dt.timedelta):
        return Duration.from_timedelta(value)
    if not isinstance(value, Duration):
        raise wrong
    return value


@dataclasses.dataclass(frozen=True)
class NodeParameter:
    """A node parameter (``<string id name value/>`` and the like); ``type`` is inferred from ``value`` if None.

    Give ``type`` for a color (``ParameterType.COLOR``, ``"3399FF"``) or to
    send a small int as ``long``.
    """

    id: str
    name: str
    value: ParameterValue
    type: ParameterType = None  # type: ignore[assignment]  # inferred in __post_init__

    def __post_init__(self) -> None:
        _text(self.id, "parameter id")
        _text(self.name, "parameter name")
        ptype = _infer(self.value) if self.type is None else _enum_value(ParameterType, self.type, "type")
        object.__setattr__(self, "type", ptype)
        object.__setattr__(self, "value", _coerce(ptype, self.value, f"parameter {self.id!r}"))


@dataclasses.dataclass(frozen=True)
class NodeMessage:
    """A message logged on a node (``<message timestamp type eventId>text</message>``)."""

    text: str
    timestamp: dt.datetime
    type: MessageType = MessageType.INFORMATION
    event_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.text, "message text")
        object.__setattr__(self, "timestamp", as_utc(self.timestamp, "message timestamp"))
        object.__setattr__(self, "type", _enum_value(MessageType, self.type, "message type"))
        _optional(self.event_id, "message event id")


@dataclasses.dataclass(frozen=True)
class NodeInfo:
    """What a concentrator tells about one node (``<nodeInfo>``, and the body of node events).

    ``id``/``source``/``partition`` address it (``id``/``src``/``pt``);
    ``parent_id`` and ``parent_partition`` name its parent (same source), none
    for a root. ``parameters`` and ``messages`` are sent only when the request
    asked for them.
    """

    id: str
    source: str | None = None
    partition: str | None = None
    display_name: str | None = None
    node_type: str | None = None
    state: NodeState = NodeState.NONE
    has_children: bool = False
    children_ordered: bool = False
    is_readable: bool = False
    is_controllable: bool = False
    has_commands: bool = False
    sniffable: bool = False
    parent_id: str | None = None
    parent_partition: str | None = None
    last_changed: dt.datetime | None = None
    local_id: str | None = None
    log_id: str | None = None
    parameters: tuple[NodeParameter, ...] = ()
    messages: tuple[NodeMessage, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        _text(self.id, "node id")
        for name in ("source", "partition", "display_name", "node_type", "parent_id", "parent_partition"):
            _optional(getattr(self, name), name)
        for name in ("local_id", "log_id"):
            _optional(getattr(self, name), name)
        set_(self, "state", _enum_value(NodeState, self.state, "state"))
        for name in _FLAG_FIELDS:
            set_(self, name, bool(getattr(self, name)))
        set_(self, "last_changed", _time(self.last_changed, "last_changed"))
        set_(self, "parameters", _tuple_of(self.parameters, NodeParameter, "parameters"))
        set_(self, "messages", _tuple_of(self.messages, NodeMessage, "messages"))

    @property
    def node(self) -> NodeRef:
        """The node's reference, for readouts, control and the other requests."""
        return NodeRef(self.id, self.source, self.partition)

    @property
    def parent(self) -> NodeRef | None:
        """The parent's reference (in the same source), or None for a root node."""
        return None if self.parent_id is None else NodeRef(self.parent_id, self.source, self.parent_partition)


_FLAG_FIELDS = ("has_children", "children_ordered", "is_readable", "is_controllable", "has_commands", "sniffable")
_FLAG_ATTRIBUTES = ("hasChildren", "childrenOrdered", "isReadable", "isControllable", "hasCommands", "sniffable")


@dataclasses.dataclass(frozen=True)
class NodeCommand:
    """A command a node offers (``<command command name type …/>``); ``command`` is its machine id."""

    command: str
    name: str
    type: CommandType = CommandType.SIMPLE
    sort_category: str | None = None
    sort_key: str | None = None
    confirmation_string: str | None = None
    failure_string: str | None = None
    success_string: str | None = None

    def __post_init__(self) -> None:
        _text(self.command, "command id")
        _text(self.name, "command name")
        object.__setattr__(self, "type", _enum_value(CommandType, self.type, "command type"))
        for name in ("sort_category", "sort_key", "confirmation_string", "failure_string", "success_string"):
            _optional(getattr(self, name), name)


# --- shared reading and writing ----------------------------------------------------------------


def element(local: str, ns: str, **attributes: str | None) -> ET.Element:
    """A ``local`` element in ``ns`` (one of :data:`NAMESPACES`) with the attributes that are not None."""
    x.check_namespace(ns, NAMESPACES, DIALECT)
    el = ET.Element(x.qname(ns, local))
    for name, value in attributes.items():
        if value is not None:
            el.set(name, x.xml_text(value, f"attribute {name}"))
    return el


def read_enum(el: ET.Element, name: str, cls: type[E]) -> E:
    """A required attribute holding one of ``cls``'s values."""
    text = x.required(el, name, x.MAX_NAME_LENGTH)
    try:
        return cls(text)
    except ValueError:
        choices = ", ".join(str(m.value) for m in cls)
        raise ProtocolError(f"{x.where(el, name)} is {text!r}; it must be one of {choices}") from None


def _read_text(el: ET.Element, what: str, limit: int = MAX_TEXT_LENGTH) -> str:
    text = el.text or ""
    if not isinstance(text, str):
        raise ProtocolError(f"the text of {x.describe(el)} is not text")
    if len(text) > limit:
        raise ProtocolError(
            f"the {what} in {x.describe(el)} is {len(text)} characters long; xiotlab takes at most {limit}. "
            "The sender should shorten it"
        )
    return text


def _each(parent: ET.Element, ns: str, local: str, limit: int, what: str) -> Iterator[ET.Element]:
    """The children ``local`` of ``parent`` in ``ns``, refusing more than ``limit``; others are skipped."""
    tag = x.qname(ns, local)
    count = 0
    for child in parent:
        if child.tag == tag:
            count += 1
            x.check_limit(count, limit, what, parent)
            yield child


def _list(el: ET.Element, name: str, item: str, parse: Callable[[ET.Element], T], what: str) -> tuple[T, ...]:
    """``parse`` of each ``item`` child of a ``name`` list answer."""
    ns, _ = x.expect(el, NAMESPACES, (name,))
    return tuple(parse(child) for child in _each(el, ns, item, MAX_ITEMS, what))


# --- strings (getCapabilities) ------------------------------------------------------------------


def build_strings(values: Iterable[str], *, ns: str = CONCENTRATOR) -> ET.Element:
    """``<strings><value>…</value>…</strings>``: the answer to ``getCapabilities`` (operation names)."""
    el = element("strings", ns)
    for value in _tuple_of(values, str, "strings"):
        ET.SubElement(el, x.qname(ns, "value")).text = x.xml_text(value, "a string")
    return el


@x.guard
def parse_strings(el: ET.Element) -> tuple[str, ...]:
    """The values of ``<strings>``, each at most :data:`~.elements.MAX_NAME_LENGTH` characters."""
    return _list(el, "strings", "value", lambda v: _read_text(v, "string", x.MAX_NAME_LENGTH), "strings")


# --- data sources -----------------------------------------------------------------------------


def build_data_sources(sources: Iterable[DataSource], *, ns: str = CONCENTRATOR) -> ET.Element:
    """``<dataSources>``: the answer to ``getAllDataSources``, ``getRootDataSources``, ``getChildDataSources``."""
    el = element("dataSources", ns)
    for source in _tuple_of(sources, DataSource, "data sources"):
        child = ET.SubElement(el, x.qname(ns, "dataSource"), src=source.id, name=source.name)
        x.put_true(child, "hasChildren", source.has_children)
        x.put(child, "lastChanged", None if source.last_changed is None else format_datetime(source.last_changed))
    return el


def _read_data_source(el: ET.Element) -> DataSource:
    return DataSource(
        x.required(el, "src", x.MAX_NAME_LENGTH),
        x.required(el, "name", MAX_TEXT_LENGTH),
        x.boolean(el, "hasChildren"),
        x.timestamp(el, "lastChanged"),
    )


@x.guard
def parse_data_sources(el: ET.Element) -> tuple[DataSource, ...]:
    """The data sources of ``<dataSources>``."""
    return _list(el, "dataSources", "dataSource", _read_data_source, "data sources")


# --- bool, bools (containsNode, containsNodes) -------------------------------------------------


def build_bool(value: bool, *, ns: str = CONCENTRATOR) -> ET.Element:
    """``<bool>true</bool>``: the answer to ``containsNode``."""
    el = element("bool", ns)
    el.text = format_boolean(value)
    return el


def _read_bool(el: ET.Element) -> bool:
    return parse_boolean(_read_text(el, "boolean", 64), x.describe(el))


@x.guard
def parse_bool(el: ET.Element) -> bool:
    """The value of ``<bool>``."""
    x.expect(el, NAMESPACES, ("bool",))
    return _read_bool(el)


def build_bools(values: Iterable[bool], *, ns: str = CONCENTRATOR) -> ET.Element:
    """``<bools>``, one ``<bool>`` per node of a ``containsNodes``, in its order."""
    el = element("bools", ns)
    for value in values:
        el.append(build_bool(value, ns=ns))
    return el


@x.guard
def parse_bools(el: ET.Element) -> tuple[bool, ...]:
    """The values of ``<bools>``."""
    ns, _ = x.expect(el, NAMESPACES, ("bools",))
    return tuple(_read_bool(child) for child in _each(el, ns, "bool", MAX_NODES, "booleans"))


# --- node infos -------------------------------------------------------------------------------


def _format_parameter(parameter: NodeParameter) -> str:
    ptype, value = parameter.type, parameter.value
    if ptype is ParameterType.BOOLEAN:
        return format_boolean(bool(value))
    if ptype in (ParameterType.INT, ParameterType.LONG):
        return format_integer(value)  # type: ignore[arg-type]
    if ptype is ParameterType.DOUBLE:
        return format_double(value)  # type: ignore[arg-type]
    if ptype is ParameterType.DATETIME:
        return format_datetime(value)  # type: ignore[arg-type]
    if ptype is ParameterType.TIME:
        return format_time(value)  # type: ignore[arg-type]
    return str(value)  # string, color, duration


def _parse_parameter(el: ET.Element, ptype: ParameterType) -> NodeParameter:
    text = x.required(el, "value", MAX_TEXT_LENGTH)
    where = x.where(el, "value")
    value: ParameterValue
    if ptype is ParameterType.BOOLEAN:
        value = parse_boolean(text, where)
    elif ptype in (ParameterType.INT, ParameterType.LONG):
        value = parse_integer(text, where, bits=32 if ptype is ParameterType.INT else 64)
    elif ptype is ParameterType.DOUBLE:
        value = parse_double(text, where)[0]
    elif ptype is ParameterType.DATETIME:
        value = x.timestamp(el, "value")  # type: ignore[assignment]  # present: required above
    elif ptype is ParameterType.TIME:
        value = parse_time(text, where)
    elif ptype is ParameterType.DURATION:
        value = Duration.parse(text, where)
    elif ptype is ParameterType.COLOR:
        if not _COLOR.fullmatch(text):
            raise ProtocolError(f"{where} is {text!r}; a color is 6 hexadecimal digits (RRGGBB)")
        value = text
    else:
        value = text
    return NodeParameter(x.required(el, "id", x.MAX_NAME_LENGTH), x.required(el, "name", MAX_TEXT_LENGTH), value, ptype)


def write_message(parent: ET.Element, ns: str, message: NodeMessage) -> None:
    """Append ``<message timestamp type eventId>text</message>`` to ``parent``."""
    child = ET.SubElement(
        parent, x.qname(ns, "message"), timestamp=format_datetime(message.timestamp), type=message.type.value
    )
    x.put(child, "eventId", message.event_id)
    child.text = message.text


def read_message(el: ET.Element) -> NodeMessage:
    """A ``<message>`` child of a node info or a status event."""
    stamp = x.timestamp(el, "timestamp")
    if stamp is None:
        raise x.missing(el, "timestamp")
    return NodeMessage(
        _read_text(el, "message"),
        stamp,
        read_enum(el, "type", MessageType),
        x.optional(el, "eventId", x.MAX_NAME_LENGTH),
    )


def write_node_info(el: ET.Element, ns: str, info: NodeInfo) -> None:
    """Write ``info``'s attributes and parameter and message children onto ``el`` (a node info or node event)."""
    el.set("id", info.id)
    for name, value in (
        ("src", info.source),
        ("pt", info.partition),
        ("localId", info.local_id),
        ("logId", info.log_id),
        ("displayName", info.display_name),
        ("nodeType", info.node_type),
    ):
        x.put(el, name, value)
    el.set("state", info.state.value)
    el.set("hasChildren", format_boolean(info.has_children))
    for field, attribute in zip(_FLAG_FIELDS[1:], _FLAG_ATTRIBUTES[1:], strict=True):
        x.put_true(el, attribute, getattr(info, field))
    x.put(el, "parentId", info.parent_id)
    x.put(el, "parentPartition", info.parent_partition)
    x.put(el, "lastChanged", None if info.last_changed is None else format_datetime(info.last_changed))
    for parameter in info.parameters:
        ET.SubElement(
            el,
            x.qname(ns, parameter.type.value),
            id=parameter.id,
            name=parameter.name,
            value=_format_parameter(parameter),
        )
    for message in info.messages:
        write_message(el, ns, message)


_PARAMETER_TYPES = {p.value: p for p in ParameterType}


def read_node_info(el: ET.Element, ns: str) -> NodeInfo:
    """The node info on ``el`` (a ``<nodeInfo>``, ``<nodeAdded>`` or ``<nodeUpdated>`` in ``ns``)."""
    if el.get("hasChildren") is None:
        raise x.missing(el, "hasChildren")
    node = x.read_node(el)
    parameters: list[NodeParameter] = []
    messages: list[NodeMessage] = []
    for local, child in x.children(el, ns):
        if local == "message":
            messages.append(read_message(child))
            x.check_limit(len(messages), MAX_DETAILS, "messages", el)
        elif local in _PARAMETER_TYPES:
            parameters.append(_parse_parameter(child, _PARAMETER_TYPES[local]))
            x.check_limit(len(parameters), MAX_DETAILS, "parameters", el)
    name = x.MAX_NAME_LENGTH
    flags = {field: x.boolean(el, attribute) for field, attribute in zip(_FLAG_FIELDS, _FLAG_ATTRIBUTES, strict=True)}
    return NodeInfo(
        node.id,
        node.source,
        node.partition,
        display_name=x.optional(el, "displayName", MAX_TEXT_LENGTH),
        node_type=x.optional(el, "nodeType", name),
        state=read_enum(el, "state", NodeState),
        parent_id=x.optional(el, "parentId", name),
        parent_partition=x.optional(el, "parentPartition", name),
        last_changed=x.timestamp(el, "lastChanged"),
        local_id=x.optional(el, "localId", name),
        log_id=x.optional(el, "logId", name),
        parameters=tuple(parameters),
        messages=tuple(messages),
        **flags,
    )


def build_node_info(info: NodeInfo, *, ns: str = CONCENTRATOR) -> ET.Element:
    """``<nodeInfo>``: the answer to ``getNode``."""
    if not isinstance(info, NodeInfo):
        raise TypeError(f"build_node_info takes a NodeInfo, not {info!r}")
    el = element("nodeInfo", ns)
    write_node_info(el, ns, info)
    return el


@x.guard
def parse_node_info(el: ET.Element) -> NodeInfo:
    """Read a ``<nodeInfo>``."""
    ns, _ = x.expect(el, NAMESPACES, ("nodeInfo",))
    return read_node_info(el, ns)


def build_node_infos(infos: Iterable[NodeInfo], *, ns: str = CONCENTRATOR) -> ET.Element:
    """``<nodeInfos>``: the answer to ``getNodes``, ``getAllNodes``, ``getRootNodes``, ``getChildNodes``,
    ``getAncestors``."""
    el = element("nodeInfos", ns)
    for info in _tuple_of(infos, NodeInfo, "node infos"):
        el.append(build_node_info(info, ns=ns))
    return el


@x.guard
def parse_node_infos(el: ET.Element) -> tuple[NodeInfo, ...]:
    """The node infos of ``<nodeInfos>``, in order (for ``getAncestors``: the node first, its root last)."""
    ns = x.expect(el, NAMESPACES, ("nodeInfos",))[0]
    return _list(el, "nodeInfos", "nodeInfo", lambda child: read_node_info(child, ns), "node infos")


# --- commands ---------------------------------------------------------------------------------

_COMMAND_TEXTS = (
    ("sortCategory", "sort_category", x.MAX_NAME_LENGTH),
    ("sortKey", "sort_key", x.MAX_NAME_LENGTH),
    ("confirmationString", "confirmation_string", MAX_TEXT_LENGTH),
    ("failureString", "failure_string", MAX_TEXT_LENGTH),
    ("successString", "success_string", MAX_TEXT_LENGTH),
)


def build_commands(commands: Iterable[NodeCommand], *, ns: str = CONCENTRATOR) -> ET.Element:
    """``<commands>``: the answer to ``getNodeCommands``."""
    el = element("commands", ns)
    for command in _tuple_of(commands, NodeCommand, "commands"):
        child = ET.SubElement(
            el, x.qname(ns, "command"), command=command.command, name=command.name, type=command.type.value
        )
        for attribute, field, _ in _COMMAND_TEXTS:
            x.put(child, attribute, getattr(command, field))
    return el


def _read_command(el: ET.Element) -> NodeCommand:
    return NodeCommand(
        x.required(el, "command", x.MAX_NAME_LENGTH),
        x.required(el, "name", MAX_TEXT_LENGTH),
        read_enum(el, "type", CommandType),
        **{field: x.optional(el, attribute, limit) for attribute, field, limit in _COMMAND_TEXTS},
    )


@x.guard
def parse_commands(el: ET.Element) -> tuple[NodeCommand, ...]:
    """The commands of ``<commands>``."""
    return _list(el, "commands", "command", _read_command, "commands")
