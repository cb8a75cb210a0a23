"""The owner's questions and rules about reading and control (``urn:nfi:iot:prov:o:1.0``).

Split from :mod:`.provisioning` (which re-exports everything here) to keep
each module readable; the helpers every owner element uses live here too.

A question (``canRead``, ``canControl``) tells the owner what a requester
tried: one node at most (a device's question about several nodes becomes one
question a node), the fields and categories, or the parameters, and the
requester's tokens. The owner's rule (``canReadRule``, ``canControlRule``)
says yes or no, perhaps only for a ``<partial>`` selection, and to whom it
applies from now on: the :class:`Origin`.

The schema (ProvisioningOwner.xsd) puts a ``canControl`` question's
parameters inside ``<partial>``, while the page (Provisioning.md) speaks of
the request's "parameter specifications"; we write them inside
``<partial>`` so that what we send validates, and read them either way.
"""

from __future__ import annotations

import dataclasses
import enum
import xml.etree.ElementTree as ET

from ..errors import ProtocolError
from . import elements as x
from .namespaces import PROVISIONING_OWNER, PROVISIONING_OWNER_ALIASES
from .sensordata import read_categories, write_categories
from .values import Category, NodeRef, check_xml_text, format_boolean

NS = PROVISIONING_OWNER
NAMESPACES: tuple[str, ...] = (PROVISIONING_OWNER, *PROVISIONING_OWNER_ALIASES)
"""Every namespace of the owner's side, the current one first."""

MAX_ITEMS = 1000
"""Most field or parameter names one question or rule may carry."""


# --- helpers of every owner element ----------------------------------------------------


def owner_element(local: str, ns: str, **attributes: str) -> ET.Element:
    """``<local>`` in ``ns`` (one of :data:`NAMESPACES`) with text attributes."""
    x.check_namespace(ns, NAMESPACES, "provisioning (owner)")
    return ET.Element(x.qname(ns, local), {k: x.xml_text(v, k) for k, v in attributes.items()})


def attributes(element: ET.Element, tag: str, **names: str) -> tuple[str, dict[str, str]]:
    """The namespace of ``<tag>`` and its required, non-empty attributes (``field="wireName"``)."""
    if not isinstance(element, ET.Element):
        raise ProtocolError(f"Expected an XML element <{tag}>, got {type(element).__name__}.")
    ns, local = x.split(element.tag)
    if local != tag or ns not in NAMESPACES:
        raise ProtocolError(f"Expected <{tag} xmlns='{NS}'> (or an older name of it), got {element.tag}.")
    values = {name: element.get(wire, "") for name, wire in names.items()}
    missing = [wire for name, wire in names.items() if not values[name]]
    if missing:
        raise ProtocolError(f"<{tag}> lacks the required attribute(s) {', '.join(missing)}.")
    for name, wire in names.items():
        if not isinstance(values[name], str) or len(values[name]) > x.MAX_NAME_LENGTH:
            raise ProtocolError(f"<{tag}>'s {wire} must be text of at most {x.MAX_NAME_LENGTH} characters.")
    return ns, values


def read_result(element: ET.Element) -> bool:
    """The required xs:boolean ``result`` of a rule."""
    tag = x.split(element.tag)[1]
    result = element.get("result")
    if result is None:
        raise ProtocolError(f"<{tag}> lacks the required attribute result (true or false).")
    if result not in ("true", "false", "1", "0"):
        raise ProtocolError(f"{tag} has result={result!r}; it must be an xs:boolean (true or false).")
    return result in ("true", "1")


def _node(value: NodeRef | None) -> NodeRef | None:
    if value is not None and not isinstance(value, NodeRef):
        raise TypeError(f"node must be a NodeRef or None, not {value!r}")
    return value


def _header(element: ET.Element, tag: str) -> tuple[str, str, str, str]:
    """Namespace, ``jid``, ``remoteJid`` and ``key`` of a question or rule."""
    ns, values = attributes(element, tag, jid="jid", remote_jid="remoteJid", key="key")
    return ns, values["jid"], values["remote_jid"], values["key"]


def _read_children(element: ET.Element, ns: str, name_tag: str) -> tuple[NodeRef | None, list[str], ET.Element | None]:
    """The one ``<nd>``, the names of direct ``name_tag`` children, and the ``<partial>`` element."""
    node: NodeRef | None = None
    names: list[str] = []
    partial: ET.Element | None = None
    for local, child in x.children(element, ns):
        if local == "nd":
            if node is not None:
                raise ProtocolError(f"{x.describe(element)} names more than one <nd>; send one question a node")
            node = x.read_node(child)
        elif local == name_tag:
            names.append(x.required(child, "n", x.MAX_NAME_LENGTH))
            x.check_limit(len(names), MAX_ITEMS, "names", element)
        elif local == "partial":
            partial = child
    return node, names, partial


def _partial_names(partial: ET.Element, ns: str, name_tag: str) -> list[str]:
    return _read_children(partial, ns, name_tag)[1]


def _add_node(element: ET.Element, ns: str, node: NodeRef | None) -> None:
    if node is not None:
        element.append(x.node_element(x.qname(ns, "nd"), node))


# --- origins ----------------------------------------------------------------------------


class OriginKind(enum.Enum):
    """To whom a rule applies from now on; the value is the element naming it."""

    JID = "fromJid"  # the requester's bare JID
    DOMAIN = "fromDomain"  # anyone on the requester's domain
    SERVICE = "fromService"  # requests carrying this service token
    DEVICE = "fromDevice"  # requests carrying this device token
    USER = "fromUser"  # requests carrying this user token
    ALL = "all"  # anyone

    @property
    def by_token(self) -> bool:
        """Whether the origin is a token (the rule names it in ``token``)."""
        return self in (OriginKind.SERVICE, OriginKind.DEVICE, OriginKind.USER)


_ORIGINS = {kind.value: kind for kind in OriginKind}


@dataclasses.dataclass(frozen=True)
class Origin:
    """The origin of a rule: a kind, and for the token kinds the token."""

    kind: OriginKind
    token: str | None = None

    def __post_init__(self) -> None:
        if self.kind.by_token != (self.token is not None):
            need = "needs a token" if self.kind.by_token else "takes no token"
            raise ValueError(f"origin {self.kind.value} {need}")
        if self.token is not None:
            check_xml_text(self.token, "origin token")


def _build_origin(element: ET.Element, ns: str, origin: Origin) -> None:
    child = ET.SubElement(element, x.qname(ns, origin.kind.value))
    x.put(child, "token", origin.token)


def _read_origin(element: ET.Element, ns: str) -> Origin:
    found = [(local, child) for local, child in x.children(element, ns) if local in _ORIGINS]
    if len(found) != 1:
        choices = ", ".join(f"<{name}/>" for name in _ORIGINS)
        raise ProtocolError(f"{x.describe(element)} needs exactly one origin of {choices}; it has {len(found)}")
    local, child = found[0]
    kind = _ORIGINS[local]
    token = x.required(child, "token", x.MAX_TOKEN_LENGTH) if kind.by_token else None
    return Origin(kind, token)


# --- what questions and rules share ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Question:
    """A question to the owner: may ``remote_jid`` do this to thing ``jid`` (one ``node`` of it, perhaps)?"""

    jid: str
    remote_jid: str
    key: str
    node: NodeRef | None = None

    def __post_init__(self) -> None:
        _node(self.node)


@dataclasses.dataclass(frozen=True)
class _Rule:
    """The owner's answer to the question ``key``: ``result``, and to whom it applies from now on."""

    jid: str
    remote_jid: str
    key: str
    result: bool
    origin: Origin
    node: NodeRef | None = None

    def __post_init__(self) -> None:
        _node(self.node)


# --- reading ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReadPartial:
    """What a yes to reading covers: ``fields`` (empty: any) of ``categories`` (``Category(0)``: any)."""

    fields: tuple[str, ...] = ()
    categories: Category = Category(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", x.texts(self.fields, "field names"))


@dataclasses.dataclass(frozen=True)
class CanRead(_Question):
    """The service asks the owner: may ``remote_jid`` read these data of thing ``jid``?"""

    fields: tuple[str, ...] = ()
    categories: Category = Category(0)
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    namespace: str = dataclasses.field(default=NS, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", x.texts(self.fields, "field names"))
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class CanReadRule(_Rule):
    """The owner's answer to :class:`CanRead`; ``partial`` ``None``: the whole request."""

    partial: ReadPartial | None = None
    namespace: str = dataclasses.field(default=NS, compare=False)


def build_can_read(question: CanRead, *, ns: str = NS) -> ET.Element:
    """``<canRead>`` for a message to the owner."""
    element = owner_element("canRead", ns, jid=question.jid, remoteJid=question.remote_jid, key=question.key)
    write_categories(element, question.categories)
    x.write_tokens(element, question.service_token, question.device_token, question.user_token)
    _add_node(element, ns, question.node)
    x.add_names(element, ns, "f", question.fields)
    return element


@x.guard
def parse_can_read(element: ET.Element) -> CanRead:
    ns, jid, remote_jid, key = _header(element, "canRead")
    node, fields, _ = _read_children(element, ns, "f")
    categories = read_categories(element)
    return CanRead(
        jid,
        remote_jid,
        key,
        node=node,
        fields=tuple(fields),
        categories=categories,
        **x.read_tokens(element),
        namespace=ns,
    )


def build_can_read_rule(rule: CanReadRule, *, ns: str = NS) -> ET.Element:
    """``<canReadRule>`` for an iq set to the provisioning service."""
    element = owner_element(
        "canReadRule", ns, jid=rule.jid, remoteJid=rule.remote_jid, key=rule.key, result=format_boolean(rule.result)
    )
    _add_node(element, ns, rule.node)
    if rule.partial is not None:
        partial = ET.SubElement(element, x.qname(ns, "partial"))
        write_categories(partial, rule.partial.categories)
        x.add_names(partial, ns, "f", rule.partial.fields)
    _build_origin(element, ns, rule.origin)
    return element


@x.guard
def parse_can_read_rule(element: ET.Element) -> CanReadRule:
    ns, jid, remote_jid, key = _header(element, "canReadRule")
    node, _, partial = _read_children(element, ns, "f")
    selection = None
    if partial is not None:
        selection = ReadPartial(tuple(_partial_names(partial, ns, "f")), read_categories(partial))
    origin = _read_origin(element, ns)
    return CanReadRule(jid, remote_jid, key, read_result(element), origin, node, selection, namespace=ns)


# --- control ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CanControl(_Question):
    """The service asks the owner: may ``remote_jid`` set these ``parameters`` (empty: any) of thing ``jid``?"""

    parameters: tuple[str, ...] = ()
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    namespace: str = dataclasses.field(default=NS, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", x.texts(self.parameters, "parameter names"))
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class CanControlRule(_Rule):
    """The owner's answer to :class:`CanControl`; ``partial`` ``None``: any parameter, else only these."""

    partial: tuple[str, ...] | None = None
    namespace: str = dataclasses.field(default=NS, compare=False)

    def __post_init__(self) -> None:
        if self.partial is not None:
            object.__setattr__(self, "partial", x.texts(self.partial, "parameter names"))
        super().__post_init__()


def build_can_control(question: CanControl, *, ns: str = NS) -> ET.Element:
    """``<canControl>`` for a message to the owner; the parameters inside ``<partial>``, as the schema has it."""
    element = owner_element("canControl", ns, jid=question.jid, remoteJid=question.remote_jid, key=question.key)
    x.write_tokens(element, question.service_token, question.device_token, question.user_token)
    _add_node(element, ns, question.node)
    if question.parameters:
        x.add_names(ET.SubElement(element, x.qname(ns, "partial")), ns, "p", question.parameters)
    return element


@x.guard
def parse_can_control(element: ET.Element) -> CanControl:
    ns, jid, remote_jid, key = _header(element, "canControl")
    node, names, partial = _read_children(element, ns, "p")
    if partial is not None:
        names += _partial_names(partial, ns, "p")
    return CanControl(jid, remote_jid, key, node=node, parameters=tuple(names), **x.read_tokens(element), namespace=ns)


def build_can_control_rule(rule: CanControlRule, *, ns: str = NS) -> ET.Element:
    """``<canControlRule>`` for an iq set to the provisioning service."""
    element = owner_element(
        "canControlRule", ns, jid=rule.jid, remoteJid=rule.remote_jid, key=rule.key, result=format_boolean(rule.result)
    )
    _add_node(element, ns, rule.node)
    if rule.partial is not None:
        x.add_names(ET.SubElement(element, x.qname(ns, "partial")), ns, "p", rule.partial)
    _build_origin(element, ns, rule.origin)
    return element


@x.guard
def parse_can_control_rule(element: ET.Element) -> CanControlRule:
    ns, jid, remote_jid, key = _header(element, "canControlRule")
    node, _, partial = _read_children(element, ns, "p")
    selection = None if partial is None else tuple(_partial_names(partial, ns, "p"))
    origin = _read_origin(element, ns)
    return CanControlRule(jid, remote_jid, key, read_result(element), origin, node, selection, namespace=ns)
