"""Control (neuro-foundation.io ``urn:nfi:iot:ctr:1.0``): set, its answers, getForm, errors.

Wire format
-----------
An owner controls a thing with ``<set/>`` inside an ``<iq type='set'/>`` to the
thing's full JID. The set carries typed values (``<b n='Main' v='true'/>``,
``<db/>``, ``<i/>``, ... one element per type, :data:`ELEMENTS`; the
parameters and their types are in :mod:`.parameters`), optional node
references (``<nd id= src= pt=/>``, :class:`~xiotlab.protocol.values.NodeRef`)
for things behind a concentrator, optional tokens (``st``/``dt``/``ut``), or
instead a submitted data form. The thing answers ``<resp/>``: empty when
everything was done as asked, otherwise listing the nodes (``<nd/>``) and
parameters (``<p n=/>``) it actually set. A refused set is an iq error whose
``<error/>`` holds a stanza condition and a
``<paramError var='name'>why</paramError>`` naming the parameter.
``<getForm/>`` in an ``<iq type='get'/>`` asks for the control form; the
answer's payload is the ``jabber:x:data`` form itself (:mod:`.control_form`).

The current dialect has no message form of ``set``: the neuro-foundation.io
pages and IoTGateway only define and register the iq. The legacy dialect
(:mod:`xiotlab.protocol.legacy_control`) also sets by message; it names
elements and attributes differently, which a :class:`Dialect` records, and
reads and writes set and getForm through the same code.

Namespaces: every builder takes ``namespace`` (default
:data:`~xiotlab.protocol.namespaces.CONTROL`; the aliases ``urn:nf:iot:ctr:1.0``
and ``urn:ieee:iot:ctr:1.0`` carry the same elements); every parser accepts all
three and reports the one it saw in ``.namespace``, so a thing answers in the
namespace it was asked in.

Schema notes: ``Control.xsd`` allows at most one child in ``<set/>``
(``xs:choice`` without ``maxOccurs``) although the specification's own
examples set several parameters at once; xiotlab sends several, as IoTGateway
does. The schema names the paramError attribute ``var`` (IoTGateway sends
``n``): xiotlab sends what the schema says and reads either.

Limits
------
A parsed element may hold at most :data:`MAX_PARAMETERS` parameters,
:data:`MAX_NODES` node references, :data:`MAX_ELEMENTS` elements in all and
nest :data:`MAX_DEPTH` deep; values are at most
:data:`~.parameters.MAX_VALUE_LENGTH` characters, parameter names, node ids,
sources and partitions and enumeration types at most :data:`MAX_NAME_LENGTH`
(also the names of a submitted form's fields), tokens at most
:data:`MAX_TOKEN_LENGTH`. Beyond that, or for unknown
elements, parsers raise :class:`~xiotlab.errors.ProtocolError`. A value that
does not parse as its type raises :class:`~xiotlab.errors.ParameterError`
instead, so the thing can name the parameter in its answer.
"""

from __future__ import annotations

import datetime as _dt
import functools
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from ..errors import ParameterError, ProtocolError, StanzaError, XmppError
from . import dataforms, stanza_errors
from .elements import (
    MAX_NAME_LENGTH,
    MAX_TOKEN_LENGTH,
    NODE_ATTRIBUTES,
    TOKEN_ATTRIBUTES,
    add_nodes,
    check_bounds,
    check_limit,
    check_namespace,
    describe,
    expect,
    guard,
    leaf,
    optional,
    qname,
    read_node,
    read_tokens,
    required,
    split,
    write_tokens,
    xml_text,
)
from .namespaces import CONTROL, CONTROL_ALIASES, LEGACY_CONTROL
from .parameters import (
    MAX_VALUE_LENGTH,
    ControlParameter,
    ParameterType,
    ParameterValue,
    from_lexical,
    to_lexical,
    validate,
)
from .values import UTC, NodeRef

__all__ = [
    "DIALECT", "ELEMENTS", "NAMESPACES", "SESSION_FIELD",
    "MAX_DEPTH", "MAX_ELEMENTS", "MAX_NODES", "MAX_PARAMETERS", "MAX_NAME_LENGTH", "MAX_TOKEN_LENGTH",
    "Dialect", "GetFormRequest", "SetRequest", "SetResponse", "Tokens",
    "build_set", "build_set_form", "parse_set", "build_set_response", "parse_set_response", "resolve_set",
    "build_get_form", "parse_get_form",
    "build_error", "parse_error", "read_error", "build_param_error", "parse_param_error", "error_details",
]  # fmt: skip

MAX_PARAMETERS = 256
MAX_NODES = 256
MAX_ELEMENTS = 16384
MAX_DEPTH = 8

NAMESPACES = (CONTROL, *CONTROL_ALIASES)
"""The namespaces of the current dialect: the current one first, then its aliases."""

SESSION_FIELD = "xdd session"
"""Name of the hidden form field carrying a XEP-0336 form session; no parameter may use it."""

T = ParameterType
ELEMENTS: dict[ParameterType, str] = {
    T.BOOLEAN: "b",
    T.COLOR: "cl",
    T.DATE: "d",
    T.DATETIME: "dt",
    T.DOUBLE: "db",
    T.DURATION: "dr",
    T.ENUM: "e",
    T.INT: "i",
    T.LONG: "l",
    T.STRING: "s",
    T.TIME: "t",
}
"""The element of each parameter type in a current-dialect ``<set/>``."""

_FORM = qname(dataforms.DATA_FORMS, "x")


# --- data model --------------------------------------------------------------


@dataclass(frozen=True)
class SetRequest:
    """A parsed ``<set/>``: typed values and/or a submitted form, node references, tokens."""

    values: tuple[ParameterValue, ...] = ()
    nodes: tuple[NodeRef, ...] = ()
    form: dataforms.DataForm | None = None
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
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
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    namespace: str = CONTROL


class Tokens(TypedDict, total=False):
    """The tokens a request may carry (XEP-0324 provisioning), as the request builders' keyword arguments."""

    service_token: str | None
    device_token: str | None
    user_token: str | None


def _token_values(tokens: Tokens) -> tuple[str | None, str | None, str | None]:
    """The service, device and user token of builder keywords; TypeError for a keyword that is none of them."""
    for keyword in tokens.keys() - Tokens.__optional_keys__:
        raise TypeError(f"got an unexpected keyword argument {keyword!r}")
    return tokens.get("service_token"), tokens.get("device_token"), tokens.get("user_token")


# --- the dialects -------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """The names a control dialect gives things; set, its answer and getForm are read and written alike.

    ``elements`` maps each parameter type the dialect has to its value
    element; ``name`` and ``value`` are the attributes of a value element.
    Values without zone are read in ``naive_tz``; ``lenient`` also reads
    Python's spellings of booleans and special doubles; with
    ``empty_string_omitted`` a string value without its attribute is ``""``.
    ``response_extras`` are the empty children a set response may hold besides
    nodes and parameters.
    """

    label: str
    namespaces: tuple[str, ...]
    elements: dict[ParameterType, str]
    name: str
    value: str
    node: str
    node_attributes: tuple[str, str, str]
    tokens: tuple[str, str, str]
    response: str
    parameter: str
    naive_tz: _dt.tzinfo | None = UTC
    lenient: bool = False
    empty_string_omitted: bool = False
    response_extras: tuple[str, ...] = ()

    @functools.cached_property
    def types(self) -> dict[str, ParameterType]:
        """The parameter type of each value element."""
        return {element: t for t, element in self.elements.items()}

    # --- writing

    def root(
        self, namespace: str, local: str, nodes: Iterable[NodeRef] = (), tokens: Tokens | None = None
    ) -> ET.Element:
        """A ``local`` element in ``namespace`` with tokens and node references."""
        check_namespace(namespace, self.namespaces, self.label)
        element = ET.Element(qname(namespace, local))
        write_tokens(element, *_token_values(tokens or {}), names=self.tokens)
        add_nodes(element, qname(namespace, self.node), nodes, self.node_attributes)
        return element

    def build_set(
        self, namespace: str, values: Iterable[ParameterValue], nodes: Iterable[NodeRef], tokens: Tokens
    ) -> ET.Element:
        """A ``<set/>`` of typed values."""
        element = self.root(namespace, "set", nodes, tokens)
        for v, lexical in _lexical_values(values):
            local = self.elements.get(v.type)
            if local is None:  # only enumerations are missing, from the legacy dialect
                raise ProtocolError(
                    f"control parameter {v.name!r}: the {self.label} has no enumerations; send it as a string"
                )
            attributes = {self.name: v.name, self.value: lexical}
            if v.type is T.ENUM:
                attributes["t"] = xml_text(v.enum_type, "enumeration type")
            ET.SubElement(element, qname(namespace, local), attributes)
        return element

    def build_set_form(
        self, namespace: str, values: Iterable[ParameterValue], session: str, nodes: Iterable[NodeRef], tokens: Tokens
    ) -> ET.Element:
        """A ``<set/>`` carrying a submitted (partial) control form."""
        element = self.root(namespace, "set", nodes, tokens)
        fields = [dataforms.Field(SESSION_FIELD, "hidden", values=(session,))] if session else []
        for v, lexical in _lexical_values(values, MAX_PARAMETERS - len(fields)):
            fields.append(
                dataforms.Field(v.name, "boolean" if v.type is T.BOOLEAN else "text-single", values=(lexical,))
            )
        element.append(dataforms.build_form(dataforms.DataForm("submit", fields=tuple(fields))))
        return element

    def build_set_response(self, namespace: str, nodes: Iterable[NodeRef], parameters: Iterable[str]) -> ET.Element:
        """The answer to a set, naming the nodes and parameters set when the thing did less than asked."""
        element = self.root(namespace, self.response, nodes)
        for name in parameters:
            ET.SubElement(element, qname(namespace, self.parameter), {self.name: xml_text(name, "parameter name")})
        return element

    # --- reading

    def expect(self, element: ET.Element, local: str) -> str:
        """The namespace of ``element``, a ``local`` of this dialect, after bounding its tree."""
        ns, _ = expect(element, self.namespaces, (local,))
        check_bounds(element, MAX_ELEMENTS, MAX_DEPTH)
        return ns

    def read_node(self, element: ET.Element) -> NodeRef:
        """A node reference, which holds nothing."""
        leaf(element)
        return read_node(element, self.node_attributes)

    def read_value(self, element: ET.Element, t: ParameterType) -> ParameterValue:
        """One typed value of a set; ParameterError naming the parameter when it has no value of its type."""
        leaf(element)
        name = required(element, self.name, MAX_NAME_LENGTH)
        if not name:
            raise ProtocolError(f"{describe(element)} has an empty parameter name")
        text = optional(element, self.value)
        if text is None and t is T.STRING and self.empty_string_omitted:
            text = ""
        if text is None:
            raise ParameterError(
                name,
                f"no value was given (the {self.value} attribute is missing)",
                hint=f"send the value in the {self.value} attribute",
            )
        try:
            value = from_lexical(t, text, naive_tz=self.naive_tz, lenient=self.lenient)
        except ValueError as exc:
            raise ParameterError(name, f"syntax error: {exc}", hint=f"send a valid {t} value") from None
        enum_type = (optional(element, "t", MAX_NAME_LENGTH) or "") if t is T.ENUM else ""
        return ParameterValue(name, t, value, enum_type)

    def parse_set(self, element: ET.Element) -> SetRequest:
        """A ``<set/>`` to a :class:`SetRequest` in the namespace it came in."""
        ns = self.expect(element, "set")
        values: list[ParameterValue] = []
        nodes: list[NodeRef] = []
        form = None
        node_tag = qname(ns, self.node)
        for child in element:
            child_ns, local = split(child.tag)
            if child.tag == node_tag:
                nodes.append(self.read_node(child))
                check_limit(len(nodes), MAX_NODES, "nodes", element)
            elif child_ns == ns and local in self.types:
                try:
                    values.append(self.read_value(child, self.types[local]))
                except ParameterError as exc:
                    raise _answerable(exc, ns) from None
                check_limit(len(values), MAX_PARAMETERS, "parameters", element)
            elif child.tag == _FORM:
                if form is not None:
                    raise ProtocolError("a set may carry one data form only")
                form = dataforms.parse_form(child)
                if form.type != "submit":
                    raise ProtocolError(f"a set carries a submitted form (type='submit'), not type={form.type!r}")
                check_limit(len(form.fields), MAX_PARAMETERS, "parameters", element)
            else:
                raise ProtocolError(f"unexpected {child.tag!r} in a {self.label} <set>; remove it")
        return SetRequest(tuple(values), tuple(nodes), form, **read_tokens(element, self.tokens), namespace=ns)

    def parse_set_response(self, element: ET.Element) -> tuple[str, tuple[NodeRef, ...], tuple[str, ...]]:
        """The namespace, nodes and parameter names of the answer to a set."""
        ns = self.expect(element, self.response)
        nodes, parameters = [], []
        node_tag, parameter_tag = qname(ns, self.node), qname(ns, self.parameter)
        extras = {qname(ns, local) for local in self.response_extras}
        for child in element:
            if child.tag == node_tag:
                nodes.append(self.read_node(child))
                check_limit(len(nodes), MAX_NODES, "nodes", element)
            elif child.tag == parameter_tag:
                leaf(child)
                parameters.append(required(child, self.name, MAX_NAME_LENGTH))
                check_limit(len(parameters), MAX_PARAMETERS, "parameters", element)
            elif child.tag in extras:
                leaf(child)
            else:
                raise ProtocolError(f"unexpected {child.tag!r} in a {self.label} <{self.response}>")
        return ns, tuple(nodes), tuple(parameters)

    def parse_get_form(self, element: ET.Element) -> GetFormRequest:
        """A ``<getForm/>`` to a :class:`GetFormRequest` in the namespace it came in."""
        ns = self.expect(element, "getForm")
        nodes = []
        node_tag = qname(ns, self.node)
        for child in element:
            if child.tag != node_tag:
                raise ProtocolError(f"unexpected {child.tag!r} in <getForm>; only <{self.node}> belongs there")
            nodes.append(self.read_node(child))
            check_limit(len(nodes), MAX_NODES, "nodes", element)
        return GetFormRequest(tuple(nodes), **read_tokens(element, self.tokens), namespace=ns)


def _lexical_values(
    values: Iterable[ParameterValue], room: int = MAX_PARAMETERS
) -> Iterator[tuple[ParameterValue, str]]:
    """Each value with its lexical form; ProtocolError naming the parameter whose value does not fit its type."""
    for count, v in enumerate(values, 1):
        if count > room:
            raise ProtocolError(f"a set may carry at most {MAX_PARAMETERS} parameters; split it")
        if not v.name:
            raise ProtocolError("a parameter value needs a non-empty name")
        try:
            lexical = to_lexical(v.type, v.value)
            xml_text(v.name, "the parameter name")
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"control parameter {v.name!r}: {exc}") from None
        yield v, lexical


DIALECT = Dialect(
    label="control", namespaces=NAMESPACES, elements=ELEMENTS, name="n", value="v", node="nd",
    node_attributes=NODE_ATTRIBUTES, tokens=TOKEN_ATTRIBUTES, response="resp", parameter="p",
)  # fmt: skip
"""The current dialect (``urn:nfi:iot:ctr:1.0`` and its aliases)."""


# --- set -----------------------------------------------------------------------


def build_set(
    values: Iterable[ParameterValue],
    *,
    nodes: Iterable[NodeRef] = (),
    namespace: str = CONTROL,
    **tokens: Unpack[Tokens],
) -> ET.Element:
    """A ``<set/>`` with typed values, for an ``<iq type='set'/>`` to the thing's full JID.

    ``tokens`` are the :class:`Tokens` keywords. Raises ProtocolError naming
    the parameter whose value does not fit its type.
    """
    return DIALECT.build_set(namespace, values, nodes, tokens)


def build_set_form(
    values: Iterable[ParameterValue],
    *,
    session: str = "",
    nodes: Iterable[NodeRef] = (),
    namespace: str = CONTROL,
    **tokens: Unpack[Tokens],
) -> ET.Element:
    """A ``<set/>`` carrying a submitted (partial) control form instead of typed values.

    Send only the parameters you mean to change; ``session`` echoes the form's
    dynamic-form session, if it had one; ``tokens`` are the :class:`Tokens` keywords.
    """
    return DIALECT.build_set_form(namespace, values, session, nodes, tokens)


@guard
def parse_set(element: ET.Element) -> SetRequest:
    """A ``<set/>`` in any current-dialect namespace to a :class:`SetRequest`.

    Raises ProtocolError when the element is malformed or too large, and
    ParameterError (naming the parameter, condition ``bad-request``, the
    paramError in ``details``) when a value is missing or does not parse as
    its type.
    """
    return DIALECT.parse_set(element)


# --- response --------------------------------------------------------------------


def build_set_response(
    *, nodes: Iterable[NodeRef] = (), parameters: Iterable[str] = (), namespace: str = CONTROL
) -> ET.Element:
    """A ``<resp/>`` for the iq result of a set.

    Leave both empty when everything was done as asked; list the nodes and
    parameters actually set when the thing did less than asked.
    """
    return DIALECT.build_set_response(namespace, nodes, parameters)


@guard
def parse_set_response(element: ET.Element) -> SetResponse:
    """A ``<resp/>`` in any current-dialect namespace to a :class:`SetResponse`."""
    ns, nodes, parameters = DIALECT.parse_set_response(element)
    return SetResponse(nodes, parameters, ns)


# --- getForm ---------------------------------------------------------------------


def build_get_form(*, nodes: Iterable[NodeRef] = (), namespace: str = CONTROL, **tokens: Unpack[Tokens]) -> ET.Element:
    """A ``<getForm/>`` for an ``<iq type='get'/>``; the result's payload is the form.

    ``tokens`` are the :class:`Tokens` keywords.
    """
    return DIALECT.root(namespace, "getForm", nodes, tokens)


@guard
def parse_get_form(element: ET.Element) -> GetFormRequest:
    """A ``<getForm/>`` in any current-dialect namespace to a :class:`GetFormRequest`."""
    return DIALECT.parse_get_form(element)


# --- errors ------------------------------------------------------------------------

_PARAM_ERROR_TAGS = frozenset(qname(ns, "paramError") for ns in (*NAMESPACES, LEGACY_CONTROL))


def build_param_error(parameter: str, text: str, *, namespace: str = CONTROL) -> ET.Element:
    """A ``<paramError var=...>text</paramError>`` naming the refused parameter."""
    check_namespace(namespace, (*NAMESPACES, LEGACY_CONTROL), "control")
    element = ET.Element(qname(namespace, "paramError"), var=xml_text(parameter, "parameter name"))
    element.text = xml_text(text, "error text")
    return element


@guard
def parse_param_error(element: ET.Element) -> tuple[str, str]:
    """A ``paramError`` element to ``(parameter, text)``; reads ``var`` or IoTGateway's ``n``."""
    expect(element, (*NAMESPACES, LEGACY_CONTROL), ("paramError",))
    name = optional(element, "var", MAX_NAME_LENGTH) or optional(element, "n", MAX_NAME_LENGTH)
    if not name:
        raise ProtocolError("a paramError names no parameter (neither var nor n attribute)")
    leaf(element)
    return name, (element.text or "")[:MAX_VALUE_LENGTH]


def error_details(error: ParameterError, *, namespace: str = CONTROL) -> tuple[ET.Element, ...]:
    """The paramError elements (in ``namespace``, the request's) naming the refused parameter(s)."""
    return tuple(
        build_param_error(name, text, namespace=namespace)
        for name, text in ((error.parameter, error.text), *error.others)
    )


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
    details = error_details(error, namespace=namespace) if isinstance(error, ParameterError) else error.details
    return stanza_errors.build_error(error.condition, error.text, kind=error.kind, details=details)


@guard
def parse_error(element: ET.Element) -> StanzaError:
    """The refusal in an iq error (the ``<iq/>`` or its ``<error/>``) as an exception to raise.

    Gives a :class:`~xiotlab.errors.ParameterError` when the error names a
    parameter, a plain StanzaError otherwise.
    """
    check_bounds(element, MAX_ELEMENTS, MAX_DEPTH)
    error = stanza_errors.error_of(element)
    if error is None:
        raise ProtocolError(f"{describe(element)} holds no <error>; it is not an error answer")
    condition, text = stanza_errors.read_condition(error)
    kind = error.get("type", "")
    params = [parse_param_error(child) for child in error if child.tag in _PARAM_ERROR_TAGS]
    if params:
        (name, why), *others = params
        return ParameterError(name, why or text or condition, condition=condition, kind=kind, others=tuple(others))
    message = f"the device refused the request: {condition}" + (f" ({text})" if text else "")
    return StanzaError(message, condition=condition, text=text, kind=kind or "cancel")


def read_error(answer: ET.Element) -> XmppError:
    """The exception an iq error answering a control request stands for (a reader for the runtime).

    A :class:`~xiotlab.errors.ParameterError` when it names refused
    parameters (:func:`parse_error`), else what
    :func:`.stanza_errors.read_error` makes of it.
    """
    error = stanza_errors.error_of(answer)
    if error is not None and any(child.tag in _PARAM_ERROR_TAGS for child in error):
        return parse_error(error)
    return stanza_errors.read_error(answer)


# --- resolving a set against the parameters ---------------------------------------


_COMPATIBLE = {T.STRING: (T.STRING, T.ENUM), T.DOUBLE: (T.DOUBLE, T.INT, T.LONG)}


def resolve_set(request: SetRequest, parameters: Iterable[ControlParameter]) -> list[tuple[ControlParameter, Any]]:
    """Every value of a set request (of either dialect) checked against the thing's parameters, typed, in order.

    A thing calls this before any handler runs, so that a request is either
    done entirely or refused. Raises ParameterError: ``item-not-found`` for an
    unknown parameter, ``bad-request`` for a wrong type or a value
    :func:`~.parameters.validate` refuses; its ``details`` hold the
    paramError in the request's namespace, so raising it on from a request
    handler answers the way the specification says.
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
            raise ParameterError(
                name,
                "no such parameter",
                condition="item-not-found",
                hint="ask for the control form to see the parameters there are",
            )
        return p

    for v in request.values:
        p = lookup(v.name)
        if v.type is not p.type and v.type not in _COMPATIBLE.get(p.type, ()):
            raise ParameterError(
                v.name,
                f"wrong type: the parameter is {p.type}, the request sent {v.type}",
                hint=f"send it as <{ELEMENTS[p.type]}/>",
            )
        if p.type is T.ENUM and p.enum_type and v.enum_type and v.enum_type != p.enum_type:
            raise ParameterError(
                v.name, f"enumeration type {v.enum_type!r} is not {p.enum_type!r}", hint=f"send t={p.enum_type!r}"
            )
        out.append((p, validate(p, v.value)))
    for name, text in request.form_values.items():
        p = lookup(name)
        out.append((p, validate(p, text)))
    return out
