"""Legacy control (``urn:xmpp:iot:control``, retracted XEP-0325) as slixmpp 1.17's xep_0325 speaks it.

Wire format
-----------
``<set xmlns='urn:xmpp:iot:control'>`` holds ``<node nodeId= sourceId= cacheType=/>`` (a :class:`~xiotlab.protocol.values.NodeRef`
whose ``partition`` carries ``cacheType``)
references and typed values named after their type: ``<boolean name= value=/>``,
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
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ParameterError, ProtocolError, StanzaError
from . import control
from .control import (
    MAX_NODES,
    MAX_PARAMETERS,
    MAX_VALUE_LENGTH,
    ControlForm,
    ControlParameter,
    ParameterType,
    ParameterValue,
    parse_control_form,
    resolve_set,
    to_lexical,
    validate,
)
from .namespaces import LEGACY_CONTROL, STANZA_ERRORS
from .values import LOCAL, NodeRef

__all__ = [
    "NAMESPACE", "NodeRef", "LegacySetResponse",
    "build_control_form", "build_get_form", "build_set", "build_set_error", "build_set_form",
    "build_set_response", "parse_control_form", "parse_error", "parse_get_form", "parse_set",
    "parse_set_response", "resolve_set", "validate", "ControlForm", "ControlParameter",
    "ParameterType", "ParameterValue",
]

NAMESPACE = LEGACY_CONTROL
_NS = f"{{{LEGACY_CONTROL}}}"
_TYPES = {t.value: t for t in ParameterType if t is not ParameterType.ENUM}

# The plugin's result codes (XEP-0325 0.2) and the stanza conditions that replaced them in 0.3.
_CODE_TO_CONDITION = {
    "NotFound": "item-not-found", "InsufficientPrivileges": "forbidden", "Locked": "conflict",
    "NotImplemented": "feature-not-implemented", "FormError": "bad-request", "OtherError": "bad-request",
}
_CONDITION_TO_CODE = {
    "item-not-found": "NotFound", "forbidden": "InsufficientPrivileges", "conflict": "Locked",
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


# --- helpers -----------------------------------------------------------------


def _expect(element: ET.Element, local: str) -> None:
    control._expect(element, local, (LEGACY_CONTROL,))


def _add_nodes(parent: ET.Element, nodes: Iterable[NodeRef]) -> None:
    # The legacy dialect's third scoping attribute, cacheType, travels in NodeRef.partition.
    control.add_node_refs(parent, _NS + "node", nodes, ("nodeId", "sourceId", "cacheType"))


def _parse_node(element: ET.Element) -> NodeRef:
    control._leaf(element, "<node/>")
    return NodeRef(control._attr(element, "nodeId", "<node/>"),
                   control._attr(element, "sourceId", "<node/>", False) or None,
                   control._attr(element, "cacheType", "<node/>", False) or None)


def _tokens(element: ET.Element, st: str, dt: str, ut: str) -> None:
    for name, value in (("serviceToken", st), ("deviceToken", dt), ("userToken", ut)):
        if value:
            element.set(name, control._xml_attr(value, name))


# --- set -----------------------------------------------------------------------


def build_set(
    values: Iterable[ParameterValue],
    *,
    nodes: Iterable[NodeRef] = (),
    service_token: str = "",
    device_token: str = "",
    user_token: str = "",
) -> ET.Element:
    """A legacy ``<set/>`` of typed values, for an ``<iq type='set'/>`` or a ``<message/>``.

    Raises ProtocolError for enumerations (the legacy dialect has none: send
    the value as a string) and for values that do not fit their type.
    """
    el = ET.Element(_NS + "set")
    _tokens(el, service_token, device_token, user_token)
    _add_nodes(el, nodes)
    for count, v in enumerate(values, 1):
        if count > MAX_PARAMETERS:
            raise ProtocolError(f"a set may carry at most {MAX_PARAMETERS} parameters; split it")
        if v.type is ParameterType.ENUM:
            raise ProtocolError(
                f"control parameter {v.name!r}: the legacy dialect has no enumerations; send it as a string"
            )
        if not v.name:
            raise ProtocolError("a parameter value needs a non-empty name")
        try:
            lexical = to_lexical(v.type, v.value)
            control._check_xml_text(v.name)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"control parameter {v.name!r}: {exc}") from None
        ET.SubElement(el, _NS + v.type.value, name=v.name, value=lexical)
    return el


def build_set_form(
    values: Iterable[ParameterValue], *, session: str = "", nodes: Iterable[NodeRef] = ()
) -> ET.Element:
    """A legacy ``<set/>`` carrying a submitted (partial) control form."""
    current = control.build_set_form(values, session=session)
    el = ET.Element(_NS + "set")
    _add_nodes(el, nodes)
    el.extend(list(current))
    return el


def parse_set(element: ET.Element) -> control.SetRequest:
    """A legacy ``<set/>`` (from an iq or a message) to a :class:`~.control.SetRequest` in this namespace.

    Raises ProtocolError when malformed or too large, ParameterError (naming
    the parameter) when a value is missing or does not parse as its type.
    Answer a ParameterError to an iq with :func:`build_set_error`, whose
    second element slixmpp's client needs and a generic error answer lacks.
    """
    _expect(element, "set")
    values, nodes, form = control.read_set_children(
        element, LEGACY_CONTROL, "node", _parse_node, _TYPES, _parse_value, "a legacy control <set/>")
    attr = lambda n: control._attr(element, n, "<set/>", False)  # noqa: E731
    return control.SetRequest(values, nodes, form, attr("serviceToken"), attr("deviceToken"),
                              attr("userToken"), namespace=NAMESPACE)


def _parse_value(element: ET.Element, t: ParameterType) -> ParameterValue:
    what = f"<{t.value}/>"
    control._leaf(element, what)
    name = control._attr(element, "name", what)
    if not name:
        raise ProtocolError(f"{what} has an empty parameter name")
    text = element.get("value")
    if text is None and t is ParameterType.STRING:
        text = ""  # slixmpp deletes an attribute set to "": that is how it sends an empty string
    if text is None:
        raise ParameterError(name, "no value was given (the value attribute is missing)",
                             hint="send the value in the value attribute")
    try:
        # The plugin passes its user's strings through (str(True) is "True"),
        # and legacy peers mean local time by a dateTime without zone.
        value = control.from_lexical(t, text, naive_tz=LOCAL, lenient=True)
    except ValueError as exc:
        raise ParameterError(name, f"syntax error: {exc}", hint=f"send a valid {t} value") from None
    return ParameterValue(name, t, value)


# --- response --------------------------------------------------------------------


def build_set_response(
    *, nodes: Iterable[NodeRef] = (), parameters: Iterable[str] = (), response_code: str | None = "OK"
) -> ET.Element:
    """A ``<setResponse/>`` for the iq result of a legacy set.

    ``response_code='OK'`` is for slixmpp's client, whose callback reads
    nothing else; pass None for a strictly XEP-0325 0.3+ answer.
    """
    el = ET.Element(_NS + "setResponse")
    if response_code:
        el.set("responseCode", response_code)
    _add_nodes(el, nodes)
    for name in parameters:
        ET.SubElement(el, _NS + "parameter", name=control._xml_attr(name, "parameter name"))
    return el


def parse_set_response(element: ET.Element) -> LegacySetResponse:
    """A ``<setResponse/>`` to a :class:`LegacySetResponse` (the plugin's private ``<error/>`` is skipped)."""
    _expect(element, "setResponse")
    nodes, params = [], []
    for child in element:
        ns, local = control._split(child.tag)
        if ns == LEGACY_CONTROL and local == "node":
            if len(nodes) >= MAX_NODES:
                raise ProtocolError(f"a response may name at most {MAX_NODES} nodes")
            nodes.append(_parse_node(child))
        elif ns == LEGACY_CONTROL and local == "parameter":
            if len(params) >= MAX_PARAMETERS:
                raise ProtocolError(f"a response may name at most {MAX_PARAMETERS} parameters")
            control._leaf(child, "<parameter/>")
            params.append(control._attr(child, "name", "<parameter/>"))
        elif ns == LEGACY_CONTROL and local == "error":
            control._leaf(child, "<error/>")
        else:
            raise ProtocolError(f"unexpected {child.tag!r} in <setResponse/>")
    return LegacySetResponse(tuple(nodes), tuple(params), control._attr(element, "responseCode", "", False))


# --- errors ------------------------------------------------------------------------


def build_set_error(error: StanzaError, *, nodes: Iterable[NodeRef] = ()) -> tuple[ET.Element, ET.Element]:
    """The two children of an iq error refusing a legacy set: ``(<error/>, <setResponse/>)``.

    The first is what XEP-0325 0.3+ peers read (stanza condition and
    ``paramError``); the second is the 0.2 shape slixmpp's client needs to
    hear about the error at all. Put both into the ``<iq type='error'/>``.
    """
    stanza_error = control.build_error(error, namespace=LEGACY_CONTROL)
    code = _CONDITION_TO_CODE.get(error.condition, "OtherError")
    resp = build_set_response(nodes=nodes, response_code=code,
                              parameters=[error.parameter] if isinstance(error, ParameterError) else ())
    private = ET.SubElement(resp, _NS + "error")
    if isinstance(error, ParameterError):
        private.set("var", error.parameter)
    private.text = control._xml_attr(error.text or error.condition or "error", "error text")
    return stanza_error, resp


def parse_error(iq: ET.Element) -> StanzaError:
    """The refusal in a legacy iq error as an exception: ParameterError when a parameter is named.

    Reads the XEP's ``<error/>`` with ``paramError`` when there is one, else
    slixmpp's ``<setResponse responseCode=...>`` shape (see the module notes
    on its bogus ``var``).
    """
    if not isinstance(iq, ET.Element) or control._split(iq.tag)[1] != "iq":
        raise ProtocolError(f"expected the <iq/> of the error answer, got {getattr(iq, 'tag', iq)!r}")
    control._check_bounds(iq)
    std = next((c for c in iq if control._split(c.tag)[1] == "error"), None)
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
        return ParameterError(answer.parameters[0], text or code, condition=condition,
                              others=tuple((p, text or code) for p in answer.parameters[1:]))
    if answer.nodes:
        ids = ", ".join(n.id for n in answer.nodes)
        return StanzaError(f"the device refused node(s) {ids}: {code}" + (f" ({text})" if text else ""),
                           condition=condition, text=text)
    var = private.get("var") if private is not None else None
    if var:
        return ParameterError(var, text or code, condition=condition)
    return StanzaError(f"the device refused the request: {code}" + (f" ({text})" if text else ""),
                       condition=condition, text=text)


def _is_slixmpp_default(error: ET.Element) -> bool:
    """Whether ``error`` is the bare one slixmpp inserts into an error iq that has none.

    Devices of the 2014 draft (slixmpp's plugin) answer with only a ``<setResponse/>``;
    slixmpp, reading such an answer, adds ``<error type='cancel'><feature-not-implemented/>``,
    which would hide the device's own reason and the parameter it names.
    """
    return (error.get("type") == "cancel" and not (error.text or "").strip()
            and [c.tag for c in error] == [f"{{{STANZA_ERRORS}}}feature-not-implemented"])


# --- getForm and the form ----------------------------------------------------------


def build_get_form(
    *, nodes: Iterable[NodeRef] = (), service_token: str = "", device_token: str = "", user_token: str = ""
) -> ET.Element:
    """A legacy ``<getForm/>`` for an ``<iq type='get'/>``; the result's payload is the form."""
    el = ET.Element(_NS + "getForm")
    _tokens(el, service_token, device_token, user_token)
    _add_nodes(el, nodes)
    return el


def parse_get_form(element: ET.Element) -> tuple[NodeRef, ...]:
    """A legacy ``<getForm/>`` to the node references it names."""
    _expect(element, "getForm")
    nodes = []
    for child in element:
        if child.tag != _NS + "node":
            raise ProtocolError(f"unexpected {child.tag!r} in <getForm/>; only <node/> belongs there")
        if len(nodes) >= MAX_NODES:
            raise ProtocolError(f"a form request may name at most {MAX_NODES} nodes")
        nodes.append(_parse_node(child))
    return tuple(nodes)


def build_control_form(parameters: Iterable[ControlParameter], *, title: str = "", session: str = "") -> ET.Element:
    """The control form for a legacy ``<getForm/>`` (groups as ``<parameterGroup name=/>``)."""
    return control.build_control_form(parameters, title=title, session=session, namespace=LEGACY_CONTROL)

