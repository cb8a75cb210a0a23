"""Control (neuro-foundation.io ``urn:nfi:iot:ctr:1.0``): typed parameters, set, forms, errors.

Wire format
-----------
An owner controls a thing with ``<set/>`` inside an ``<iq type='set'/>`` to the
thing's full JID. The set carries typed values (``<b n='Main' v='true'/>``,
``<db/>``, ``<i/>``, ... one element per type), optional node references
(``<nd id= src= pt=/>``, :class:`~xiotlab.protocol.values.NodeRef`) for things
behind a concentrator, optional tokens
(``st``/``dt``/``ut``), or instead a submitted data form. The thing answers
``<resp/>``: empty when everything was done as asked, otherwise listing the
nodes (``<nd/>``) and parameters (``<p n=/>``) it actually set. A refused set
is an iq error whose ``<error/>`` holds a stanza condition and a
``<paramError var='name'>why</paramError>`` naming the parameter.
``<getForm/>`` in an ``<iq type='get'/>`` asks for the control form; the
answer's payload is the ``jabber:x:data`` form itself.

The current dialect has no message form of ``set``: the neuro-foundation.io
pages and IoTGateway only define and register the iq. The legacy dialect
(:mod:`xiotlab.protocol.legacy_control`) also sets by message.

Namespaces: every builder takes ``namespace`` (default
:data:`~xiotlab.protocol.namespaces.CONTROL`; the aliases ``urn:nf:iot:ctr:1.0``
and ``urn:ieee:iot:ctr:1.0`` carry the same elements); every parser accepts all
three and reports the one it saw in ``.namespace``, so a thing answers in the
namespace it was asked in.

The control form
----------------
Each :class:`ControlParameter` is one field (XEP-0004), in order, since order
is the order a device wants parameters set in:

* type: ``boolean`` fields for booleans, ``list-single`` with ``<option/>``s for
  parameters with options (enumerations always), ``text-single`` otherwise;
* XEP-0122 ``<validate datatype=...>``: ``xs:int``, ``xs:long``, ``xs:double``,
  ``xs:date``, ``xs:dateTime``, ``xs:time``, ``xs:duration``, ``xs:boolean``,
  ``xs:string``, and XEP-0331's ``xdc:Color`` / ``xdc:ColorAlpha``; a
  ``<range min max/>`` for bounds, a ``<regex/>`` for string patterns and colors;
* XEP-0336: ``<notSame/>`` on every field (the control pages require it, so a
  form submitted untouched sets nothing), ``<readOnly/>``, ``<undefinedValue/>``
  when the current value is unknown; a hidden ``xdd session`` field if given;
* XEP-0141 ``<page label=...>`` with ``<fieldref/>``s for :attr:`ControlParameter.page`;
* ``<pGroup n=.../>`` in the control namespace for parameters set together;
* what XEP-0122 cannot say goes in xiotlab's own namespace
  (:data:`~xiotlab.protocol.namespaces.XIOTLAB_CONTROL_FORM`): ``<step v=/>`` and
  ``<enum t=/>`` (the enumeration's type name, which the typed ``<e/>`` needs).

So a parameter list survives form and back unchanged; forms from other
devices (IoTGateway's, the spec's examples) map onto the nearest types.

Schema notes: ``Control.xsd`` allows at most one child in ``<set/>``
(``xs:choice`` without ``maxOccurs``) although the specification's own
examples set several parameters at once; xiotlab sends several, as IoTGateway
does. The schema names the paramError attribute ``var`` (IoTGateway sends
``n``) and the pGroup attribute ``n`` (the page's example says ``name``):
xiotlab sends what the schema says and reads either.

Limits
------
A parsed element may hold at most :data:`MAX_PARAMETERS` parameters,
:data:`MAX_NODES` node references, :data:`MAX_ELEMENTS` elements in all and
nest :data:`MAX_DEPTH` deep; values are at most :data:`MAX_VALUE_LENGTH`
characters. Beyond that, or for unknown elements, parsers raise
:class:`~xiotlab.errors.ProtocolError`. A value that does not parse as its
type raises :class:`~xiotlab.errors.ParameterError` instead, so the thing can
name the parameter in its answer.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import ParameterError, ProtocolError, StanzaError
from . import dataforms
from .namespaces import (
    CLIENT,
    CONTROL,
    CONTROL_ALIASES,
    LEGACY_CONTROL,
    STANZA_ERRORS,
    XDATA_DYNAMIC,
    XDATA_LAYOUT,
    XIOTLAB_CONTROL_FORM,
)
from .values import (
    UTC,
    Duration,
    NodeRef,
    check_xml_text,
    format_boolean,
    format_date,
    format_datetime,
    format_double,
    format_duration,
    format_integer,
    format_time,
    parse_boolean,
    parse_date,
    parse_datetime,
    parse_double,
    parse_duration,
    parse_integer,
    parse_time,
)

__all__ = [
    "MAX_DEPTH", "MAX_ELEMENTS", "MAX_NODES", "MAX_PARAMETERS", "MAX_VALUE_LENGTH", "NAMESPACES",
    "ControlForm", "ControlParameter", "Duration", "GetFormRequest", "NodeRef", "ParameterOption",
    "ParameterType", "ParameterValue", "SESSION_FIELD", "SetRequest", "SetResponse",
    "build_control_form", "build_error", "build_get_form", "error_details", "build_param_error", "build_set",
    "build_set_form", "build_set_response", "from_lexical", "parse_control_form", "parse_error",
    "parse_get_form", "parse_param_error", "parse_set", "parse_set_response", "resolve_set",
    "to_lexical", "validate",
]

MAX_PARAMETERS = 256
MAX_NODES = 256
MAX_ELEMENTS = 16384
MAX_DEPTH = 8
MAX_VALUE_LENGTH = dataforms.MAX_TEXT

NAMESPACES = (CONTROL, *CONTROL_ALIASES)
"""The namespaces of the current dialect: the current one first, then its aliases."""

SESSION_FIELD = "xdd session"
"""Name of the hidden field carrying a XEP-0336 form session; no parameter may use it."""

_XDD = f"{{{XDATA_DYNAMIC}}}"
_XDL = f"{{{XDATA_LAYOUT}}}"
_XIOT = f"{{{XIOTLAB_CONTROL_FORM}}}"
_STANZAS = f"{{{STANZA_ERRORS}}}"


class ParameterType(enum.StrEnum):
    """The simple types a control parameter can have; values are the legacy element names.

    Python values: BOOLEAN bool; COLOR str (``RRGGBB`` or ``RRGGBBAA``); DATE
    ``datetime.date``; DATETIME ``datetime.datetime`` (naive means local time;
    stored and read back zoned); DOUBLE float; DURATION
    :class:`~xiotlab.protocol.values.Duration` (a ``timedelta`` is accepted);
    ENUM str (or an :class:`enum.Enum` member, sent by name); INT int (32 bits);
    LONG int (64 bits); STRING str; TIME ``datetime.time`` (zone kept if any).
    """

    BOOLEAN = "boolean"
    COLOR = "color"
    DATE = "date"
    DATETIME = "dateTime"
    DOUBLE = "double"
    DURATION = "duration"
    ENUM = "enum"
    INT = "int"
    LONG = "long"
    STRING = "string"
    TIME = "time"

    @property
    def element(self) -> str:
        """The element name of this type in a current-dialect ``<set/>``."""
        return _ELEMENTS[self]

    @property
    def ordered(self) -> bool:
        """Whether values of this type have an order, so ``min``/``max`` apply."""
        return self in _ORDERED

    @property
    def numeric(self) -> bool:
        """Whether values of this type are numbers, so ``step`` applies."""
        return self in (ParameterType.INT, ParameterType.LONG, ParameterType.DOUBLE)


T = ParameterType
_ELEMENTS = {
    T.BOOLEAN: "b", T.COLOR: "cl", T.DATE: "d", T.DATETIME: "dt", T.DOUBLE: "db", T.DURATION: "dr",
    T.ENUM: "e", T.INT: "i", T.LONG: "l", T.STRING: "s", T.TIME: "t",
}
_BY_ELEMENT = {v: k for k, v in _ELEMENTS.items()}
_ORDERED = (T.INT, T.LONG, T.DOUBLE, T.DATE, T.DATETIME, T.TIME)
_DATATYPES = {
    T.BOOLEAN: "xs:boolean", T.DATE: "xs:date", T.DATETIME: "xs:dateTime", T.DOUBLE: "xs:double",
    T.DURATION: "xs:duration", T.ENUM: "xs:string", T.INT: "xs:int", T.LONG: "xs:long",
    T.STRING: "xs:string", T.TIME: "xs:time",
}
# Datatypes other devices put in forms, read as the nearest parameter type.
_FROM_DATATYPE = {
    "xs:boolean": T.BOOLEAN, "xs:date": T.DATE, "xs:datetime": T.DATETIME, "xs:double": T.DOUBLE,
    "xs:duration": T.DURATION, "xs:int": T.INT, "xs:long": T.LONG, "xs:string": T.STRING,
    "xs:time": T.TIME, "xs:byte": T.INT, "xs:short": T.INT, "xs:integer": T.LONG,
    "xs:decimal": T.DOUBLE, "xs:float": T.DOUBLE, "xdc:color": T.COLOR, "xdc:coloralpha": T.COLOR,
}


# Python types to parameter types; order matters (bool is an int, datetime a date).
PYTHON_TYPES: dict[type, ParameterType] = {
    bool: T.BOOLEAN, int: T.INT, float: T.DOUBLE, str: T.STRING, _dt.datetime: T.DATETIME,
    _dt.date: T.DATE, _dt.time: T.TIME, _dt.timedelta: T.DURATION, Duration: T.DURATION,
}


def parameter_type_of(value: Any) -> ParameterType | None:
    """The parameter type a Python value is sent as (an int past 32 bits is a long), or None."""
    kind = next((t for python, t in PYTHON_TYPES.items() if isinstance(value, python)), None)
    if kind is T.INT and not -2**31 <= value < 2**31:
        return T.LONG
    return kind


# --- typed values ------------------------------------------------------------


_COLOR = re.compile(r"[0-9a-fA-F]{6}([0-9a-fA-F]{2})?")


def _color(text: str) -> str:
    if not _COLOR.fullmatch(text.strip()):
        raise ValueError(f"{text[:40]!r} is not a color: use 6 or 8 hexadecimal digits (RRGGBB or RRGGBBAA)")
    return text.strip()


def to_lexical(type_: ParameterType | str, value: Any) -> str:
    """The wire form of a typed Python value of ``type_``; ValueError/TypeError if it is not one.

    A naive datetime is taken as local time and written in UTC, as
    :func:`xiotlab.protocol.values.format_datetime` does everywhere.
    """
    t = ParameterType(type_)
    if t is T.BOOLEAN:
        if not isinstance(value, bool):
            raise TypeError(f"a boolean parameter takes True or False, not {type(value).__name__}")
        return format_boolean(value)
    if t in (T.INT, T.LONG):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"an {t} parameter takes an int, not {type(value).__name__}")
        lexical = format_integer(value)
        parse_integer(lexical, bits=32 if t is T.INT else 64)  # the range check lives there
        return lexical
    if t is T.DOUBLE:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"a double parameter takes a float, not {type(value).__name__}")
        return format_double(float(value))
    if t is T.DATE:
        if not isinstance(value, _dt.date) or isinstance(value, _dt.datetime):
            raise TypeError(f"a date parameter takes a datetime.date, not {type(value).__name__}")
        return format_date(value)
    if t is T.DATETIME:
        if not isinstance(value, _dt.datetime):
            raise TypeError(f"a dateTime parameter takes a datetime.datetime, not {type(value).__name__}")
        return format_datetime(value)
    if t is T.TIME:
        if not isinstance(value, _dt.time):
            raise TypeError(f"a time parameter takes a datetime.time, not {type(value).__name__}")
        return format_time(value)
    if t is T.DURATION:
        if isinstance(value, _dt.timedelta):
            value = Duration.from_timedelta(value)
        if not isinstance(value, Duration):
            raise TypeError(f"a duration parameter takes a Duration or timedelta, not {type(value).__name__}")
        return format_duration(value)
    if isinstance(value, enum.Enum) and t is T.ENUM:
        value = value.name
    if not isinstance(value, str):
        raise TypeError(f"a {t} parameter takes a str, not {type(value).__name__}")
    if t is T.COLOR:
        return _color(value)
    if len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"value is longer than {MAX_VALUE_LENGTH} characters")
    return check_xml_text(value, "the value")


def from_lexical(type_: ParameterType | str, text: str, *, naive_tz: _dt.tzinfo | None = UTC,
                 lenient: bool = False) -> Any:
    """The typed Python value of a wire form of ``type_``; ValueError says which rule it broke.

    A dateTime without zone is read in ``naive_tz`` (UTC, as the reference
    implementation writes; ``values.LOCAL`` for local time). ``lenient``
    accepts Python's spellings (``True``, ``inf``) from Python peers.
    """
    t = ParameterType(type_)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"value is longer than {MAX_VALUE_LENGTH} characters")
    if t is T.BOOLEAN:
        return parse_boolean(text, lenient=lenient)
    if t is T.INT:
        return parse_integer(text, bits=32)
    if t is T.LONG:
        return parse_integer(text, bits=64)
    if t is T.DOUBLE:
        return parse_double(text, lenient=lenient)[0]
    if t is T.DATE:
        return parse_date(text)
    if t is T.DATETIME:
        return parse_datetime(text, naive_tz=naive_tz)
    if t is T.TIME:
        return parse_time(text)
    if t is T.DURATION:
        return parse_duration(text)
    if t is T.COLOR:
        return _color(text)
    return text


def _typed(t: ParameterType, value: Any) -> Any:
    """A value given typed, or (for types whose values are not strings) lexically."""
    if isinstance(value, str) and t not in (T.STRING, T.ENUM, T.COLOR):
        return from_lexical(t, value)
    if t is T.DOUBLE and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if t is T.DURATION and isinstance(value, _dt.timedelta):
        value = Duration.from_timedelta(value)
    if t is T.ENUM and isinstance(value, enum.Enum):
        value = value.name
    lexical = to_lexical(t, value)
    if t is T.DATETIME:
        # stored as it will read back: naive taken as local, odd offsets moved to UTC
        return from_lexical(t, lexical)
    return value


def _check_xml_text(text: str) -> None:
    check_xml_text(text, "the text")


# --- data model --------------------------------------------------------------


@dataclass(frozen=True)
class ParameterValue:
    """One typed value in a set: parameter name, type, Python value, and for enums the type name."""

    name: str
    type: ParameterType
    value: Any
    enum_type: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ParameterType(self.type))

    @property
    def lexical(self) -> str:
        """The value as it travels on the wire."""
        return to_lexical(self.type, self.value)


@dataclass(frozen=True)
class SetRequest:
    """A parsed ``<set/>``: typed values and/or a submitted form, node references, tokens."""

    values: tuple[ParameterValue, ...] = ()
    nodes: tuple[NodeRef, ...] = ()
    form: dataforms.DataForm | None = None
    service_token: str = ""
    device_token: str = ""
    user_token: str = ""
    namespace: str = CONTROL

    @property
    def form_values(self) -> dict[str, str]:
        """The submitted form's values by field name (the session field left out)."""
        if self.form is None:
            return {}
        return {
            f.var: "\n".join(f.values) if f.type == "text-multi" else (f.values[0] if f.values else "")
            for f in self.form.fields
            if f.var and f.var != SESSION_FIELD and f.type not in ("fixed", "hidden")
        }

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Every parameter name the request touches, typed values first, in order."""
        return tuple(v.name for v in self.values) + tuple(self.form_values)


@dataclass(frozen=True)
class SetResponse:
    """A parsed ``<resp/>``: empty when the set was done as asked, otherwise what was done."""

    nodes: tuple[NodeRef, ...] = ()
    parameters: tuple[str, ...] = ()
    namespace: str = CONTROL

    @property
    def as_requested(self) -> bool:
        """True when the thing did everything the request asked (the response lists nothing)."""
        return not self.nodes and not self.parameters


@dataclass(frozen=True)
class GetFormRequest:
    """A parsed ``<getForm/>``: node references and tokens."""

    nodes: tuple[NodeRef, ...] = ()
    service_token: str = ""
    device_token: str = ""
    user_token: str = ""
    namespace: str = CONTROL


@dataclass(frozen=True)
class ParameterOption:
    """One allowed value of a parameter, with the label a form shows for it."""

    value: Any
    label: str = ""


@dataclass(frozen=True)
class ControlParameter:
    """The typed description of one control parameter, as a thing publishes it.

    ``value`` is the current value (None when unknown). ``min``/``max`` bound
    ordered types (numbers, dates, times), ``step`` numbers (values must be
    ``min + k*step``, or ``k*step`` without a minimum). ``options`` restricts the
    values to a list; enumerations (``type=ENUM``) carry the enumeration's type
    name in ``enum_type``. ``pattern`` is a regular expression a string must
    match entirely. ``page`` and ``group`` lay the form out: parameters of one
    group are meant to be set together. Values, bounds and options may be given
    typed or in their lexical form; they are stored typed.
    """

    name: str
    type: ParameterType
    value: Any = None
    label: str = ""
    description: str = ""
    min: Any = None
    max: Any = None
    step: Any = None
    options: tuple[ParameterOption, ...] = ()
    enum_type: str = ""
    pattern: str = ""
    read_only: bool = False
    page: str = ""
    group: str = ""

    def __post_init__(self) -> None:
        try:
            self._normalize()
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"control parameter {self.name!r}: {exc}") from None

    def _normalize(self) -> None:
        put = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a control parameter needs a non-empty name")
        for text in (self.name, self.label, self.description, self.enum_type, self.pattern, self.page,
                     self.group):
            _check_xml_text(text)
        t = ParameterType(self.type)
        put("type", t)
        if self.value is not None:
            put("value", _typed(t, self.value))
        for bound in ("min", "max"):
            if getattr(self, bound) is not None:
                if not t.ordered:
                    raise ValueError(f"{bound} applies to numbers, dates and times, not {t}")
                bound_value = _typed(t, getattr(self, bound))
                if isinstance(bound_value, float) and math.isnan(bound_value):
                    raise ValueError(f"{bound} cannot be NaN")
                put(bound, bound_value)
        if self.min is not None and self.max is not None and _compare(self.min, self.max) > 0:
            raise ValueError(f"min {self.min!r} is above max {self.max!r}")
        if self.step is not None:
            if not t.numeric:
                raise ValueError(f"step applies to int, long and double, not {t}")
            step = _typed(t, self.step)
            if not step > 0 or (isinstance(step, float) and math.isinf(step)):
                raise ValueError(f"step must be a positive finite number, not {step!r}")
            put("step", step)
        options = []
        for o in self.options:
            if not isinstance(o, ParameterOption):
                o = ParameterOption(*o) if isinstance(o, tuple) else ParameterOption(o)
            _check_xml_text(o.label)
            options.append(ParameterOption(_typed(t, o.value), o.label))
        put("options", tuple(options))
        if options and t is T.BOOLEAN:
            raise ValueError("a boolean parameter cannot have options")
        if len(options) > dataforms.MAX_OPTIONS:
            raise ValueError(f"more than {dataforms.MAX_OPTIONS} options")
        if self.enum_type and t is not T.ENUM:
            raise ValueError("enum_type applies to enumerations only")
        if self.pattern:
            if t is not T.STRING:
                raise ValueError("pattern applies to strings only")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a regular expression: {exc}") from None
        put("read_only", bool(self.read_only))


@dataclass(frozen=True)
class ControlForm:
    """A parsed control form: its parameters in order, title and dynamic-form session."""

    parameters: tuple[ControlParameter, ...] = ()
    title: str = ""
    session: str = ""

    def get(self, name: str) -> ControlParameter | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.parameters if p.name == name), None)

    def __iter__(self):
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __repr__(self) -> str:
        lines = "".join(f"\n  {summary(p)}" for p in self.parameters)
        return f"<ControlForm {self.title!r}: {len(self.parameters)} parameters{lines}>"


def summary(p: ControlParameter) -> str:
    """One line describing a parameter: name, type, constraints, current value."""
    parts = [f"{p.name}: {p.type}" + (f" ({p.enum_type})" if p.enum_type else "")]
    if p.min is not None or p.max is not None:
        parts.append(f"{_show(p, p.min) if p.min is not None else ''}..{_show(p, p.max) if p.max is not None else ''}")
    if p.step is not None:
        parts.append(f"step {_show(p, p.step)}")
    if p.options:
        parts.append("{" + ", ".join(_show(p, o.value) for o in p.options) + "}")
    if p.read_only:
        parts.append("read-only")
    parts.append(f"= {_show(p, p.value)}" if p.value is not None else "= (unknown)")
    return " ".join(parts)


# --- helpers -----------------------------------------------------------------


def _check_namespace(namespace: str, allowed: Sequence[str] = NAMESPACES) -> None:
    if namespace not in allowed:
        raise ProtocolError(f"{namespace!r} is not a control namespace; use one of {', '.join(allowed)}")


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _check_bounds(element: ET.Element) -> None:
    """Refuse hostile trees before walking them: too many elements or too deep."""
    stack = [(element, 0)]
    count = 0
    while stack:
        el, depth = stack.pop()
        count += 1
        if count > MAX_ELEMENTS:
            raise ProtocolError(f"<{_split(element.tag)[1]}/> holds more than {MAX_ELEMENTS} elements; refusing it")
        if depth > MAX_DEPTH:
            raise ProtocolError(f"<{_split(element.tag)[1]}/> nests deeper than {MAX_DEPTH} levels; refusing it")
        stack.extend((child, depth + 1) for child in el)


def _expect(element: ET.Element, local: str, allowed: Sequence[str] = NAMESPACES) -> str:
    if not isinstance(element, ET.Element):
        raise ProtocolError(f"expected an XML element <{local}/>, got {type(element).__name__}")
    ns, name = _split(element.tag)
    if name != local or ns not in allowed:
        raise ProtocolError(
            f"expected <{local}/> in one of {', '.join(allowed)}, got {element.tag!r}"
        )
    _check_bounds(element)
    return ns


def _attr(element: ET.Element, name: str, what: str, required: bool = True) -> str:
    value = element.get(name)
    if value is None:
        if required:
            raise ProtocolError(f"{what} has no {name!r} attribute; it is required")
        return ""
    if len(value) > MAX_VALUE_LENGTH:
        raise ProtocolError(f"attribute {name!r} of {what} is longer than {MAX_VALUE_LENGTH} characters")
    return value


def _leaf(element: ET.Element, what: str) -> None:
    if len(element):
        raise ProtocolError(f"{what} must be empty, but holds <{_split(element[0].tag)[1]}/>")


def _xml_attr(value: str, what: str) -> str:
    try:
        return check_xml_text(value, what)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(str(exc)) from None


def add_node_refs(parent: ET.Element, tag: str, nodes: Iterable[NodeRef],
                  names: tuple[str, str, str] = ("id", "src", "pt")) -> None:
    """One ``tag`` child per node, its id, source and partition under the dialect's attribute ``names``."""
    for node in nodes:
        if not isinstance(node, NodeRef):
            raise ProtocolError(f"nodes must be NodeRef instances, not {node!r}")
        values = (node.id, node.source, node.partition)
        attrs = {name: value for i, (name, value) in enumerate(zip(names, values)) if value or i == 0}
        ET.SubElement(parent, tag, attrs)


def _add_nodes(parent: ET.Element, ns: str, nodes: Iterable[NodeRef]) -> None:
    add_node_refs(parent, f"{{{ns}}}nd", nodes)


def _parse_node(element: ET.Element) -> NodeRef:
    _leaf(element, "<nd/>")
    return NodeRef(_attr(element, "id", "<nd/>"), _attr(element, "src", "<nd/>", False) or None,
                   _attr(element, "pt", "<nd/>", False) or None)


def _tokens(element: ET.Element, st: str, dt: str, ut: str) -> None:
    for name, value in (("st", st), ("dt", dt), ("ut", ut)):
        if value:
            element.set(name, _xml_attr(value, f"token {name}"))


def _root(ns: str, local: str) -> ET.Element:
    _check_namespace(ns)
    return ET.Element(f"{{{ns}}}{local}")


# --- set -----------------------------------------------------------------------


def build_set(
    values: Iterable[ParameterValue],
    *,
    nodes: Iterable[NodeRef] = (),
    service_token: str = "",
    device_token: str = "",
    user_token: str = "",
    namespace: str = CONTROL,
) -> ET.Element:
    """A ``<set/>`` with typed values, for an ``<iq type='set'/>`` to the thing's full JID.

    Raises ProtocolError naming the parameter whose value does not fit its type.
    """
    el = _root(namespace, "set")
    _tokens(el, service_token, device_token, user_token)
    _add_nodes(el, namespace, nodes)
    count = 0
    for v in values:
        count += 1
        if count > MAX_PARAMETERS:
            raise ProtocolError(f"a set may carry at most {MAX_PARAMETERS} parameters; split it")
        if not v.name:
            raise ProtocolError("a parameter value needs a non-empty name")
        try:
            lexical = to_lexical(v.type, v.value)
            _check_xml_text(v.name)
            _check_xml_text(v.enum_type)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"control parameter {v.name!r}: {exc}") from None
        attrs = {"n": v.name, "v": lexical}
        if v.type is T.ENUM:
            attrs["t"] = v.enum_type
        ET.SubElement(el, f"{{{namespace}}}{v.type.element}", attrs)
    return el


def build_set_form(
    values: Iterable[ParameterValue],
    *,
    session: str = "",
    nodes: Iterable[NodeRef] = (),
    service_token: str = "",
    device_token: str = "",
    user_token: str = "",
    namespace: str = CONTROL,
) -> ET.Element:
    """A ``<set/>`` carrying a submitted (partial) control form instead of typed values.

    Send only the parameters you mean to change; ``session`` echoes the form's
    dynamic-form session, if it had one.
    """
    el = _root(namespace, "set")
    _tokens(el, service_token, device_token, user_token)
    _add_nodes(el, namespace, nodes)
    fields = [dataforms.Field(SESSION_FIELD, "hidden", values=(session,))] if session else []
    for v in values:
        if len(fields) >= MAX_PARAMETERS:
            raise ProtocolError(f"a set may carry at most {MAX_PARAMETERS} parameters; split it")
        try:
            lexical = to_lexical(v.type, v.value)
            _check_xml_text(v.name)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"control parameter {v.name!r}: {exc}") from None
        ftype = "boolean" if v.type is T.BOOLEAN else "text-single"
        fields.append(dataforms.Field(v.name, ftype, values=(lexical,)))
    el.append(dataforms.build_form(dataforms.DataForm("submit", fields=tuple(fields))))
    return el


def parse_set(element: ET.Element) -> SetRequest:
    """A ``<set/>`` in any current-dialect namespace to a :class:`SetRequest`.

    Raises ProtocolError when the element is malformed or too large, and
    ParameterError (naming the parameter, condition ``bad-request``, the
    paramError in ``details``) when a value is missing or does not parse as
    its type.
    """
    ns = _expect(element, "set")
    values, nodes, form = read_set_children(element, ns, "nd", _parse_node, _BY_ELEMENT, _parse_value,
                                             "a control <set/>")
    return SetRequest(
        values, nodes, form,
        _attr(element, "st", "<set/>", False), _attr(element, "dt", "<set/>", False),
        _attr(element, "ut", "<set/>", False), ns,
    )


def read_set_children(element: ET.Element, ns: str, node_local: str, read_node, value_types: dict[str, ParameterType],
                      read_value, where: str) -> tuple[tuple[ParameterValue, ...], tuple[NodeRef, ...], Any]:
    """The typed values, node references and submitted form of a ``<set/>``, in either dialect.

    The dialects differ in element and attribute names (``read_node``, ``value_types``,
    ``read_value``); limits and the one-form rule are the same in both.
    """
    values: list[ParameterValue] = []
    nodes: list[NodeRef] = []
    form = None
    for child in element:
        cns, local = _split(child.tag)
        if cns == ns and local == node_local:
            if len(nodes) >= MAX_NODES:
                raise ProtocolError(f"a set may name at most {MAX_NODES} nodes")
            nodes.append(read_node(child))
        elif cns == ns and local in value_types:
            if len(values) >= MAX_PARAMETERS:
                raise ProtocolError(f"a set may carry at most {MAX_PARAMETERS} parameters")
            try:
                values.append(read_value(child, value_types[local]))
            except ParameterError as exc:
                raise _answerable(exc, ns) from None
        elif child.tag == f"{{{dataforms.DATA_FORMS}}}x":
            if form is not None:
                raise ProtocolError("a set may carry one data form only")
            form = dataforms.parse_form(child)
            if form.type != "submit":
                raise ProtocolError(f"a set carries a submitted form (type='submit'), not type={form.type!r}")
            if len(form.fields) > MAX_PARAMETERS:
                raise ProtocolError(f"a set may carry at most {MAX_PARAMETERS} parameters")
        else:
            raise ProtocolError(f"unexpected {child.tag!r} in {where}; remove it")
    return tuple(values), tuple(nodes), form


def _parse_value(element: ET.Element, t: ParameterType) -> ParameterValue:
    what = f"<{_split(element.tag)[1]}/>"
    _leaf(element, what)
    name = _attr(element, "n", what)
    if not name:
        raise ProtocolError(f"{what} has an empty parameter name")
    text = element.get("v")
    if text is None:
        raise ParameterError(name, "no value was given (the v attribute is missing)",
                             hint="send the value in the v attribute")
    try:
        value = from_lexical(t, text)
    except ValueError as exc:
        raise ParameterError(name, f"syntax error: {exc}", hint=f"send a valid {t} value") from None
    return ParameterValue(name, t, value, _attr(element, "t", what, False) if t is T.ENUM else "")


# --- response --------------------------------------------------------------------


def build_set_response(
    *, nodes: Iterable[NodeRef] = (), parameters: Iterable[str] = (), namespace: str = CONTROL
) -> ET.Element:
    """A ``<resp/>`` for the iq result of a set.

    Leave both empty when everything was done as asked; list the nodes and
    parameters actually set when the thing did less than asked.
    """
    el = _root(namespace, "resp")
    _add_nodes(el, namespace, nodes)
    for name in parameters:
        ET.SubElement(el, f"{{{namespace}}}p", n=_xml_attr(name, "parameter name"))
    return el


def parse_set_response(element: ET.Element) -> SetResponse:
    """A ``<resp/>`` in any current-dialect namespace to a :class:`SetResponse`."""
    ns = _expect(element, "resp")
    nodes, params = [], []
    for child in element:
        cns, local = _split(child.tag)
        if cns == ns and local == "nd":
            if len(nodes) >= MAX_NODES:
                raise ProtocolError(f"a response may name at most {MAX_NODES} nodes")
            nodes.append(_parse_node(child))
        elif cns == ns and local == "p":
            if len(params) >= MAX_PARAMETERS:
                raise ProtocolError(f"a response may name at most {MAX_PARAMETERS} parameters")
            _leaf(child, "<p/>")
            params.append(_attr(child, "n", "<p/>"))
        else:
            raise ProtocolError(f"unexpected {child.tag!r} in a control <resp/>")
    return SetResponse(tuple(nodes), tuple(params), ns)


# --- getForm ---------------------------------------------------------------------


def build_get_form(
    *,
    nodes: Iterable[NodeRef] = (),
    service_token: str = "",
    device_token: str = "",
    user_token: str = "",
    namespace: str = CONTROL,
) -> ET.Element:
    """A ``<getForm/>`` for an ``<iq type='get'/>``; the result's payload is the form."""
    el = _root(namespace, "getForm")
    _tokens(el, service_token, device_token, user_token)
    _add_nodes(el, namespace, nodes)
    return el


def parse_get_form(element: ET.Element) -> GetFormRequest:
    """A ``<getForm/>`` in any current-dialect namespace to a :class:`GetFormRequest`."""
    ns = _expect(element, "getForm")
    nodes = []
    for child in element:
        if child.tag != f"{{{ns}}}nd":
            raise ProtocolError(f"unexpected {child.tag!r} in <getForm/>; only <nd/> belongs there")
        if len(nodes) >= MAX_NODES:
            raise ProtocolError(f"a form request may name at most {MAX_NODES} nodes")
        nodes.append(_parse_node(child))
    return GetFormRequest(tuple(nodes), _attr(element, "st", "<getForm/>", False),
                          _attr(element, "dt", "<getForm/>", False), _attr(element, "ut", "<getForm/>", False), ns)


# --- the form ----------------------------------------------------------------------


def _color_alpha(p: ControlParameter) -> bool:
    return isinstance(p.value, str) and len(p.value) == 8


def _field(p: ControlParameter, namespace: str) -> dataforms.Field:
    def lexical(v: Any) -> str:
        return to_lexical(p.type, v)

    if p.type is T.BOOLEAN:
        ftype = "boolean"
    elif p.options or p.type is T.ENUM:
        ftype = "list-single"
    else:
        ftype = "text-single"
    if p.type is T.COLOR:
        alpha = _color_alpha(p)
        datatype = "xdc:ColorAlpha" if alpha else "xdc:Color"
        validation = dataforms.Validation(datatype, "regex", regex="^[0-9a-fA-F]{%d}$" % (8 if alpha else 6))
    elif p.min is not None or p.max is not None:
        validation = dataforms.Validation(
            _DATATYPES[p.type], "range",
            "" if p.min is None else lexical(p.min), "" if p.max is None else lexical(p.max),
        )
    elif p.pattern:
        validation = dataforms.Validation(_DATATYPES[p.type], "regex", regex=p.pattern)
    else:
        validation = dataforms.Validation(_DATATYPES[p.type], "basic")
    ext = [ET.Element(_XDD + "notSame")]
    if p.read_only:
        ext.append(ET.Element(_XDD + "readOnly"))
    if p.value is None:
        ext.append(ET.Element(_XDD + "undefinedValue"))
    if p.group:
        if namespace == LEGACY_CONTROL:
            ext.append(ET.Element(f"{{{namespace}}}parameterGroup", name=p.group))
        else:
            ext.append(ET.Element(f"{{{namespace}}}pGroup", n=p.group))
    if p.step is not None:
        ext.append(ET.Element(_XIOT + "step", v=lexical(p.step)))
    if p.type is T.ENUM:
        ext.append(ET.Element(_XIOT + "enum", t=p.enum_type))
    return dataforms.Field(
        p.name, ftype, p.label, p.description,
        values=() if p.value is None else (lexical(p.value),),
        options=tuple(dataforms.Option(lexical(o.value), o.label) for o in p.options),
        validation=validation, extensions=tuple(ext),
    )


def build_control_form(
    parameters: Iterable[ControlParameter],
    *,
    title: str = "",
    session: str = "",
    namespace: str = CONTROL,
) -> ET.Element:
    """The control form (``<x type='form' xmlns='jabber:x:data'/>``) describing ``parameters``.

    This element is the whole payload of the iq result to ``<getForm/>``.
    ``namespace`` is the control namespace the request came in (it qualifies
    the parameter group elements); ``session`` adds a hidden XEP-0336 session field.
    """
    _check_namespace(namespace, (*NAMESPACES, LEGACY_CONTROL))
    params = list(parameters)
    if len(params) > MAX_PARAMETERS:
        raise ProtocolError(f"a control form may describe at most {MAX_PARAMETERS} parameters")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ProtocolError("two control parameters share a name; names must be unique in a form")
    if SESSION_FIELD in names:
        raise ProtocolError(f"{SESSION_FIELD!r} is reserved for the form session; rename that parameter")
    pages: dict[str, ET.Element] = {}
    for p in params:
        if p.page:
            if p.page not in pages:
                pages[p.page] = ET.Element(_XDL + "page", label=p.page)
            ET.SubElement(pages[p.page], _XDL + "fieldref", var=p.name)
    fields = [dataforms.Field(SESSION_FIELD, "hidden", values=(session,))] if session else []
    fields += [_field(p, namespace) for p in params]
    _xml_attr(title, "form title")
    _xml_attr(session, "form session")
    return dataforms.build_form(dataforms.DataForm("form", title, fields=tuple(fields),
                                                   extensions=tuple(pages.values())))


def parse_control_form(element: ET.Element) -> ControlForm:
    """A control form back to typed :class:`ControlParameter` descriptions.

    Fields that cannot be control parameters (hidden, fixed, multi-valued
    lists) are skipped. Raises ProtocolError for malformed forms and for a
    field whose value or bounds do not fit its type, naming the field.
    """
    if not isinstance(element, ET.Element) or element.tag != f"{{{dataforms.DATA_FORMS}}}x":
        raise ProtocolError(f"expected a jabber:x:data <x/> control form, got {getattr(element, 'tag', element)!r}")
    _check_bounds(element)
    form = dataforms.parse_form(element)
    if len(form.fields) > MAX_PARAMETERS + 1:
        raise ProtocolError(f"a control form may describe at most {MAX_PARAMETERS} parameters")
    pages: dict[str, str] = {}
    for ext in form.extensions:
        if ext.tag == _XDL + "page":
            for ref in ext.iter(_XDL + "fieldref"):
                pages.setdefault(ref.get("var", ""), ext.get("label", ""))
    session, params = "", []
    for f in form.fields:
        if f.var == SESSION_FIELD:
            session = f.values[0] if f.values else ""
        elif f.var and f.type not in ("hidden", "fixed", "list-multi", "jid-multi"):
            params.append(_parameter(f, pages.get(f.var, "")))
    return ControlForm(tuple(params), form.title, session)


def _parameter(f: dataforms.Field, page: str) -> ControlParameter:
    ext = {}
    for e in f.extensions:
        ns, local = _split(e.tag)
        if ns in (*NAMESPACES, LEGACY_CONTROL) and local in ("pGroup", "parameterGroup"):
            ext["group"] = e.get("n") or e.get("name") or ""
        elif e.tag in (_XIOT + "step", _XIOT + "enum", _XDD + "readOnly", _XDD + "undefinedValue"):
            ext[local] = e
    v = f.validation or dataforms.Validation("")
    if "enum" in ext:
        t = T.ENUM
    elif f.type == "boolean":
        t = T.BOOLEAN
    else:
        t = _FROM_DATATYPE.get(v.datatype.lower(), T.STRING)
    if f.type == "text-multi":
        raw = "\n".join(f.values)
    else:
        raw = f.values[0] if f.values else None
    if "undefinedValue" in ext or (raw == "" and t not in (T.STRING, T.ENUM)):
        raw = None
    return ControlParameter(
        name=f.var, type=t, value=raw, label=f.label, description=f.desc,
        min=(v.minimum or None) if v.method == "range" and t.ordered else None,
        max=(v.maximum or None) if v.method == "range" and t.ordered else None,
        step=ext["step"].get("v") if "step" in ext and t.numeric else None,
        options=tuple(ParameterOption(o.value, o.label) for o in f.options),
        enum_type=ext["enum"].get("t", "") if "enum" in ext else "",
        pattern=v.regex if v.method == "regex" and t is T.STRING else "",
        read_only="readOnly" in ext, page=page, group=ext.get("group", ""),
    )


# --- errors ------------------------------------------------------------------------

def build_param_error(parameter: str, text: str, *, namespace: str = CONTROL) -> ET.Element:
    """A ``<paramError var=...>text</paramError>`` naming the refused parameter."""
    _check_namespace(namespace, (*NAMESPACES, LEGACY_CONTROL))
    el = ET.Element(f"{{{namespace}}}paramError", var=_xml_attr(parameter, "parameter name"))
    el.text = _xml_attr(text, "error text")
    return el


def parse_param_error(element: ET.Element) -> tuple[str, str]:
    """A ``paramError`` element to ``(parameter, text)``; reads ``var`` or IoTGateway's ``n``."""
    _expect(element, "paramError", (*NAMESPACES, LEGACY_CONTROL))
    name = element.get("var") or element.get("n")
    if not name:
        raise ProtocolError("a paramError names no parameter (neither var nor n attribute)")
    _leaf(element, "<paramError/>")
    return name, (element.text or "")[:MAX_VALUE_LENGTH]


def error_details(error: ParameterError, *, namespace: str = CONTROL) -> tuple[ET.Element, ...]:
    """The paramError elements (in ``namespace``, the request's) naming the refused parameter(s)."""
    return tuple(build_param_error(name, text, namespace=namespace)
                 for name, text in ((error.parameter, error.text), *error.others))


def _answerable(error: ParameterError, namespace: str) -> ParameterError:
    # The runtime answers a StanzaError with its kind, condition, text and details.
    error.details = error_details(error, namespace=namespace)
    return error


def build_error(error: StanzaError, *, namespace: str = CONTROL) -> ET.Element:
    """The ``<error/>`` child of the iq error refusing a set or form request.

    Carries the error's type (``kind``), condition and text; a
    :class:`~xiotlab.errors.ParameterError` adds paramErrors (in
    ``namespace``, the one the request came in) naming the parameters, any
    other StanzaError its ``details``.
    """
    condition = error.condition or "undefined-condition"
    el = ET.Element(f"{{{CLIENT}}}error", type=error.kind or "cancel")
    ET.SubElement(el, _STANZAS + condition)
    if error.text:
        ET.SubElement(el, _STANZAS + "text").text = _xml_attr(error.text, "error text")
    if isinstance(error, ParameterError):
        el.extend(error_details(error, namespace=namespace))
    else:
        el.extend(error.details)
    return el


def parse_error(element: ET.Element) -> StanzaError:
    """The refusal in an iq error (the ``<iq/>`` or its ``<error/>``) as an exception to raise.

    Gives a :class:`~xiotlab.errors.ParameterError` when the error names a
    parameter, a plain StanzaError otherwise.
    """
    if not isinstance(element, ET.Element):
        raise ProtocolError(f"expected an iq or error element, got {type(element).__name__}")
    _check_bounds(element)
    if _split(element.tag)[1] == "iq":
        element = next((c for c in element if _split(c.tag)[1] == "error"), None)
        if element is None:
            raise ProtocolError("the iq holds no <error/>; it is not an error answer")
    if _split(element.tag)[1] != "error":
        raise ProtocolError(f"expected <error/>, got {element.tag!r}")
    condition, text, params, kind = "undefined-condition", "", [], element.get("type", "")
    for child in element:
        ns, local = _split(child.tag)
        if ns == STANZA_ERRORS and local == "text":
            text = (child.text or "")[:MAX_VALUE_LENGTH]
        elif ns == STANZA_ERRORS:
            condition = local
        elif local == "paramError" and ns in (*NAMESPACES, LEGACY_CONTROL):
            params.append(parse_param_error(child))
    if params:
        (name, why), *others = params
        return ParameterError(name, why or text or condition, condition=condition, kind=kind, others=tuple(others))
    message = f"the device refused the request: {condition}" + (f" ({text})" if text else "")
    return StanzaError(message, condition=condition, text=text, kind=kind or "cancel")


# --- validation --------------------------------------------------------------------


def _compare(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def _show(p: ControlParameter, v: Any) -> str:
    try:
        return to_lexical(p.type, v)
    except (TypeError, ValueError):
        return repr(v)


def _range_hint(p: ControlParameter) -> str:
    lo = "" if p.min is None else _show(p, p.min)
    hi = "" if p.max is None else _show(p, p.max)
    if lo and hi:
        return f"send a value from {lo} to {hi}"
    return f"send a value of at least {lo}" if lo else f"send a value of at most {hi}"


def validate(parameter: ControlParameter, value: Any) -> Any:
    """``value`` converted to ``parameter``'s type and checked against its constraints.

    ``value`` may be a Python value of the type or its lexical form (as in a
    form submission). Returns the typed value. Raises
    :class:`~xiotlab.errors.ParameterError` naming the parameter when the
    parameter is read-only, the value has the wrong type or syntax, lies
    outside ``min``/``max``, is off the ``step`` grid, is not one of the
    ``options`` or does not match the ``pattern``.
    """
    p, name = parameter, parameter.name
    if p.read_only:
        raise ParameterError(name, "the parameter is read-only", hint="it can be read, not set")
    if isinstance(value, ParameterValue):
        value = value.value
    try:
        typed = _typed(p.type, value)
    except TypeError as exc:
        raise ParameterError(name, f"wrong type: {exc}", hint=f"send a {p.type} value") from None
    except ValueError as exc:
        raise ParameterError(name, f"syntax error: {exc}", hint=f"send a valid {p.type} value") from None
    if p.min is not None or p.max is not None:
        if isinstance(typed, float) and math.isnan(typed):
            raise ParameterError(name, "NaN is outside every range", hint=_range_hint(p))
        try:
            if p.min is not None and typed < p.min:
                raise ParameterError(name, f"{_show(p, typed)} is below the minimum {_show(p, p.min)}",
                                     hint=_range_hint(p))
            if p.max is not None and typed > p.max:
                raise ParameterError(name, f"{_show(p, typed)} is above the maximum {_show(p, p.max)}",
                                     hint=_range_hint(p))
        except TypeError:
            raise ParameterError(name, f"{_show(p, typed)} cannot be compared with the parameter's bounds",
                                 hint="give a time zone exactly when the bounds have one") from None
    if p.step is not None:
        base = p.min if p.min is not None else 0
        if isinstance(typed, float):
            if not math.isfinite(typed):
                raise ParameterError(name, f"{_show(p, typed)} is not a multiple of the step {_show(p, p.step)}")
            # Decimal of the shortest repr is what a person typed; 0.3 is on a 0.1 grid.
            off = (Decimal(repr(typed)) - Decimal(repr(float(base)))) % Decimal(repr(float(p.step)))
        else:
            off = (typed - base) % p.step
        if off != 0:
            start = f"{_show(p, base)} + k*{_show(p, p.step)}"
            raise ParameterError(name, f"{_show(p, typed)} is not on the step grid {start}",
                                 hint=f"send a value of the form {start}")
    if p.options and typed not in [o.value for o in p.options]:
        shown = ", ".join(_show(p, o.value) for o in p.options[:10]) + (", ..." if len(p.options) > 10 else "")
        raise ParameterError(name, f"{_show(p, typed)} is not one of the options", hint=f"choose one of {shown}")
    if p.pattern and not re.fullmatch(p.pattern, typed):
        raise ParameterError(name, f"{typed!r} does not match the pattern {p.pattern!r}",
                             hint="send a value matching the pattern")
    return typed


_COMPATIBLE = {T.STRING: (T.STRING, T.ENUM), T.DOUBLE: (T.DOUBLE, T.INT, T.LONG)}


def resolve_set(request: SetRequest, parameters: Iterable[ControlParameter]) -> list[tuple[ControlParameter, Any]]:
    """Every value of a set request checked against the thing's parameters, typed, in order.

    ``request`` is a :class:`SetRequest` or a legacy one (anything with
    ``values`` and ``form_values``).

    A thing calls this before any handler runs, so that a request is either
    done entirely or refused. Raises ParameterError: ``item-not-found`` for an
    unknown parameter, ``bad-request`` for a wrong type or a value
    :func:`validate` refuses; its ``details`` hold the paramError in the
    request's namespace, so raising it on from a request handler answers
    the way the specification says.
    """
    try:
        return _resolve(request, {p.name: p for p in parameters})
    except ParameterError as exc:
        raise _answerable(exc, request.namespace) from None


def _resolve(request: SetRequest, by_name: dict[str, ControlParameter]) -> list[tuple[ControlParameter, Any]]:
    out = []

    def lookup(name: str) -> ControlParameter:
        p = by_name.get(name)
        if p is None:
            raise ParameterError(name, "no such parameter", condition="item-not-found",
                                 hint="ask for the control form to see the parameters there are")
        return p

    for v in request.values:
        p = lookup(v.name)
        if v.type is not p.type and v.type not in _COMPATIBLE.get(p.type, ()):
            raise ParameterError(v.name, f"wrong type: the parameter is {p.type}, the request sent {v.type}",
                                 hint=f"send it as <{p.type.element}/>")
        if p.type is T.ENUM and p.enum_type and v.enum_type and v.enum_type != p.enum_type:
            raise ParameterError(v.name, f"enumeration type {v.enum_type!r} is not {p.enum_type!r}",
                                 hint=f"send t={p.enum_type!r}")
        out.append((p, validate(p, v.value)))
    for name, text in request.form_values.items():
        p = lookup(name)
        out.append((p, validate(p, text)))
    return out
