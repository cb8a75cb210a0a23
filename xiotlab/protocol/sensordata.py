"""Sensor data readout, ``urn:nfi:iot:sd:1.0`` and its older names.

The same elements exist under ``urn:nf:iot:sd:1.0`` and
``urn:ieee:iot:sd:1.0``; every ``build_*`` takes the namespace to write
(``ns=``, default the current one), every ``parse_*`` reads all three and
records the one it met in the result's ``namespace``, so that a thing can
answer in the namespace it was asked in.

The flow (SensorDataRequestResponse.md), client on the left::

    iq get  <req id=..>            ->
            <-  iq result: <resp id=..>  (all data at once, small devices)
             or iq result: <started id=..>   then messages with <resp>
             or iq result: <accepted id=.. queued=..>  then message <started>?, messages <resp>
    message <resp more="true">...   fragments; the last has more="false" (or no more)
    message <done id=..>            when the device learns only later that it is done
    iq set  <cancel id=..>         ->  empty iq result

Errors travel inside the data as ``<err>`` beside the fields of a timestamp
(:class:`ReadoutError`); a refused request is an ordinary iq error.
Request ids are invented by the client and unique per client full JID: a
thing keys pending requests by (requester full JID, id).

Limits: a request or subscription may name at most :data:`MAX_FIELD_NAMES`
fields and :data:`MAX_NODES` nodes, a response may carry at most
:data:`MAX_RESPONSE_ITEMS` fields and errors; a request's id (which the
answers echo) and node ids, sources and partitions may be at most
:data:`~.elements.MAX_NAME_LENGTH` characters long, tokens at most
:data:`~.elements.MAX_TOKEN_LENGTH`; parsers refuse more with
:class:`~xiotlab.errors.ProtocolError`. Unknown elements and attributes are
ignored, as the specification allows for extensions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable

from ..errors import ProtocolError
from . import elements as x
from . import series as runs
from .namespaces import SENSOR_DATA, SENSOR_DATA_ALIASES
from .values import (
    CATEGORY_ATTRIBUTES,
    QOS_ATTRIBUTES,
    UTC,
    Category,
    Field,
    NodeRef,
    QoS,
    ReadoutError,
    ValueType,
    as_utc,
    check_xml_text,
    format_datetime,
    format_double,
    parse_value,
)

__all__ = [
    "NAMESPACES", "MAX_FIELD_NAMES", "MAX_NODES", "MAX_RESPONSE_ITEMS", "ELEMENTS",
    "ReadoutRequest", "Accepted", "RequestNotice", "Started", "Done", "Cancel", "ReadoutResponse",
    "build_request", "parse_request", "build_accepted", "parse_accepted", "build_started", "parse_started",
    "build_done", "parse_done", "build_cancel", "parse_cancel", "build_response", "parse_response",
    "build_data", "parse_data", "build_field", "parse_field", "parse",
]  # fmt: skip

NAMESPACES: tuple[str, ...] = (SENSOR_DATA, *SENSOR_DATA_ALIASES)
"""Every namespace of this dialect, the current one first."""

MAX_FIELD_NAMES = 1000
"""Most field names a request or subscription may name."""

MAX_NODES = 1000
"""Most node references a request or subscription may name."""

MAX_RESPONSE_ITEMS = 10_000
"""Most fields plus errors one ``<resp>`` may carry; bigger readouts come in fragments."""

ELEMENTS: dict[ValueType, str] = {
    ValueType.QUANTITY: "q",
    ValueType.BOOLEAN: "b",
    ValueType.INTEGER: "i",
    ValueType.LONG: "l",
    ValueType.STRING: "s",
    ValueType.ENUM: "e",
    ValueType.DATE: "d",
    ValueType.TIME: "t",
    ValueType.DATETIME: "dt",
    ValueType.DURATION: "dr",
}
"""Element name of each field type."""

_TYPES = {name: vtype for vtype, name in ELEMENTS.items()}
_FIELD_NAMES = tuple(_TYPES)

# Qualified tags, once per namespace rather than once per element.
_FIELD_TAGS = {ns: {vtype: x.qname(ns, name) for vtype, name in ELEMENTS.items()} for ns in NAMESPACES}
_TS_TAGS = {ns: x.qname(ns, "ts") for ns in NAMESPACES}
_ND_TAGS = {ns: x.qname(ns, "nd") for ns in NAMESPACES}
_ERR_TAGS = {ns: x.qname(ns, "err") for ns in NAMESPACES}
_DATA_CHILDREN = {ns: x.tag_table(ns, ("nd", "ts")) for ns in NAMESPACES}  # of <resp>
_NODE_CHILDREN = {ns: x.tag_table(ns, ("ts",)) for ns in NAMESPACES}  # of <nd>
_TIMESTAMP_CHILDREN = {ns: x.tag_table(ns, ("err", *_FIELD_NAMES)) for ns in NAMESPACES}  # of <ts>

CATEGORIES = x.FlagTable(CATEGORY_ATTRIBUTES, Category(0))
"""The category attributes of requests, subscriptions and fields."""

QOS = x.FlagTable(QOS_ATTRIBUTES, QoS(0))
"""The QoS attributes of fields."""

# Looked up once for the per-field code: finding an enum member by attribute costs about 50 ns.
_QUANTITY = ValueType.QUANTITY
_ENUM = ValueType.ENUM
_DIALECT = "sensor data"


def _limit(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise ValueError(f"at most {limit} {what} fit one request; split it into several")


def _when(value: dt.datetime | None, what: str) -> dt.datetime | None:
    return None if value is None else as_utc(value, what)


def _check_id(value: str, what: str = "request id") -> None:
    check_xml_text(value, what)


def _check_categories(value: Category) -> None:
    if not isinstance(value, Category):
        raise TypeError(f"categories must be Category flags, not {value!r}")


@dataclasses.dataclass(frozen=True)
class ReadoutRequest:
    """A request for sensor data (``<req>``).

    Attributes:
        id: request id, invented by the client, unique per client full JID.
        categories: which field categories to return; ``Category.ALL`` by default.
        fields: field names to return; empty means all.
        nodes: concentrator nodes to read; empty means the device itself.
        from_time, to_time: only fields stamped within these bounds (UTC).
        when: when to perform the readout; the device answers ``accepted queued``.
        service_token, device_token, user_token: provisioning tokens, space separated.
        namespace: the namespace the request came in (answer in it); not compared.
    """

    id: str
    categories: Category = Category.ALL
    fields: tuple[str, ...] = ()
    nodes: tuple[NodeRef, ...] = ()
    from_time: dt.datetime | None = None
    to_time: dt.datetime | None = None
    when: dt.datetime | None = None
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    namespace: str = dataclasses.field(default=SENSOR_DATA, compare=False)

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_categories(self.categories)
        set_ = object.__setattr__
        set_(self, "fields", x.texts(self.fields, "field names"))
        set_(self, "nodes", x.node_refs(self.nodes))
        _limit(len(self.fields), MAX_FIELD_NAMES, "field names")
        _limit(len(self.nodes), MAX_NODES, "nodes")
        for name in ("from_time", "to_time", "when"):
            set_(self, name, _when(getattr(self, name), name))
        for name in ("service_token", "device_token", "user_token"):
            if getattr(self, name) is not None:
                check_xml_text(getattr(self, name), name)
        # Asked for every category (nearly every request is): any field passes that test. Not a
        # dataclass field, so neither compared nor shown; includes() runs for every reported value.
        set_(self, "_every_category", (self.categories or Category.ALL) == Category.ALL)

    def includes(self, field: Field) -> bool:
        """Whether ``field`` belongs in the answer to this request.

        A field passes when its name was asked for (or none were), its
        timestamp lies within from/to, its node was asked for (a request
        naming no node wants the device's own fields: a concentrator's
        nodes are read only when named), and it shares a category with the
        request. A field
        without categories always passes the category test, and a request
        naming no category at all is taken to want every category.
        """
        if self.fields and field.name not in self.fields:
            return False
        if self.from_time is not None and field.timestamp < self.from_time:
            return False
        if self.to_time is not None and field.timestamp > self.to_time:
            return False
        if self.nodes:
            if not any(ref.names(field.node) for ref in self.nodes):
                return False
        elif field.node is not None:
            return False
        if self._every_category:  # type: ignore[attr-defined]  # set in __post_init__
            return True
        wanted = self.categories or Category.ALL
        return not field.categories or bool(field.categories & wanted)


@dataclasses.dataclass(frozen=True)
class Accepted:
    """The device accepted a request (``<accepted>``); ``queued`` when it runs it later."""

    id: str
    queued: bool = False
    namespace: str = dataclasses.field(default=SENSOR_DATA, compare=False)


@dataclasses.dataclass(frozen=True)
class RequestNotice:
    """An element whose whole content is the id of the request it is about."""

    id: str
    namespace: str = dataclasses.field(default=SENSOR_DATA, compare=False)


@dataclasses.dataclass(frozen=True)
class Started(RequestNotice):
    """The device started the readout (``<started>``); data follows in messages."""


@dataclasses.dataclass(frozen=True)
class Done(RequestNotice):
    """The readout is complete (``<done>``), sent when the last ``<resp>`` did not say so."""


@dataclasses.dataclass(frozen=True)
class Cancel(RequestNotice):
    """The client cancels a request (``<cancel>``, in an iq set; answered by an empty result)."""


@dataclasses.dataclass(frozen=True)
class ReadoutResponse:
    """Sensor data answering a request or reporting an event (``<resp>``).

    Attributes:
        id: the request (or subscription) id.
        fields: the fields, each with its timestamp and node.
        errors: errors the device reported.
        more: more fragments follow; ``False`` on the last one.
        namespace: the namespace it came in; not compared.
    """

    id: str
    fields: tuple[Field, ...] = ()
    errors: tuple[ReadoutError, ...] = ()
    more: bool = False
    namespace: str = dataclasses.field(default=SENSOR_DATA, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "errors", tuple(self.errors))

    @property
    def done(self) -> bool:
        """No more fragments follow."""
        return not self.more


SensorDataElement = ReadoutRequest | Accepted | Started | Done | Cancel | ReadoutResponse


# --- attribute groups and selections, shared with events and the legacy dialect -----------


def read_categories(element: ET.Element) -> Category:
    """The categories of a request, subscription or field; ``all="true"`` means all."""
    if x.boolean(element, "all"):
        return Category.ALL
    return x.read_flags(element, CATEGORIES)


def write_categories(element: ET.Element, categories: Category) -> None:
    """Categories of a request or subscription: ``all="true"`` for all, else one attribute each."""
    if categories == Category.ALL:
        element.set("all", "true")
    else:
        x.write_flags(element, categories, CATEGORIES)


def read_selection(
    element: ET.Element,
    ns: str,
    *,
    max_nodes: int,
    max_fields: int,
    node_id_required: bool = True,
    node: str = "nd",
    field: str = "f",
    node_attributes: tuple[str, str, str] = x.NODE_ATTRIBUTES,
) -> tuple[tuple[NodeRef, ...], list[ET.Element]]:
    """The node references and the field elements of a request or subscription, limits enforced.

    ``node``, ``field`` and ``node_attributes`` are the dialect's names for them.
    """
    nodes: list[NodeRef] = []
    fields: list[ET.Element] = []
    for local, child in x.children(element, ns):
        if local == node:
            nodes.append(x.read_node(child, node_attributes, id_required=node_id_required))
            x.check_limit(len(nodes), max_nodes, "node references", element)
        elif local == field:
            fields.append(child)
            x.check_limit(len(fields), max_fields, "field names", element)
    return tuple(nodes), fields


def group_by_node_and_time(items: Iterable) -> dict:
    """``{node: {timestamp: [items]}}`` of fields and errors, groups in order of first appearance.

    Both dialects nest data as node, then timestamp, then values.
    """
    groups: dict = {}
    for item in items:
        if not isinstance(item, (Field, ReadoutError)):
            raise TypeError(f"expected Field or ReadoutError, not {item!r}")
        groups.setdefault(item.node, {}).setdefault(item.timestamp, []).append(item)
    return groups


# --- requests ---------------------------------------------------------------------------


def build_request(request: ReadoutRequest, *, ns: str = SENSOR_DATA) -> ET.Element:
    """``<req>`` for an iq of type get."""
    x.check_namespace(ns, NAMESPACES, _DIALECT)
    element = ET.Element(x.qname(ns, "req"), id=request.id)
    write_categories(element, request.categories)
    for name in ("from", "to", "when"):
        value = getattr(request, "when" if name == "when" else f"{name}_time")
        if value is not None:
            element.set(name, format_datetime(value))
    x.write_tokens(element, request.service_token, request.device_token, request.user_token)
    x.add_nodes(element, _ND_TAGS[ns], request.nodes)
    for name in request.fields:
        ET.SubElement(element, x.qname(ns, "f"), n=name)
    return element


@x.guard
def parse_request(element: ET.Element) -> ReadoutRequest:
    """Read a ``<req>`` in any of the dialect's namespaces."""
    ns, _ = x.expect(element, NAMESPACES, ("req",))
    nodes, fields = read_selection(element, ns, max_nodes=MAX_NODES, max_fields=MAX_FIELD_NAMES)
    return ReadoutRequest(
        id=x.required(element, "id", x.MAX_NAME_LENGTH),
        categories=read_categories(element),
        fields=tuple(x.required(f, "n") for f in fields),
        nodes=nodes,
        from_time=x.timestamp(element, "from"),
        to_time=x.timestamp(element, "to"),
        when=x.timestamp(element, "when"),
        namespace=ns,
        **x.read_tokens(element),
    )


# --- the small acknowledgements -------------------------------------------------------------


def _build_ref(local: str, request_id: str, ns: str) -> ET.Element:
    x.check_namespace(ns, NAMESPACES, _DIALECT)
    _check_id(request_id)
    return ET.Element(x.qname(ns, local), id=request_id)


def build_accepted(request_id: str, *, queued: bool = False, ns: str = SENSOR_DATA) -> ET.Element:
    """``<accepted>`` for the iq result; ``queued`` when the readout runs later."""
    element = _build_ref("accepted", request_id, ns)
    x.put_true(element, "queued", queued)
    return element


def build_started(request_id: str, *, ns: str = SENSOR_DATA) -> ET.Element:
    """``<started>``, in the iq result or in a message after ``accepted``."""
    return _build_ref("started", request_id, ns)


def build_done(request_id: str, *, ns: str = SENSOR_DATA) -> ET.Element:
    """``<done>``, in a message, when the last fragment did not say it was the last."""
    return _build_ref("done", request_id, ns)


def build_cancel(request_id: str, *, ns: str = SENSOR_DATA) -> ET.Element:
    """``<cancel>``, in an iq set."""
    return _build_ref("cancel", request_id, ns)


@x.guard
def parse_accepted(element: ET.Element) -> Accepted:
    """Read ``<accepted>``."""
    ns, _ = x.expect(element, NAMESPACES, ("accepted",))
    return Accepted(x.required(element, "id"), x.boolean(element, "queued"), namespace=ns)


@x.guard
def parse_started(element: ET.Element) -> Started:
    """Read ``<started>``."""
    ns, _ = x.expect(element, NAMESPACES, ("started",))
    return Started(x.required(element, "id"), namespace=ns)


@x.guard
def parse_done(element: ET.Element) -> Done:
    """Read ``<done>``."""
    ns, _ = x.expect(element, NAMESPACES, ("done",))
    return Done(x.required(element, "id"), namespace=ns)


@x.guard
def parse_cancel(element: ET.Element) -> Cancel:
    """Read ``<cancel>``."""
    ns, _ = x.expect(element, NAMESPACES, ("cancel",))
    return Cancel(x.required(element, "id"), namespace=ns)


# --- fields ------------------------------------------------------------------------------------


def build_field(field: Field, *, ns: str = SENSOR_DATA) -> ET.Element:
    """One field element (``<q>``, ``<b>``, ...); node and timestamp go in the enclosing elements."""
    x.check_namespace(ns, NAMESPACES, _DIALECT)
    return ET.Element(_FIELD_TAGS[ns][field.type], _field_attributes(field))


def _field_attributes(field: Field) -> dict[str, str]:
    """The attributes of a field element, in the order they are written."""
    vtype = field.type
    if vtype is _QUANTITY:
        # Its lexical_value, without the dispatch on the type.
        value = format_double(field.value, field.decimals)  # type: ignore[arg-type]  # Field makes a quantity a float
        attributes = {"n": field.name, "v": value}
        if field.unit is not None:
            attributes["u"] = field.unit
    else:
        attributes = {"n": field.name, "v": field.lexical_value}
        if vtype is _ENUM:
            attributes["t"] = field.enum_type or ""
    # Flags and booleans default to false: only the true ones are written.
    for name in CATEGORIES.names(field.categories):
        attributes[name] = "true"
    for name in QOS.names(field.qos):
        attributes[name] = "true"
    if field.writable:
        attributes["ctr"] = "true"
    if field.localization_namespace is not None:
        attributes["lns"] = field.localization_namespace
    if field.localization is not None:
        attributes["loc"] = field.localization
    return attributes


@x.guard
def parse_field(element: ET.Element, *, timestamp: dt.datetime | None = None, node: NodeRef | None = None) -> Field:
    """Read one field element; ``timestamp`` and ``node`` come from the enclosing ``<ts>``/``<nd>``.

    Without a ``timestamp`` the field is stamped now.
    """
    _, local = x.expect(element, NAMESPACES, _FIELD_NAMES)
    return _read_field(element, _TYPES[local], timestamp if timestamp is not None else dt.datetime.now(UTC), node)


def _read_field(element: ET.Element, vtype: ValueType, timestamp: dt.datetime, node: NodeRef | None) -> Field:
    # parse_field without the checks of the element's name and of the caller's arguments: responses
    # call it for every field. Attributes are read in the order they always were, so that of
    # several faults the same one is reported.
    value, decimals = x.lexical(element, "v", parse_value, vtype, x.required(element, "v"))
    return Field.from_parser(
        name=x.required(element, "n"),
        value=value,
        type=vtype,
        timestamp=timestamp,
        unit=x.optional(element, "u") if vtype is _QUANTITY else None,
        decimals=decimals if vtype is _QUANTITY else None,
        enum_type=(x.optional(element, "t") or "") if vtype is _ENUM else None,
        categories=read_categories(element),  # reads the all="true" IoTGateway writes on fields
        qos=x.read_flags(element, QOS),
        writable=x.boolean(element, "ctr"),
        node=node,
        localization_namespace=x.optional(element, "lns"),
        localization=x.optional(element, "loc"),
    )


# --- data: <nd> and <ts> -------------------------------------------------------------------------


def build_data(
    fields: Iterable[Field] = (), errors: Iterable[ReadoutError] = (), *, ns: str = SENSOR_DATA, series: bool = False
) -> list[ET.Element]:
    """The ``<nd>`` or ``<ts>`` elements carrying fields and errors, grouped by node and timestamp.

    Fields of a plain device give ``<ts>`` elements, fields of concentrator
    nodes give ``<nd>`` elements; the schema forbids mixing the two in one
    response, so mixing raises ``ValueError``. Groups keep the order in which
    their first item appears. The elements are what a ``<resp>`` holds, and
    what the specification publishes as is over PEP.

    ``series=True`` writes the runs of many values of one field as xiotlab's
    extension (:mod:`.series`), for a reader that announced it, when its reader
    gets the fields back in the order the plain form gives (values in time
    order, as a live stream reports them); otherwise the plain form.
    """
    x.check_namespace(ns, NAMESPACES, _DIALECT)
    tails: dict[int, list[Field]] = {}
    if series:
        fields = list(fields)
        kept, tails = runs.gather(fields)
        if tails and _read_back(kept, tails) != _in_groups(fields):
            tails = {}  # runs would come back in another order than the plain form gives: send it plain
        else:
            fields = kept
    groups = group_by_node_and_time((*fields, *errors))
    if None in groups and len(groups) > 1:
        raise ValueError(
            "a response reports either a plain device (fields without node) or concentrator nodes, "
            "not both; send them in separate responses"
        )
    ts_tag, err_tag, field_tags = _TS_TAGS[ns], _ERR_TAGS[ns], _FIELD_TAGS[ns]
    elements = []
    for node, stamps in groups.items():
        parent = ET.Element("device") if node is None else x.node_element(_ND_TAGS[ns], node)
        for stamp, items in stamps.items():
            ts = ET.SubElement(parent, ts_tag, v=format_datetime(stamp))
            # Fields first, errors after: the schema allows any order, readers expect this one.
            for item in items:
                if isinstance(item, Field):
                    element = ET.SubElement(ts, field_tags[item.type], _field_attributes(item))
                    if tails and id(item) in tails:
                        element.append(runs.build(item, tails[id(item)], ns))
            for item in items:
                if isinstance(item, ReadoutError):
                    ET.SubElement(ts, err_tag).text = item.message
        elements.extend(list(parent) if node is None else [parent])
    return elements


class _Budget:
    """Counts fields and errors across one response against :data:`MAX_RESPONSE_ITEMS`."""

    def __init__(self, element: ET.Element) -> None:
        self.element = element
        self.used = 0
        self.runs = False  # whether runs of values (xiotlab's extension) were read: see _in_time_order

    def spend(self) -> None:
        self.used += 1
        if self.used > MAX_RESPONSE_ITEMS:
            x.check_limit(self.used, MAX_RESPONSE_ITEMS, "fields and errors", self.element)  # raises


@x.guard
def parse_data(element: ET.Element) -> tuple[list[Field], list[ReadoutError]]:
    """Read one ``<nd>`` or ``<ts>`` element into its fields and errors."""
    ns, local = x.expect(element, NAMESPACES, ("nd", "ts"))
    fields: list[Field] = []
    errors: list[ReadoutError] = []
    budget = _Budget(element)
    _read_data(element, local, ns, fields, errors, budget)
    if budget.runs:
        _in_time_order(fields)
    return fields, errors


def _in_groups(fields: list[Field]) -> list[int]:
    """The fields (their ids) in the order a reader of the plain form gets them: by node, then timestamp."""
    return [id(f) for stamps in group_by_node_and_time(fields).values() for group in stamps.values() for f in group]


def _read_back(kept: list[Field], tails: dict[int, list[Field]]) -> list[int]:
    """The fields (their ids) in the order a reader gets them when ``kept`` carry the runs ``tails``."""
    read = [
        f
        for stamps in group_by_node_and_time(kept).values()
        for group in stamps.values()
        for head in group
        for f in (head, *tails.get(id(head), ()))
    ]
    _in_time_order(read)
    return [id(f) for f in read]


def _in_time_order(fields: list[Field]) -> None:
    """Order fields read with runs as the plain form orders them: by node as first met, then by time."""
    rank: dict[NodeRef | None, int] = {}
    for field in fields:
        rank.setdefault(field.node, len(rank))
    fields.sort(key=lambda field: (rank[field.node], field.timestamp))


def _read_data(element, local, ns, fields, errors, budget) -> None:
    """Read an ``<nd>`` or ``<ts>`` (``local``) into ``fields`` and ``errors``."""
    if local == "nd":
        node = x.read_node(element)
        for _, child in x.known_children(element, _NODE_CHILDREN[ns]):
            _read_timestamp(child, ns, fields, errors, budget, node)
    else:
        _read_timestamp(element, ns, fields, errors, budget, None)


def _read_timestamp(element, ns, fields, errors, budget, node) -> None:
    stamp = x.timestamp(element, "v")
    if stamp is None:
        raise x.missing(element, "v")
    for local, child in x.known_children(element, _TIMESTAMP_CHILDREN[ns]):
        budget.spend()
        if local == "err":
            errors.append(ReadoutError(child.text or "", stamp, node))  # xs:string: no children to read
            continue
        try:
            field = _read_field(child, _TYPES[local], stamp, node)
            fields.append(field)
            run = runs.find(child, ns)
            if run is not None:
                more = runs.read(run, field, MAX_RESPONSE_ITEMS - budget.used)
                budget.used += len(more)
                budget.runs = True
                fields.extend(more)
        except ProtocolError:
            raise
        except x.UNFORESEEN as exc:
            raise x.unforeseen(child, exc) from exc  # what parse_field's guard says: the field is named


# --- responses ------------------------------------------------------------------------------------


def build_response(
    request_id: str,
    fields: Iterable[Field] = (),
    errors: Iterable[ReadoutError] = (),
    *,
    more: bool = False,
    ns: str = SENSOR_DATA,
    series: bool = False,
) -> ET.Element:
    """``<resp>`` with fields and errors; ``more=True`` on every fragment but the last.

    Goes in the iq result for a quick readout, in a message otherwise. See
    :func:`build_data` for the grouping rules and ``series``.
    """
    element = _build_ref("resp", request_id, ns)
    x.put_true(element, "more", more)
    element.extend(build_data(fields, errors, ns=ns, series=series))
    return element


@x.guard
def parse_response(element: ET.Element) -> ReadoutResponse:
    """Read ``<resp>``: all its fields and errors, flat, each with its timestamp and node."""
    ns, _ = x.expect(element, NAMESPACES, ("resp",))
    fields: list[Field] = []
    errors: list[ReadoutError] = []
    budget = _Budget(element)
    for local, child in x.known_children(element, _DATA_CHILDREN[ns]):
        _read_data(child, local, ns, fields, errors, budget)
    if budget.runs:
        _in_time_order(fields)
    return ReadoutResponse(
        id=x.required(element, "id"),
        fields=tuple(fields),
        errors=tuple(errors),
        more=x.boolean(element, "more"),
        namespace=ns,
    )


_PARSERS: dict[str, Callable[[ET.Element], SensorDataElement]] = {
    "req": parse_request,
    "accepted": parse_accepted,
    "started": parse_started,
    "done": parse_done,
    "cancel": parse_cancel,
    "resp": parse_response,
}


@x.guard
def parse(element: ET.Element) -> SensorDataElement:
    """Read any top-level element of the dialect (req, accepted, started, done, cancel, resp)."""
    return x.dispatch(element, NAMESPACES, _PARSERS)
