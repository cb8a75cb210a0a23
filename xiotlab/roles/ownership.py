"""A thing's side of friendship under ownership: who may befriend it, and who decides.

A thing accepts its owner at once. Anyone else's friend request goes to the
owner as an ``isFriend`` question (``urn:nfi:iot:prov:o:1.0``), in a message
so that it waits in offline storage while the owner is away; the owner's
``isFriendRule`` answer (an iq while the thing is online, a message
otherwise) settles it, and with a Domain or All range, similar requests to
come. A thing without an owner follows its policy.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from slixmpp import JID, Message

from ..errors import Forbidden, ProtocolError
from ..protocol import provisioning
from ..protocol.namespaces import PROVISIONING_OWNER

if TYPE_CHECKING:
    from .thing import Thing

_RULE = f"{{{PROVISIONING_OWNER}}}isFriendRule"


class FriendshipService:
    """Decides one thing's friend requests (network thread)."""

    def __init__(self, thing: Thing, allowed: Callable[[str], bool]) -> None:
        self.thing = thing
        self.allowed = allowed  # the policy, for a thing without an owner
        self.rules: dict[tuple[provisioning.RuleRange, str], bool] = {}
        self.questions: dict[str, str] = {}  # requester -> key of the question sent to the owner
        thing._client.serve((PROVISIONING_OWNER,), "isFriendRule", self._rule_by_iq, types=("set",))
        thing._client.on("message", _RULE, self._rule_by_message)

    def decide(self, requester: str) -> None:
        """Accept, refuse, or ask the owner about a friend request from someone the thing did not ask."""
        owner = self.thing.owner
        if requester == owner:
            self.thing._accept(requester)
            return
        ruling = self.ruling(requester)
        if ruling is None and owner is None:
            ruling = self.allowed(requester)
        if ruling is None:
            self._ask_owner(requester)
        elif ruling:
            self.thing._accept(requester)
        else:
            self.thing._refuse(requester)

    def ruling(self, requester: str) -> bool | None:
        """What the owner's earlier rules say about ``requester``, if anything."""
        R = provisioning.RuleRange
        for key in ((R.CALLER, requester), (R.DOMAIN, requester.split("@")[-1]), (R.ALL, "")):
            if key in self.rules:
                return self.rules[key]
        return None

    def _ask_owner(self, requester: str) -> None:
        key = self.questions.setdefault(requester, secrets.token_hex(8))
        question = provisioning.IsFriend(jid=self.thing.jid, remote_jid=requester, key=key)
        self.thing._client.send_message(self.thing.owner, [provisioning.build_is_friend(question)])

    async def _rule_by_iq(self, sender: JID, element: ET.Element):
        self._apply(sender.bare, element)
        return None

    def _rule_by_message(self, message: Message, element: ET.Element) -> None:
        try:
            self._apply(message["from"].bare, element)
        except (ProtocolError, Forbidden):
            pass  # a message has nobody waiting for an error; the request stays pending

    def _apply(self, sender: str, element: ET.Element) -> None:
        thing = self.thing
        if sender != thing.owner:
            raise Forbidden(f"Only the owner of {thing.jid} may answer its friend requests.")
        rule = provisioning.parse_is_friend_rule(element)
        if rule.jid.split("/")[0] != thing.jid:
            raise ProtocolError(f"This rule is for {rule.jid}, not for {thing.jid}.")
        scope = {provisioning.RuleRange.CALLER: rule.remote_jid,
                 provisioning.RuleRange.DOMAIN: rule.remote_jid.split("@")[-1],
                 provisioning.RuleRange.ALL: ""}[rule.range]
        self.rules[(rule.range, scope)] = rule.result
        roster = thing._client.stream.client_roster
        waiting = {rule.remote_jid, *(str(jid) for jid in roster if roster[jid]["pending_in"])}
        for requester in waiting:
            ruling = self.ruling(requester)
            if ruling is None or not roster[requester]["pending_in"]:
                continue
            self.questions.pop(requester, None)
            if ruling:
                thing._accept(requester)
            else:
                thing._refuse(requester)
