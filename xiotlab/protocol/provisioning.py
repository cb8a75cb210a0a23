"""The owner's side of provisioning (``urn:nfi:iot:prov:o:1.0``): questions, rules, and device management.

Provisioning.md and ProvisioningOwner.xsd. Whoever decides for a thing (the
provisioning service, or a thing acting as its own) asks its owner in a
``<message>`` (so that offline storage delivers it when the owner logs in)::

    <isFriend jid=thing remoteJid=requester key=../>
    <canRead jid=thing remoteJid=requester key=..> nd? f* categories all tokens
    <canControl jid=thing remoteJid=requester key=..> nd? <partial> p* </partial> tokens

and the owner answers, in human time, with a rule in an iq set::

    <isFriendRule jid remoteJid key result range=Caller|Domain|All/>
    <canReadRule jid remoteJid key result> nd? <partial f* categories all/>? origin
    <canControlRule jid remoteJid key result> nd? <partial p*/>? origin

where origin is exactly one of ``<fromJid/>``, ``<fromDomain/>``,
``<fromService token/>``, ``<fromDevice token/>``, ``<fromUser token/>``,
``<all/>`` (:class:`Origin`). The owner also sends ``<clearCache>``,
``<deleteRules>`` (iq set) and ``<getDevices offset maxCount>`` (iq get,
answered by a discovery ``<found more>``).

Every ``parse_*`` reads the current namespace and the older names
(``urn:nf:``, ``urn:ieee:``), recording it in ``namespace``; ``build_*``
take ``ns=``. The question and rule elements of reading and control live in
:mod:`.provisioning_rules`, re-exported here.
"""

from __future__ import annotations

import dataclasses
import enum
import xml.etree.ElementTree as ET
from typing import TypeVar

from ..errors import ProtocolError
from . import elements as x
from .namespaces import DISCOVERY, DISCOVERY_ALIASES
from .provisioning_device import read_optional_node
from .provisioning_rules import (
    NAMESPACES,
    NS,
    CanControl,
    CanControlRule,
    CanRead,
    CanReadRule,
    Origin,
    OriginKind,
    ReadPartial,
    attributes,
    build_can_control,
    build_can_control_rule,
    build_can_read,
    build_can_read_rule,
    owner_element,
    parse_can_control,
    parse_can_control_rule,
    parse_can_read,
    parse_can_read_rule,
    read_result,
)
from .values import NodeRef

__all__ = [
    "NS", "NAMESPACES", "DISCOVERY_NAMESPACES", "MAX_DEVICES_PAGE", "RuleRange",
    "IsFriend", "IsFriendRule", "build_is_friend", "parse_is_friend", "build_is_friend_rule", "parse_is_friend_rule",
    "ClearCache", "DeleteRules", "GetDevices", "FoundDevice", "Devices",
    "build_clear_cache", "parse_clear_cache", "build_delete_rules", "parse_delete_rules",
    "build_get_devices", "parse_get_devices", "discovery_namespace", "build_found", "parse_found", "read_result",
    "CanRead", "CanReadRule", "CanControl", "CanControlRule", "Origin", "OriginKind", "ReadPartial",
    "build_can_read", "parse_can_read", "build_can_read_rule", "parse_can_read_rule",
    "build_can_control", "parse_can_control", "build_can_control_rule", "parse_can_control_rule",
]  # fmt: skip

DISCOVERY_NAMESPACES: tuple[str, ...] = (DISCOVERY, *DISCOVERY_ALIASES)
"""Where ``getDevices`` answers live: the registry's ``<found>``, in the dialect matching the request's."""

MAX_DEVICES_PAGE = 100
"""Most devices one ``getDevices`` answer lists; a larger ``maxCount`` is cut to it (``more`` says the rest)."""


class RuleRange(enum.Enum):
    """Which future requests an owner's answer also covers."""

    CALLER = "Caller"  # only the same requester
    DOMAIN = "Domain"  # anyone on the requester's domain
    ALL = "All"  # anyone


@dataclasses.dataclass(frozen=True)
class IsFriend:
    """The question "may ``remote_jid`` befriend thing ``jid``?", identified by ``key``."""

    jid: str
    remote_jid: str
    key: str
    namespace: str = dataclasses.field(default=NS, compare=False)


@dataclasses.dataclass(frozen=True)
class IsFriendRule:
    """The owner's answer to an :class:`IsFriend` question."""

    jid: str
    remote_jid: str
    key: str
    result: bool
    range: RuleRange = RuleRange.CALLER
    namespace: str = dataclasses.field(default=NS, compare=False)


def build_is_friend(question: IsFriend, *, ns: str = NS) -> ET.Element:
    return owner_element("isFriend", ns, jid=question.jid, remoteJid=question.remote_jid, key=question.key)


def parse_is_friend(element: ET.Element) -> IsFriend:
    ns, values = attributes(element, "isFriend", jid="jid", remote_jid="remoteJid", key="key")
    return IsFriend(**values, namespace=ns)


def build_is_friend_rule(rule: IsFriendRule, *, ns: str = NS) -> ET.Element:
    return owner_element(
        "isFriendRule",
        ns,
        jid=rule.jid,
        remoteJid=rule.remote_jid,
        key=rule.key,
        result="true" if rule.result else "false",
        range=rule.range.value,
    )


def parse_is_friend_rule(element: ET.Element) -> IsFriendRule:
    ns, values = attributes(element, "isFriendRule", jid="jid", remote_jid="remoteJid", key="key")
    try:
        rule_range = RuleRange(element.get("range", RuleRange.CALLER.value))
    except ValueError:
        raise ProtocolError(
            f"isFriendRule has range={element.get('range')!r}; use one of Caller, Domain, All."
        ) from None
    return IsFriendRule(**values, result=read_result(element), range=rule_range, namespace=ns)


# --- managing devices: clearCache, deleteRules, getDevices ---------------------------------


@dataclasses.dataclass(frozen=True)
class _Targeted:
    """A request about device ``jid`` (all the owner's devices: ``None``), or one ``node`` of it."""

    jid: str | None = None
    node: NodeRef | None = None
    namespace: str = dataclasses.field(default=NS, compare=False)


@dataclasses.dataclass(frozen=True)
class ClearCache(_Targeted):
    """The owner asks that device ``jid`` (all its devices: ``None``) forget its cached answers.

    ``node`` narrows it to one node of a concentrator.
    """


@dataclasses.dataclass(frozen=True)
class DeleteRules(_Targeted):
    """The owner deletes every rule of device ``jid`` (all its devices: ``None``), or of one ``node``."""


@dataclasses.dataclass(frozen=True)
class GetDevices:
    """The owner lists its devices, ``max_count`` (``None``: as many as the service gives) from ``offset``."""

    offset: int = 0
    max_count: int | None = None
    namespace: str = dataclasses.field(default=NS, compare=False)

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise ValueError(f"offset must be 0 or more, not {self.offset}")
        if self.max_count is not None and self.max_count < 1:
            raise ValueError(f"max_count must be 1 or more (or None), not {self.max_count}")


@dataclasses.dataclass(frozen=True)
class FoundDevice:
    """One device in a ``getDevices`` answer: its bare JID and its owner's."""

    jid: str
    owner: str


@dataclasses.dataclass(frozen=True)
class Devices:
    """A page of the owner's devices; ``more`` when further pages follow."""

    devices: tuple[FoundDevice, ...] = ()
    more: bool = False
    namespace: str = dataclasses.field(default=DISCOVERY, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(self.devices))


def _build_targeted(local: str, value: _Targeted, ns: str) -> ET.Element:
    element = owner_element(local, ns)
    x.put(element, "jid", value.jid)
    if value.node is not None:
        element.attrib.update(x.node_element("nd", value.node).attrib)
    return element


def _expect(element: ET.Element, local: str) -> str:
    ns, _ = x.expect(element, NAMESPACES, (local,))
    return ns


_T = TypeVar("_T", bound=_Targeted)


def _read_targeted(element: ET.Element, local: str, kind: type[_T]) -> _T:
    ns = _expect(element, local)
    return kind(x.optional(element, "jid", x.MAX_NAME_LENGTH), read_optional_node(element), namespace=ns)


def build_clear_cache(request: ClearCache, *, ns: str = NS) -> ET.Element:
    return _build_targeted("clearCache", request, ns)


@x.guard
def parse_clear_cache(element: ET.Element) -> ClearCache:
    return _read_targeted(element, "clearCache", ClearCache)


def build_delete_rules(request: DeleteRules, *, ns: str = NS) -> ET.Element:
    return _build_targeted("deleteRules", request, ns)


@x.guard
def parse_delete_rules(element: ET.Element) -> DeleteRules:
    return _read_targeted(element, "deleteRules", DeleteRules)


def build_get_devices(request: GetDevices, *, ns: str = NS) -> ET.Element:
    element = owner_element("getDevices", ns)
    if request.offset:
        element.set("offset", str(request.offset))
    if request.max_count is not None:
        element.set("maxCount", str(request.max_count))
    return element


@x.guard
def parse_get_devices(element: ET.Element) -> GetDevices:
    ns = _expect(element, "getDevices")
    offset = _count(element, "offset", minimum=0)
    return GetDevices(0 if offset is None else offset, _count(element, "maxCount", minimum=1), namespace=ns)


def _count(element: ET.Element, name: str, *, minimum: int) -> int | None:
    text = x.optional(element, name)
    if text is None:
        return None
    word = text.strip()
    if not word.lstrip("+").isdigit() or len(word) > 12 or int(word) < minimum:
        kind = "xs:nonNegativeInteger" if minimum == 0 else "xs:positiveInteger"
        raise ProtocolError(f"{x.where(element, name)} is {text!r}; it must be an {kind} of at most 12 digits")
    return int(word)


def discovery_namespace(owner_ns: str) -> str:
    """The registry namespace of the same dialect as ``owner_ns``: where a ``getDevices`` answer goes."""
    return DISCOVERY_NAMESPACES[NAMESPACES.index(owner_ns)] if owner_ns in NAMESPACES else DISCOVERY


def build_found(page: Devices, *, ns: str = DISCOVERY) -> ET.Element:
    """``<found more=..>`` with one ``<thing jid owner/>`` a device, answering ``getDevices``."""
    x.check_namespace(ns, DISCOVERY_NAMESPACES, "discovery")
    element = ET.Element(x.qname(ns, "found"))
    x.put_true(element, "more", page.more)
    for device in page.devices:
        ET.SubElement(element, x.qname(ns, "thing"), owner=device.owner, jid=device.jid)
    return element


@x.guard
def parse_found(element: ET.Element) -> Devices:
    ns, _ = x.expect(element, DISCOVERY_NAMESPACES, ("found",))
    devices = []
    for local, child in x.children(element, ns):
        if local == "thing":
            devices.append(FoundDevice(x.required(child, "jid"), x.required(child, "owner")))
            x.check_limit(len(devices), 10 * MAX_DEVICES_PAGE, "things", element)
    return Devices(tuple(devices), x.boolean(element, "more"), namespace=ns)
