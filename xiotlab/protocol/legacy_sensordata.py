"""Legacy sensor data, ``urn:xmpp:iot:sensordata``, as slixmpp 1.17's ``xep_0323`` speaks it.

The retracted XEP-0323 went through several drafts; slixmpp's plugin follows
a 2014 one (v0.2), and what matters for interoperability is what that plugin
sends and accepts, not the last draft. This module reads both and writes what
the plugin understands. It reuses the data model of :mod:`.sensordata`:
requests parse into :class:`~.sensordata.ReadoutRequest`, data and failures
into :class:`~.sensordata.ReadoutResponse`, with ``namespace`` set to
:data:`NAMESPACE` so a thing knows to answer in this dialect. The legacy
request id is the ``seqnr`` attribute, an xs:int, kept as the string it was
written as (the plugin matches answers by that string).

The flow, as the plugin runs it (client on the left)::

    iq get  <req seqnr=..>               ->
            <-  iq result <accepted seqnr queued?>
             or iq error  <rejected seqnr><error>why</error></rejected>
            <-  message <started seqnr>           (only after a queued request)
            <-  message <fields seqnr [done=true]> per node and timestamp; done on the last
            <-  message <failure seqnr [done=true]><error nodeId timestamp>why</error></failure>
    iq get  <cancel seqnr>                ->  iq result <cancelled seqnr> (or rejected)

What the plugin gets wrong, and how this module lives with it:

* Field types: the plugin knows ``numeric``, ``string``, ``boolean``,
  ``dateTime``, ``timeSpan`` and ``enum`` only; ``int``, ``long``, ``date``,
  ``time`` and ``duration`` (later drafts) are silently dropped by its
  client. :func:`build_fields` therefore writes integers as ``numeric``,
  dates and times as ``string`` and durations as ``timeSpan`` unless
  ``xep_types=True``; their lexical forms stay the same. Parsers read every
  name of every draft.
* The ``inProgress`` QoS flag and the ``writable`` attribute are unknown to
  the plugin and lost on its side; the eight ``historicalX`` categories all
  read as :attr:`~.values.Category.HISTORICAL` here, written as
  ``historicalOther`` on fields and ``historical`` in requests.
* Its device side parses ``from``, ``to`` and ``when`` with
  ``strptime("%Y-%m-%dT%H:%M:%S")`` against naive local time: a zone or a
  fraction makes it reject ``when`` and ignore ``from``/``to``.
  :func:`build_request` writes them that way, in this machine's local time.
  Its own timestamps are naive local time too, so zone-less stamps read as
  local time in this dialect (UTC in the current one).
* Its client reads only the last ``<error>`` of a ``<failure>``. Its device
  side cannot send two fields of the same name in one timestamp (the second
  is silently not added), and applies the field filter with the last
  requested name repeated (ask a plugin device for one field, or for all).
* Python values: a plugin user writing ``str(True)`` or ``str(float("nan"))``
  produces ``True`` and ``nan``; parsers here accept them (any letter case).
* Empty node ids: every legacy field sits in a ``<node nodeId=...>``; a
  plain device's fields are written with ``nodeId=""`` and an empty node id
  reads back as no node.
* ``cacheType`` travels in :attr:`~.values.NodeRef.partition`.
* Rejections are an iq of type error holding ``<rejected>`` (v0.2), not a
  standard stanza error; :func:`build_refusal` gives both, to be put side by
  side in the error answer: the plugin hears only ``<rejected>``, other peers
  only the standard ``<error>``. Reading such an answer, :func:`read_error`
  takes the ``<rejected>`` reason as the error's text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from ..errors import ProtocolError, XmppError
from . import elements as x
from . import sensordata, stanza_errors
from .elements import LEGACY_NODE_ATTRIBUTES, LEGACY_TOKEN_ATTRIBUTES
from .namespaces import LEGACY_SENSOR_DATA
from .sensordata import Accepted, Cancel, Done, ReadoutRequest, ReadoutResponse, RequestNotice, Started
from .values import (
    LOCAL,
    UTC,
    Category,
    Field,
    NodeRef,
    QoS,
    ReadoutError,
    ValueType,
    check_localization,
    check_xml_text,
    format_datetime,
    parse_datetime,
    parse_integer,
    parse_value,
)

__all__ = [
    "NAMESPACE", "SLIXMPP_ELEMENTS", "XEP_ELEMENTS", "CATEGORY_NAMES", "QOS_NAMES",
    "Cancelled", "Rejected",
    "build_request", "parse_request", "build_accepted", "parse_accepted", "build_started", "parse_started",
    "build_done", "parse_done", "build_cancel", "parse_cancel", "build_cancelled", "parse_cancelled",
    "build_rejected", "parse_rejected", "build_refusal", "read_error", "build_fields", "parse_fields",
    "build_failure", "parse_failure", "parse",
]  # fmt: skip

NAMESPACE = LEGACY_SENSOR_DATA
"""The one namespace of the legacy dialect."""

_NAMESPACES = (NAMESPACE,)

SLIXMPP_ELEMENTS: dict[ValueType, str] = {
    ValueType.QUANTITY: "numeric",
    ValueType.BOOLEAN: "boolean",
    ValueType.INTEGER: "numeric",
    ValueType.LONG: "numeric",
    ValueType.STRING: "string",
    ValueType.ENUM: "enum",
    ValueType.DATE: "string",
    ValueType.TIME: "string",
    ValueType.DATETIME: "dateTime",
    ValueType.DURATION: "timeSpan",
}
"""Element written for each type by default: only names slixmpp's plugin keeps."""

XEP_ELEMENTS: dict[ValueType, str] = {
    ValueType.QUANTITY: "numeric",
    ValueType.BOOLEAN: "boolean",
    ValueType.INTEGER: "int",
    ValueType.LONG: "long",
    ValueType.STRING: "string",
    ValueType.ENUM: "enum",
    ValueType.DATE: "date",
    ValueType.TIME: "time",
    ValueType.DATETIME: "dateTime",
    ValueType.DURATION: "duration",
}
"""Element written for each type with ``xep_types=True`` (XEP-0323 v0.4 and later)."""

_TYPES = {**{name: vtype for vtype, name in XEP_ELEMENTS.items()}, "timeSpan": ValueType.DURATION}

CATEGORY_NAMES: dict[Category, str] = {
    Category.MOMENTARY: "momentary",
    Category.PEAK: "peak",
    Category.STATUS: "status",
    Category.COMPUTED: "computed",
    Category.IDENTITY: "identity",
    Category.HISTORICAL: "historicalOther",
}
"""Category → attribute written on legacy fields."""

_PLAIN_CATEGORIES: dict[Category, str] = {c: n for c, n in CATEGORY_NAMES.items() if c is not Category.HISTORICAL}
_HISTORICAL_NAMES = (
    "historical",
    "historicalSecond",
    "historicalMinute",
    "historicalHour",
    "historicalDay",
    "historicalWeek",
    "historicalMonth",
    "historicalQuarter",
    "historicalYear",
    "historicalOther",
)

QOS_NAMES: dict[QoS, str] = {
    QoS.MISSING: "missing",
    QoS.IN_PROGRESS: "inProgress",
    QoS.AUTOMATIC_ESTIMATE: "automaticEstimate",
    QoS.MANUAL_ESTIMATE: "manualEstimate",
    QoS.MANUAL_READOUT: "manualReadout",
    QoS.AUTOMATIC_READOUT: "automaticReadout",
    QoS.TIME_OFFSET: "timeOffset",
    QoS.WARNING: "warning",
    QoS.ERROR: "error",
    QoS.SIGNED: "signed",
    QoS.INVOICED: "invoiced",
    QoS.END_OF_SERIES: "endOfSeries",
    QoS.POWER_FAILURE: "powerFailure",
    QoS.INVOICE_CONFIRMED: "invoiceConfirmed",
}
"""QoS flag → legacy attribute name."""

_CATEGORY_TABLE = x.FlagTable(CATEGORY_NAMES, Category(0))
_PLAIN_CATEGORY_TABLE = x.FlagTable(_PLAIN_CATEGORIES, Category(0))
_REQUEST_CATEGORY_TABLE = x.FlagTable({**_PLAIN_CATEGORIES, Category.HISTORICAL: "historical"}, Category(0))
_QOS_TABLE = x.FlagTable(QOS_NAMES, QoS(0))
_HISTORICAL_SET = frozenset(_HISTORICAL_NAMES)


@dataclasses.dataclass(frozen=True)
class Cancelled(RequestNotice):
    """The device confirms a cancellation (``<cancelled>``, legacy only)."""

    namespace: str = dataclasses.field(default=NAMESPACE, compare=False)


@dataclasses.dataclass(frozen=True)
class Rejected:
    """The device refused a request or cancellation (``<rejected>`` in an iq error, legacy only)."""

    id: str
    reason: str = ""
    namespace: str = dataclasses.field(default=NAMESPACE, compare=False)


LegacyElement = ReadoutRequest | Accepted | Started | Done | Cancel | Cancelled | Rejected | ReadoutResponse


# --- helpers -----------------------------------------------------------------------------------


def _seqnr(value: int | str) -> str:
    """The seqnr as written: an xs:int, kept as given so answers echo it exactly."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"seqnr must be an int or a str of digits, not {value!r}")
    parse_integer(value, "the legacy seqnr (request id)", bits=32)
    return value


def _element(local: str, seqnr: int | str) -> ET.Element:
    return ET.Element(x.qname(NAMESPACE, local), seqnr=_seqnr(seqnr))


def _read_seqnr(element: ET.Element) -> str:
    text = x.required(element, "seqnr")
    x.lexical(element, "seqnr", parse_integer, text, bits=32)
    return text


def _boolean(element: ET.Element, name: str) -> bool:
    return x.boolean(element, name, lenient=True)


def _read_categories(element: ET.Element) -> Category:
    if _boolean(element, "all"):
        return Category.ALL
    categories = x.read_flags(element, _PLAIN_CATEGORY_TABLE, lenient=True)
    # Absent attributes read as false: only an element carrying one of them needs the probes.
    if not element.attrib.keys().isdisjoint(_HISTORICAL_SET) and any(
        _boolean(element, name) for name in _HISTORICAL_NAMES
    ):
        categories |= Category.HISTORICAL
    return categories


def _stamp(element: ET.Element, name: str) -> dt.datetime | None:
    return x.timestamp(element, name, naive_tz=LOCAL)


def _plugin_time(value: dt.datetime) -> str:
    """Naive local time to the second: the only form the plugin's strptime accepts."""
    return value.astimezone().strftime("%Y-%m-%dT%H:%M:%S")


# --- requests --------------------------------------------------------------------------------------


def build_request(request: ReadoutRequest) -> ET.Element:
    """``<req seqnr=..>`` for an iq get; ``request.id`` must be an integer (the seqnr).

    ``from``, ``to`` and ``when`` are written in local time to the second,
    the form the plugin's device side parses.
    """
    element = _element("req", request.id)
    if request.categories == Category.ALL:
        element.set("all", "true")
    else:
        x.write_flags(element, request.categories, _REQUEST_CATEGORY_TABLE)
    for name, value in (("from", request.from_time), ("to", request.to_time), ("when", request.when)):
        x.put(element, name, None if value is None else _plugin_time(value))
    x.write_tokens(
        element, request.service_token, request.device_token, request.user_token, names=LEGACY_TOKEN_ATTRIBUTES
    )
    x.add_nodes(element, x.qname(NAMESPACE, "node"), request.nodes, LEGACY_NODE_ATTRIBUTES)
    for name in request.fields:
        ET.SubElement(element, x.qname(NAMESPACE, "field"), name=name)
    return element


def _node_element(local: str, node: NodeRef | None) -> ET.Element:
    """``<node>`` or ``<error>`` naming ``node``; a plain device has the empty id."""
    return x.node_element(x.qname(NAMESPACE, local), node or NodeRef(""), LEGACY_NODE_ATTRIBUTES)


def _read_node(element: ET.Element) -> NodeRef:
    return x.read_node(element, LEGACY_NODE_ATTRIBUTES)


@x.guard
def parse_request(element: ET.Element) -> ReadoutRequest:
    """Read a legacy ``<req>``; zone-less times are local time."""
    x.expect(element, _NAMESPACES, ("req",))
    nodes, fields = sensordata.read_selection(
        element,
        NAMESPACE,
        max_nodes=sensordata.MAX_NODES,
        max_fields=sensordata.MAX_FIELD_NAMES,
        node="node",
        field="field",
        node_attributes=LEGACY_NODE_ATTRIBUTES,
    )
    return ReadoutRequest(
        id=_read_seqnr(element),
        categories=_read_categories(element),
        fields=tuple(x.required(f, "name") for f in fields),
        nodes=nodes,
        from_time=_stamp(element, "from"),
        to_time=_stamp(element, "to"),
        when=_stamp(element, "when"),
        namespace=NAMESPACE,
        **x.read_tokens(element, LEGACY_TOKEN_ATTRIBUTES),
    )


# --- acknowledgements ------------------------------------------------------------------------------


def build_accepted(seqnr: int | str, *, queued: bool = False) -> ET.Element:
    """``<accepted>`` for the iq result."""
    element = _element("accepted", seqnr)
    x.put_true(element, "queued", queued)
    return element


def build_started(seqnr: int | str) -> ET.Element:
    """``<started>``, in a message, when a queued readout begins."""
    return _element("started", seqnr)


def build_done(seqnr: int | str) -> ET.Element:
    """``<done>`` (later drafts; the plugin ignores it and reads ``fields done="true"`` instead)."""
    return _element("done", seqnr)


def build_cancel(seqnr: int | str) -> ET.Element:
    """``<cancel>``; the plugin expects it in an iq of type get."""
    return _element("cancel", seqnr)


def build_cancelled(seqnr: int | str) -> ET.Element:
    """``<cancelled>`` for the iq result confirming a cancellation."""
    return _element("cancelled", seqnr)


def build_rejected(seqnr: int | str, reason: str) -> ET.Element:
    """``<rejected><error>reason</error></rejected>`` for an iq of type error."""
    element = _element("rejected", seqnr)
    ET.SubElement(element, x.qname(NAMESPACE, "error")).text = check_xml_text(reason, "a rejection reason")
    return element


def _simple_parser(local: str, make):
    @x.guard
    def parser(element: ET.Element):
        x.expect(element, _NAMESPACES, (local,))
        return make(element, _read_seqnr(element))

    parser.__name__ = f"parse_{local}"
    parser.__qualname__ = parser.__name__
    parser.__doc__ = f"Read a legacy ``<{local}>``."
    return parser


parse_accepted = _simple_parser("accepted", lambda e, s: Accepted(s, _boolean(e, "queued"), namespace=NAMESPACE))
parse_started = _simple_parser("started", lambda e, s: Started(s, namespace=NAMESPACE))
parse_done = _simple_parser("done", lambda e, s: Done(s, namespace=NAMESPACE))
parse_cancel = _simple_parser("cancel", lambda e, s: Cancel(s, namespace=NAMESPACE))
parse_cancelled = _simple_parser("cancelled", lambda e, s: Cancelled(s))


def _reason(element: ET.Element) -> str:
    for local, child in x.children(element, NAMESPACE):
        if local == "error":
            return child.text or ""
    return ""


parse_rejected = _simple_parser("rejected", lambda e, s: Rejected(s, _reason(e)))


def build_refusal(
    request: ET.Element, reason: str, *, condition: str = "bad-request", kind: str = "modify"
) -> tuple[ET.Element, ET.Element]:
    """The two children of an iq error refusing legacy ``request``: ``(<error/>, <rejected>)``.

    Without ``<rejected>`` the plugin never tells its caller; without the
    standard error, other peers see no condition. ``TypeError``/``ValueError``
    (see :func:`build_rejected`) when the request's ``seqnr`` cannot be
    echoed: then only a standard error can answer.
    """
    rejected = build_rejected(request.get("seqnr", ""), reason)
    return stanza_errors.build_error(condition, reason, kind=kind), rejected


def read_error(answer: ET.Element) -> XmppError:
    """The exception an iq error answering a legacy request stands for (a reader for the runtime).

    What :func:`.stanza_errors.read_error` makes of it, with the reason of a
    ``<rejected>`` beside the error, which says more than its condition, as
    its text.
    """
    rejected = answer.find(x.qname(NAMESPACE, "rejected"))
    reason = ""
    if rejected is not None:
        try:
            reason = parse_rejected(rejected).reason
        except ProtocolError:
            pass  # a reason that cannot be read adds nothing to the condition
    return stanza_errors.read_error(answer, reason=reason)


# --- fields ----------------------------------------------------------------------------------------


def _build_field(field: Field, names: dict[ValueType, str]) -> ET.Element:
    element = ET.Element(x.qname(NAMESPACE, names[field.type]), name=field.name, value=field.lexical_value)
    if field.type is ValueType.QUANTITY:
        x.put(element, "unit", field.unit)
    elif field.type is ValueType.ENUM:
        element.set("dataType", field.enum_type or "")
    x.write_flags(element, field.categories, _CATEGORY_TABLE)
    x.write_flags(element, field.qos, _QOS_TABLE)
    x.put_true(element, "writable", field.writable)
    x.put(element, "module", field.localization_namespace)
    x.put(element, "stringIds", field.localization)
    return element


def build_fields(
    seqnr: int | str, fields: Iterable[Field], *, done: bool = True, xep_types: bool = False
) -> ET.Element:
    """``<fields>`` for a message; ``done=True`` on the last one of a readout.

    Element names are the ones slixmpp's plugin keeps (:data:`SLIXMPP_ELEMENTS`)
    unless ``xep_types`` asks for the later drafts' (:data:`XEP_ELEMENTS`).
    """
    names = XEP_ELEMENTS if xep_types else SLIXMPP_ELEMENTS
    element = _element("fields", seqnr)
    x.put_true(element, "done", done)

    fields = tuple(fields)
    if any(not isinstance(f, Field) for f in fields):
        raise TypeError("build_fields takes Field objects; report errors with build_failure")
    for node, stamps in sensordata.group_by_node_and_time(fields).items():
        parent = _node_element("node", node)
        for stamp, group in stamps.items():
            ts = ET.SubElement(parent, x.qname(NAMESPACE, "timestamp"), value=format_datetime(stamp))
            ts.extend(_build_field(f, names) for f in group)
        element.append(parent)
    return element


def _read_stringids(element: ET.Element) -> str | None:
    text = x.optional(element, "stringIds")
    try:
        return None if text is None else check_localization(text)
    except ValueError:
        return None  # localization is cosmetic; a malformed one must not cost the value


def _parse_field(element: ET.Element, local: str, stamp: dt.datetime, node: NodeRef | None) -> Field:
    vtype = _TYPES[local]
    value, decimals = x.lexical(
        element, "value", parse_value, vtype, x.required(element, "value"), naive_tz=LOCAL, lenient=True
    )
    return Field.from_parser(
        name=x.required(element, "name"),
        value=value,
        type=vtype,
        timestamp=stamp,
        unit=x.optional(element, "unit") if vtype is ValueType.QUANTITY else None,
        decimals=decimals,
        enum_type=(x.optional(element, "dataType") or "") if vtype is ValueType.ENUM else None,
        categories=_read_categories(element),
        qos=x.read_flags(element, _QOS_TABLE, lenient=True),
        writable=_boolean(element, "writable"),
        node=node,
        localization_namespace=x.optional(element, "module"),
        localization=_read_stringids(element),
    )


def _nodes(element: ET.Element):
    """``(node or None, child)`` for each ``<node>`` child; the empty id means the device itself."""
    for local, child in x.children(element, NAMESPACE):
        if local == "node":
            node = _read_node(child)
            yield (node if node.id or node.source or node.partition else None), child


@x.guard
def parse_fields(element: ET.Element) -> ReadoutResponse:
    """Read a legacy ``<fields>``; ``more`` is true unless it says ``done``."""
    x.expect(element, _NAMESPACES, ("fields",))
    seqnr = _read_seqnr(element)
    fields: list[Field] = []
    for node, node_element in _nodes(element):
        for local, ts in x.children(node_element, NAMESPACE):
            if local != "timestamp":
                continue
            stamp = _stamp(ts, "value")
            if stamp is None:
                raise x.missing(ts, "value")
            for field_local, child in x.children(ts, NAMESPACE):
                if field_local in _TYPES:
                    fields.append(_parse_field(child, field_local, stamp, node))
                    x.check_limit(len(fields), sensordata.MAX_RESPONSE_ITEMS, "fields", element)
    return ReadoutResponse(seqnr, tuple(fields), more=not _boolean(element, "done"), namespace=NAMESPACE)


# --- failures --------------------------------------------------------------------------------------


def build_failure(seqnr: int | str, errors: Iterable[ReadoutError], *, done: bool = True) -> ET.Element:
    """``<failure>`` with one ``<error>`` per error (the plugin reads only the last: put the main one there)."""
    element = _element("failure", seqnr)
    x.put_true(element, "done", done)
    for error in errors:
        if not isinstance(error, ReadoutError):
            raise TypeError(f"build_failure takes ReadoutError objects, not {error!r}")
        child = _node_element("error", error.node)
        child.set("timestamp", format_datetime(error.timestamp))
        child.text = error.message
        element.append(child)
    return element


def _error_time(element: ET.Element) -> dt.datetime:
    # The schema types this timestamp as a plain string: an unreadable one is no error,
    # and the time of receipt is the best stand-in.
    try:
        return parse_datetime(x.required(element, "timestamp"), naive_tz=LOCAL).astimezone(UTC)
    except (ProtocolError, OverflowError):
        return dt.datetime.now(UTC)


@x.guard
def parse_failure(element: ET.Element) -> ReadoutResponse:
    """Read a legacy ``<failure>`` into a response carrying only errors."""
    x.expect(element, _NAMESPACES, ("failure",))
    seqnr = _read_seqnr(element)
    errors: list[ReadoutError] = []
    for local, child in x.children(element, NAMESPACE):
        if local == "error":
            node = _read_node(child)
            errors.append(ReadoutError(child.text or "", _error_time(child), node if node.id else None))
            x.check_limit(len(errors), sensordata.MAX_RESPONSE_ITEMS, "errors", element)
    return ReadoutResponse(seqnr, errors=tuple(errors), more=not _boolean(element, "done"), namespace=NAMESPACE)


_PARSERS = {
    "req": parse_request,
    "accepted": parse_accepted,
    "started": parse_started,
    "done": parse_done,
    "cancel": parse_cancel,
    "cancelled": parse_cancelled,
    "rejected": parse_rejected,
    "fields": parse_fields,
    "failure": parse_failure,
}


@x.guard
def parse(element: ET.Element) -> LegacyElement:
    """Read any top-level legacy element.

    That is req, accepted, started, done, cancel, cancelled, rejected, fields or failure.
    """
    return x.dispatch(element, _NAMESPACES, _PARSERS)
