"""Friendship questions and rules (``urn:nfi:iot:prov:o:1.0``, the owner's side of provisioning).

A thing with an owner acts as its own provisioning service: when someone
else asks to befriend it, it sends its owner an ``isFriend`` question in a
``<message>`` (so offline storage delivers it when the owner logs in), and
the owner answers with an ``isFriendRule``.
"""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..errors import ProtocolError
from .namespaces import PROVISIONING_OWNER as NS


class RuleRange(enum.Enum):
    """Which future requests an owner's answer also covers."""

    CALLER = "Caller"  # only the same requester
    DOMAIN = "Domain"  # anyone on the requester's domain
    ALL = "All"  # anyone


@dataclass(frozen=True)
class IsFriend:
    """The question "may ``remote_jid`` befriend thing ``jid``?", identified by ``key``."""

    jid: str
    remote_jid: str
    key: str


@dataclass(frozen=True)
class IsFriendRule:
    """The owner's answer to an :class:`IsFriend` question."""

    jid: str
    remote_jid: str
    key: str
    result: bool
    range: RuleRange = RuleRange.CALLER


def build_is_friend(question: IsFriend) -> ET.Element:
    return ET.Element(f"{{{NS}}}isFriend", jid=question.jid, remoteJid=question.remote_jid, key=question.key)


def parse_is_friend(element: ET.Element) -> IsFriend:
    return IsFriend(**_attributes(element, "isFriend", jid="jid", remote_jid="remoteJid", key="key"))


def build_is_friend_rule(rule: IsFriendRule) -> ET.Element:
    return ET.Element(
        f"{{{NS}}}isFriendRule",
        jid=rule.jid,
        remoteJid=rule.remote_jid,
        key=rule.key,
        result="true" if rule.result else "false",
        range=rule.range.value,
    )


def parse_is_friend_rule(element: ET.Element) -> IsFriendRule:
    values = _attributes(element, "isFriendRule", jid="jid", remote_jid="remoteJid", key="key", result="result")
    result = values.pop("result")
    if result not in ("true", "false", "1", "0"):
        raise ProtocolError(f"isFriendRule has result={result!r}; it must be an xs:boolean (true or false).")
    try:
        rule_range = RuleRange(element.get("range", RuleRange.CALLER.value))
    except ValueError:
        raise ProtocolError(
            f"isFriendRule has range={element.get('range')!r}; use one of Caller, Domain, All."
        ) from None
    return IsFriendRule(**values, result=result in ("true", "1"), range=rule_range)


def _attributes(element: ET.Element, tag: str, **names: str) -> dict[str, str]:
    if element.tag != f"{{{NS}}}{tag}":
        raise ProtocolError(f"Expected <{tag} xmlns='{NS}'>, got {element.tag}.")
    values = {name: element.get(wire, "") for name, wire in names.items()}
    missing = [wire for name, wire in names.items() if not values[name]]
    if missing:
        raise ProtocolError(f"<{tag}> lacks the required attribute(s) {', '.join(missing)}.")
    return values
