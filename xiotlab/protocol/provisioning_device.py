"""Decision support, ``urn:nfi:iot:prov:d:1.0``: a device asks its provisioning service what to allow.

The device's side of provisioning (DecisionSupport.md, ProvisioningDevice.xsd)::

    device  iq get <isFriend jid=requester/>     ->  <isFriendResponse jid=.. result=../>
    device  iq get <canRead jid=.. (nd f cat all st dt ut)/>
                                                 ->  <canReadResponse jid=.. result=..> narrowed nd/f/categories
    device  iq get <canControl jid=.. (nd p st dt ut)/>
                                                 ->  <canControlResponse jid=.. result=..> narrowed nd/p
    service iq set <clearCache (id src pt)/>     ->  device answers an empty result and forgets its answers
    service message <friend jid=../>             the owner recommends: subscribe to jid's presence
    service message <unfriend jid=../>           the owner recommends: drop jid's subscription

A "yes" may be narrowed: the device then serves only the nodes, fields,
categories and parameters of the response, never those of its own request.
Tokens (``st``/``dt``/``ut``) are read and carried; the response has no room
for them in the schema, so they are not echoed. Every ``build_*`` takes the
namespace to write (``ns=``); every ``parse_*`` reads the current one and the
older names (``urn:nf:``, ``urn:ieee:``) and records it in ``namespace``, so
an answer goes back in the namespace of its question (:func:`answer_namespace`).

Limits: at most :data:`MAX_ITEMS` node references and at most as many field
or parameter names; names and node ids as in :mod:`.elements`.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Callable

from . import elements as x
from .namespaces import PROVISIONING_DEVICE, PROVISIONING_DEVICE_ALIASES
from .sensordata import read_categories, write_categories
from .values import Category, NodeRef, format_boolean

__all__ = [
    "NAMESPACES", "MAX_ITEMS",
    "IsFriend", "IsFriendResponse", "CanRead", "CanReadResponse", "CanControl", "CanControlResponse",
    "ClearCache", "Friend", "Unfriend",
    "build_is_friend", "parse_is_friend", "build_is_friend_response", "parse_is_friend_response",
    "build_can_read", "parse_can_read", "build_can_read_response", "parse_can_read_response",
    "build_can_control", "parse_can_control", "build_can_control_response", "parse_can_control_response",
    "build_clear_cache", "parse_clear_cache", "read_optional_node",
    "build_friend", "parse_friend", "build_unfriend", "parse_unfriend",
    "parse",
]  # fmt: skip

NAMESPACES: tuple[str, ...] = (PROVISIONING_DEVICE, *PROVISIONING_DEVICE_ALIASES)
"""Every namespace of decision support, the current one first."""

MAX_ITEMS = 1000
"""Most node references, and most field or parameter names, one question may carry."""

_DIALECT = "decision support"


def _normalize(obj: object, **fields: str) -> None:
    """Turn the sequences of a frozen dataclass into checked tuples (``name="what"`` for names)."""
    for name, what in fields.items():
        value = getattr(obj, name)
        object.__setattr__(obj, name, x.node_refs(value) if what == "nodes" else x.texts(value, what))


# --- the values -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IsFriend:
    """May ``jid`` (a bare JID) subscribe to the asking device's presence?"""

    jid: str
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)


@dataclasses.dataclass(frozen=True)
class IsFriendResponse:
    """The service's answer to :class:`IsFriend`."""

    jid: str
    result: bool
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)


@dataclasses.dataclass(frozen=True)
class CanRead:
    """May ``jid`` read these sensor data of the asking device?

    ``nodes`` empty: the device itself. ``fields`` empty: every field.
    ``categories``: ``Category.ALL`` is ``all="true"``; ``Category(0)``
    (none named) is taken to mean every category, as in a readout request.
    Tokens are space-separated lists, carried as received.
    """

    jid: str
    nodes: tuple[NodeRef, ...] = ()
    fields: tuple[str, ...] = ()
    categories: Category = Category(0)
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)

    def __post_init__(self) -> None:
        _normalize(self, nodes="nodes", fields="field names")
        if not isinstance(self.categories, Category):
            raise TypeError(f"categories must be Category flags, not {self.categories!r}")


@dataclasses.dataclass(frozen=True)
class CanReadResponse:
    """The answer to :class:`CanRead`; when ``result``, the device serves exactly this selection."""

    jid: str
    result: bool
    nodes: tuple[NodeRef, ...] = ()
    fields: tuple[str, ...] = ()
    categories: Category = Category(0)
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)

    def __post_init__(self) -> None:
        _normalize(self, nodes="nodes", fields="field names")


@dataclasses.dataclass(frozen=True)
class CanControl:
    """May ``jid`` set these control parameters (``parameters`` empty: any) of the asking device?"""

    jid: str
    nodes: tuple[NodeRef, ...] = ()
    parameters: tuple[str, ...] = ()
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)

    def __post_init__(self) -> None:
        _normalize(self, nodes="nodes", parameters="parameter names")


@dataclasses.dataclass(frozen=True)
class CanControlResponse:
    """The answer to :class:`CanControl`; when ``result``, the device performs exactly this selection."""

    jid: str
    result: bool
    nodes: tuple[NodeRef, ...] = ()
    parameters: tuple[str, ...] = ()
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)

    def __post_init__(self) -> None:
        _normalize(self, nodes="nodes", parameters="parameter names")


@dataclasses.dataclass(frozen=True)
class ClearCache:
    """Forget every cached answer (of ``node`` only, in a concentrator, when given)."""

    node: NodeRef | None = None
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)


@dataclasses.dataclass(frozen=True)
class Friend:
    """The owner recommends the device to ask ``jid`` for a presence subscription."""

    jid: str
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)


@dataclasses.dataclass(frozen=True)
class Unfriend:
    """The owner recommends the device to revoke ``jid``'s presence subscription."""

    jid: str
    namespace: str = dataclasses.field(default=PROVISIONING_DEVICE, compare=False)


DecisionElement = (IsFriend | IsFriendResponse | CanRead | CanReadResponse | CanControl | CanControlResponse) | (
    ClearCache | Friend | Unfriend
)


# --- shared pieces ------------------------------------------------------------------------


def _element(local: str, ns: str, **attributes: str) -> ET.Element:
    x.check_namespace(ns, NAMESPACES, _DIALECT)
    return ET.Element(x.qname(ns, local), {k: x.xml_text(v, k) for k, v in attributes.items()})


def _read_selection(element: ET.Element, ns: str, name_tag: str) -> tuple[tuple[NodeRef, ...], tuple[str, ...]]:
    """The ``<nd>`` references and the names of the ``name_tag`` children, limits enforced."""
    nodes: list[NodeRef] = []
    names: list[str] = []
    for local, child in x.children(element, ns):
        if local == "nd":
            nodes.append(x.read_node(child))
            x.check_limit(len(nodes), MAX_ITEMS, "node references", element)
        elif local == name_tag:
            names.append(x.required(child, "n", x.MAX_NAME_LENGTH))
            x.check_limit(len(names), MAX_ITEMS, "names", element)
    return tuple(nodes), tuple(names)


def _result(element: ET.Element) -> bool:
    if element.get("result") is None:
        raise x.missing(element, "result")
    return x.boolean(element, "result")


def _jid(element: ET.Element) -> str:
    return x.required(element, "jid", x.MAX_NAME_LENGTH)


# --- friendship -------------------------------------------------------------------------


def build_is_friend(question: IsFriend, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<isFriend jid=../>`` for an iq get to the provisioning service."""
    return _element("isFriend", ns, jid=question.jid)


@x.guard
def parse_is_friend(element: ET.Element) -> IsFriend:
    ns, _ = x.expect(element, NAMESPACES, ("isFriend",))
    return IsFriend(_jid(element), namespace=ns)


def build_is_friend_response(answer: IsFriendResponse, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    return _element("isFriendResponse", ns, jid=answer.jid, result=format_boolean(answer.result))


@x.guard
def parse_is_friend_response(element: ET.Element) -> IsFriendResponse:
    ns, _ = x.expect(element, NAMESPACES, ("isFriendResponse",))
    return IsFriendResponse(_jid(element), _result(element), namespace=ns)


def build_friend(recommendation: Friend, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<friend jid=../>`` for a message to the device."""
    return _element("friend", ns, jid=recommendation.jid)


@x.guard
def parse_friend(element: ET.Element) -> Friend:
    ns, _ = x.expect(element, NAMESPACES, ("friend",))
    return Friend(_jid(element), namespace=ns)


def build_unfriend(recommendation: Unfriend, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<unfriend jid=../>`` for a message to the device."""
    return _element("unfriend", ns, jid=recommendation.jid)


@x.guard
def parse_unfriend(element: ET.Element) -> Unfriend:
    ns, _ = x.expect(element, NAMESPACES, ("unfriend",))
    return Unfriend(_jid(element), namespace=ns)


# --- reading --------------------------------------------------------------------------------


def _build_read(local: str, ns: str, value: CanRead | CanReadResponse, **extra: str) -> ET.Element:
    element = _element(local, ns, jid=value.jid, **extra)
    write_categories(element, value.categories)
    x.add_nodes(element, x.qname(ns, "nd"), value.nodes)
    x.add_names(element, ns, "f", value.fields)
    return element


def build_can_read(question: CanRead, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<canRead>`` for an iq get: the readout's selection and tokens, ``jid`` its requester."""
    element = _build_read("canRead", ns, question)
    x.write_tokens(element, question.service_token, question.device_token, question.user_token)
    return element


@x.guard
def parse_can_read(element: ET.Element) -> CanRead:
    ns, _ = x.expect(element, NAMESPACES, ("canRead",))
    nodes, fields = _read_selection(element, ns, "f")
    categories = read_categories(element)
    return CanRead(_jid(element), nodes, fields, categories, **x.read_tokens(element), namespace=ns)


def build_can_read_response(answer: CanReadResponse, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<canReadResponse>``: the verdict and the (perhaps narrowed) selection the device may serve."""
    return _build_read("canReadResponse", ns, answer, result=format_boolean(answer.result))


@x.guard
def parse_can_read_response(element: ET.Element) -> CanReadResponse:
    ns, _ = x.expect(element, NAMESPACES, ("canReadResponse",))
    nodes, fields = _read_selection(element, ns, "f")
    return CanReadResponse(_jid(element), _result(element), nodes, fields, read_categories(element), namespace=ns)


# --- control --------------------------------------------------------------------------------


def _build_control(local: str, ns: str, value: CanControl | CanControlResponse, **extra: str) -> ET.Element:
    element = _element(local, ns, jid=value.jid, **extra)
    x.add_nodes(element, x.qname(ns, "nd"), value.nodes)
    x.add_names(element, ns, "p", value.parameters)
    return element


def build_can_control(question: CanControl, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<canControl>`` for an iq get: the parameters to set, ``jid`` who sets them."""
    element = _build_control("canControl", ns, question)
    x.write_tokens(element, question.service_token, question.device_token, question.user_token)
    return element


@x.guard
def parse_can_control(element: ET.Element) -> CanControl:
    ns, _ = x.expect(element, NAMESPACES, ("canControl",))
    nodes, parameters = _read_selection(element, ns, "p")
    return CanControl(_jid(element), nodes, parameters, **x.read_tokens(element), namespace=ns)


def build_can_control_response(answer: CanControlResponse, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<canControlResponse>``: the verdict and the (perhaps narrowed) nodes and parameters."""
    return _build_control("canControlResponse", ns, answer, result=format_boolean(answer.result))


@x.guard
def parse_can_control_response(element: ET.Element) -> CanControlResponse:
    ns, _ = x.expect(element, NAMESPACES, ("canControlResponse",))
    nodes, parameters = _read_selection(element, ns, "p")
    return CanControlResponse(_jid(element), _result(element), nodes, parameters, namespace=ns)


# --- the cache ------------------------------------------------------------------------------


def build_clear_cache(request: ClearCache, *, ns: str = PROVISIONING_DEVICE) -> ET.Element:
    """``<clearCache/>`` for an iq set to the device; a node's ``id``/``src``/``pt`` when given."""
    element = _element("clearCache", ns)
    if request.node is not None:
        element.attrib.update(x.node_element("nd", request.node).attrib)
    return element


@x.guard
def parse_clear_cache(element: ET.Element) -> ClearCache:
    ns, _ = x.expect(element, NAMESPACES, ("clearCache",))
    return ClearCache(read_optional_node(element), namespace=ns)


def read_optional_node(element: ET.Element) -> NodeRef | None:
    """The optional ``id``/``src``/``pt`` of an element: ``None`` when none is there, else ``id`` is required.

    Shared with the owner's side, whose ``clearCache`` and ``deleteRules`` carry the same group.
    """
    if not any(element.get(name) is not None for name in x.NODE_ATTRIBUTES):
        return None
    return x.read_node(element)


_PARSERS: dict[str, Callable[[ET.Element], DecisionElement]] = {
    "isFriend": parse_is_friend,
    "isFriendResponse": parse_is_friend_response,
    "canRead": parse_can_read,
    "canReadResponse": parse_can_read_response,
    "canControl": parse_can_control,
    "canControlResponse": parse_can_control_response,
    "clearCache": parse_clear_cache,
    "friend": parse_friend,
    "unfriend": parse_unfriend,
}


def parse(element: ET.Element) -> DecisionElement:
    """Read any decision support element, in any of its namespaces."""
    return x.dispatch(element, NAMESPACES, _PARSERS)
