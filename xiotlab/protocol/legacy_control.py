"""Legacy control (``urn:xmpp:iot:control``, retracted XEP-0325) as slixmpp 1.17's xep_0325 speaks it.

Wire format
-----------
``<set xmlns='urn:xmpp:iot:control'>`` holds ``<node nodeId= sourceId= cacheType=/>``
references (a :class:`~xiotlab.protocol.values.NodeRef` whose ``partition`` carries ``cacheType``)
and typed values named after their type: ``<boolean name= value=/>``,
``<color/>``, ``<date/>``, ``<dateTime/>``, ``<double/>``, ``<duration/>``,
``<int/>``, ``<long/>``, ``<string/>``, ``<time/>`` (there is no enumeration
type), or a submitted data form. It travels in an ``<iq type='set'/>`` when the
sender wants an answer, or in a ``<message/>`` when it does not (no answer
comes, not even for errors). Success is an iq result with ``<setResponse/>``,
listing nodes (``<node/>``) and parameters (``<parameter name=/>``) only
when the device did less than asked. The control form request is
``<getForm/>``; the form itself is the same as in the current dialect, with
``<parameterGroup name=/>`` for groups.

What slixmpp 1.17's plugin gets wrong, and how this module lives with it
------------------------------------------------------------------------
The plugin follows the 2014 draft (0.2), before errors became XMPP errors.

* Its device answers a refused set with an ``<iq type='error'/>`` that holds no
  XMPP ``<error/>`` at all, only ``<setResponse responseCode='NotFound'|'OtherError'>``
  with ``<node/>``/``<parameter/>`` children and a plugin-private
  ``<error var=...>text</error>``. :func:`parse_error` reads that shape as
  well as the XEP's (``<error/>`` with a stanza condition and ``<paramError/>``).
* In that private error, ``var`` is hard-coded to ``"Output"`` for an unknown
  node or field, whatever the field was called; the real field name is in
  ``<parameter name=/>``. :func:`parse_error` trusts ``<parameter/>`` first and
  reports a node refusal as a node refusal, not as a parameter "Output".
* Its client only hears error iqs that contain ``<setResponse/>``; a
  standards-shaped error never reaches its callback. :func:`build_set_error`
  therefore returns both shapes, to be put side by side in the iq error.
* Its client reads only ``responseCode`` from an answer: the node list, field
  list and error message it hands its callback are always empty (it reads
  interfaces the stanza class does not declare, and looks up ``error`` without
  its namespace). :func:`build_set_response` adds ``responseCode='OK'`` (not
  in the XEP since 0.3) so that callback at least sees success.
* Values are whatever string its user passed (``str(True)`` gives ``True``; a
  bare Python bool is not even sent: it breaks slixmpp's send queue with a
  TypeError). :func:`parse_set` accepts booleans in any letter case and
  doubles also in Python's ``inf``/``nan``; every other type must be in its
  XML Schema lexical form. A dateTime without zone is read as local time. An empty string
  makes slixmpp drop the ``value`` attribute altogether, so a ``<string/>``
  without one reads as ``""``. Its serializer leaves tabs and line breaks in
  attribute values unescaped, so they arrive as spaces.
* Its device checks each field against every registered node, not only the
  nodes the request names; its time-out handler raises ``TypeError`` (so a
  device that does not call back never answers: owners need their own
  time-out); its message-borne set asks for ``type='set'``, which slixmpp drops,
  so such messages arrive as ``normal``. Nothing of this changes the wire here.
* It knows no ``getForm``, no forms inside ``set`` and no tokens; those are
  built and parsed here per the XEP, for other legacy peers.

Limits
------
Those of :mod:`.control`, whose :class:`~.control.Dialect` reads this dialect
too: at most :data:`~.control.MAX_PARAMETERS` parameters,
:data:`~.control.MAX_NODES` node references, :data:`~.control.MAX_ELEMENTS`
elements nested :data:`~.control.MAX_DEPTH` deep; parameter names, node ids,
sources and cache types, response codes and the name in the plugin's private
error at most :data:`~.elements.MAX_NAME_LENGTH` characters, tokens at most
:data:`~.elements.MAX_TOKEN_LENGTH`, values at most
:data:`~.parameters.MAX_VALUE_LENGTH`. Beyond that, parsers raise
:class:`~xiotlab.errors.ProtocolError`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Unpack

from ..errors import ParameterError, ProtocolError, StanzaError
from . import control, control_form, stanza_errors
from .control import MAX_DEPTH, MAX_ELEMENTS, Dialect, GetFormRequest, SetRequest, Tokens
from .elements import (
    LEGACY_NODE_ATTRIBUTES,
    LEGACY_TOKEN_ATTRIBUTES,
    MAX_NAME_LENGTH,
    check_bounds,
    guard,
    optional,
    split,
    xml_text,
)
from .namespaces import LEGACY_CONTROL, STANZA_ERRORS
from .parameters import MAX_VALUE_LENGTH, ControlParameter, ParameterType, ParameterValue
from .values import LOCAL, NodeRef

__all__ = [
    "DIALECT", "NAMESPACE",
    "LegacySetResponse",
    "build_control_form", "build_get_form", "build_set", "build_set_error", "build_set_form", "build_set_response",
    "parse_error", "parse_get_form", "parse_set", "parse_set_response",
]  # fmt: skip

NAMESPACE = LEGACY_CONTROL

DIALECT = Dialect(
    label="legacy control", namespaces=(LEGACY_CONTROL,),
    elements={t: t.value for t in ParameterType if t is not ParameterType.ENUM},
    name="name", value="value", node="node", node_attributes=LEGACY_NODE_ATTRIBUTES,
    tokens=LEGACY_TOKEN_ATTRIBUTES, response="setResponse", parameter="parameter",
    # The plugin passes its user's strings through (str(True) is "True"), legacy peers mean
    # local time by a dateTime without zone, and slixmpp drops an attribute set to "".
    naive_tz=LOCAL, lenient=True, empty_string_omitted=True, response_extras=("error",),
)  # fmt: skip
"""How the legacy dialect names what the current one names otherwise (see :class:`.control.Dialect`)."""

_NS = f"{{{LEGACY_CONTROL}}}"

# The plugin's result codes (XEP-0325 0.2) and the stanza conditions that replaced them in 0.3.
_CODE_TO_CONDITION = {
    "NotFound": "item-not-found",
    "InsufficientPrivileges": "forbidden",
    "Locked": "conflict",
    "NotImplemented": "feature-not-implemented",
    "FormError": "bad-request",
    "OtherError": "bad-request",
}
_CONDITION_TO_CODE = {
    "item-not-found": "NotFound",
    "forbidden": "InsufficientPrivileges",
    "conflict": "Locked",
    "feature-not-implemented": "NotImplemented",
}


@dataclass(frozen=True)
class LegacySetResponse:
    """A parsed ``<setResponse/>``; empty lists mean everything was done as asked."""

    nodes: tuple[NodeRef, ...] = ()
    parameters: tuple[str, ...] = ()
    response_code: str = ""

    @property
    def as_requested(self) -> bool:
        """True when the device did everything the request asked."""
        return not self.nodes and not self.parameters


# --- set -----------------------------------------------------------------------


def build_set(
    values: Iterable[ParameterValue], *, nodes: Iterable[NodeRef] = (), **tokens: Unpack[Tokens]
) -> ET.Element:
    """A legacy ``<set/>`` of typed values, for an ``<iq type='set'/>`` or a ``<message/>``.

    ``tokens`` are the :class:`~.control.Tokens` keywords. Raises
    ProtocolError for enumerations (the legacy dialect has none: send the
    value as a string) and for values that do not fit their type.
    """
    return DIALECT.build_set(NAMESPACE, values, nodes, tokens)


def build_set_form(values: Iterable[ParameterValue], *, session: str = "", nodes: Iterable[NodeRef] = ()) -> ET.Element:
    """A legacy ``<set/>`` carrying a submitted (partial) control form."""
    return DIALECT.build_set_form(NAMESPACE, values, session, nodes, {})


@guard
def parse_set(element: ET.Element) -> SetRequest:
    """A legacy ``<set/>`` (from an iq or a message) to a :class:`~.control.SetRequest` in this namespace.

    Raises ProtocolError when malformed or too large, ParameterError (naming
    the parameter) when a value is missing or does not parse as its type.
    Answer a ParameterError to an iq with :func:`build_set_error`, whose
    second element slixmpp's client needs and a generic error answer lacks.
    """
    return DIALECT.parse_set(element)


# --- response --------------------------------------------------------------------


def build_set_response(
    *, nodes: Iterable[NodeRef] = (), parameters: Iterable[str] = (), response_code: str | None = "OK"
) -> ET.Element:
    """A ``<setResponse/>`` for the iq result of a legacy set.

    ``response_code='OK'`` is for slixmpp's client, whose callback reads
    nothing else; pass None for a strictly XEP-0325 0.3+ answer.
    """
    element = DIALECT.build_set_response(NAMESPACE, nodes, parameters)
    if response_code:
        element.set("responseCode", response_code)
    return element


@guard
def parse_set_response(element: ET.Element) -> LegacySetResponse:
    """A ``<setResponse/>`` to a :class:`LegacySetResponse` (the plugin's private ``<error/>`` is skipped)."""
    _, nodes, parameters = DIALECT.parse_set_response(element)
    return LegacySetResponse(nodes, parameters, optional(element, "responseCode", MAX_NAME_LENGTH) or "")


# --- errors ------------------------------------------------------------------------


def build_set_error(error: StanzaError, *, nodes: Iterable[NodeRef] = ()) -> tuple[ET.Element, ET.Element]:
    """The two children of an iq error refusing a legacy set: ``(<error/>, <setResponse/>)``.

    The first is what XEP-0325 0.3+ peers read (stanza condition and
    ``paramError``); the second is the 0.2 shape slixmpp's client needs to
    hear about the error at all. Put both into the ``<iq type='error'/>``.
    """
    stanza_error = control.build_error(error, namespace=LEGACY_CONTROL)
    code = _CONDITION_TO_CODE.get(error.condition, "OtherError")
    resp = build_set_response(
        nodes=nodes, response_code=code, parameters=[error.parameter] if isinstance(error, ParameterError) else ()
    )
    private = ET.SubElement(resp, _NS + "error")
    if isinstance(error, ParameterError):
        private.set("var", error.parameter)
    private.text = xml_text(error.text or error.condition or "error", "error text")
    return stanza_error, resp


@guard
def parse_error(iq: ET.Element) -> StanzaError:
    """The refusal in a legacy iq error as an exception: ParameterError when a parameter is named.

    Reads the XEP's ``<error/>`` with ``paramError`` when there is one, else
    slixmpp's ``<setResponse responseCode=...>`` shape (see the module notes
    on its bogus ``var``).
    """
    if split(iq.tag)[1] != "iq":
        raise ProtocolError(f"expected the <iq/> of the error answer, got {iq.tag!r}")
    check_bounds(iq, MAX_ELEMENTS, MAX_DEPTH)
    std = stanza_errors.error_of(iq)
    resp = iq.find(_NS + "setResponse")
    if std is not None and resp is not None and _is_slixmpp_default(std):
        std = None  # the device's own answer is the setResponse
    if std is not None and (resp is None or std.find(f"{{{STANZA_ERRORS}}}*") is not None):
        return control.parse_error(std)
    if resp is None:
        raise ProtocolError("the iq holds neither <error/> nor <setResponse/>; it is not an error answer")
    answer = parse_set_response(resp)
    private = resp.find(_NS + "error")
    text = (private.text or "").strip()[:MAX_VALUE_LENGTH] if private is not None else ""
    code = answer.response_code or "OtherError"
    condition = _CODE_TO_CONDITION.get(code, "undefined-condition")
    if answer.parameters:
        return ParameterError(
            answer.parameters[0],
            text or code,
            condition=condition,
            others=tuple((p, text or code) for p in answer.parameters[1:]),
        )
    if answer.nodes:
        ids = ", ".join(n.id for n in answer.nodes)
        return StanzaError(
            f"the device refused node(s) {ids}: {code}" + (f" ({text})" if text else ""), condition=condition, text=text
        )
    var = optional(private, "var", MAX_NAME_LENGTH) if private is not None else None
    if var:
        return ParameterError(var, text or code, condition=condition)
    return StanzaError(
        f"the device refused the request: {code}" + (f" ({text})" if text else ""), condition=condition, text=text
    )


def _is_slixmpp_default(error: ET.Element) -> bool:
    """Whether ``error`` is the bare one slixmpp inserts into an error iq that has none.

    Devices of the 2014 draft (slixmpp's plugin) answer with only a ``<setResponse/>``;
    slixmpp, reading such an answer, adds ``<error type='cancel'><feature-not-implemented/>``,
    which would hide the device's own reason and the parameter it names.
    """
    return (
        error.get("type") == "cancel"
        and not (error.text or "").strip()
        and [c.tag for c in error] == [f"{{{STANZA_ERRORS}}}feature-not-implemented"]
    )


# --- getForm and the form ----------------------------------------------------------


def build_get_form(*, nodes: Iterable[NodeRef] = (), **tokens: Unpack[Tokens]) -> ET.Element:
    """A legacy ``<getForm/>`` for an ``<iq type='get'/>``; the result's payload is the form.

    ``tokens`` are the :class:`~.control.Tokens` keywords.
    """
    return DIALECT.root(NAMESPACE, "getForm", nodes, tokens)


@guard
def parse_get_form(element: ET.Element) -> GetFormRequest:
    """A legacy ``<getForm/>`` to the node references (and tokens) it names."""
    return DIALECT.parse_get_form(element)


def build_control_form(parameters: Iterable[ControlParameter], *, title: str = "", session: str = "") -> ET.Element:
    """The control form for a legacy ``<getForm/>`` (groups as ``<parameterGroup name=/>``)."""
    return control_form.build_control_form(parameters, title=title, session=session, namespace=LEGACY_CONTROL)
