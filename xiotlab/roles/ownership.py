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

from slixmpp import JID, Message

from ..errors import Forbidden, ProtocolError
from ..protocol import provisioning
from ..protocol.namespaces import PROVISIONING_OWNER
from ..runtime import XmppClient, network
from .access import Access
from .service import Service

_RULE = f"{{{PROVISIONING_OWNER}}}isFriendRule"


class FriendshipService(Service[XmppClient]):
    """Decides one thing's friend requests (network thread).

    ``rules`` holds the owner's decisions by range; ``allowed`` is the policy of a thing without an owner
    (None: leave the request waiting, as a thing waiting to be claimed does).
    """

    def __init__(self, client: XmppClient, access: Access, allowed: Callable[[str], bool | None]) -> None:
        super().__init__(client)
        self.access = access
        self.allowed = allowed
        self.rules: dict[tuple[provisioning.RuleRange, str], bool] = {}
        self.questions: dict[str, str] = {}  # requester -> key of the question sent to the owner

    def register(self) -> None:
        self.serve((PROVISIONING_OWNER,), "isFriendRule", self._rule_by_iq, types=("set",))
        self.route("message", _RULE, self._rule_by_message)

    def decide(self, requester: str) -> None:
        """Accept, refuse, or ask the owner about a friend request from someone the thing did not ask."""
        network.spawn(self._decide(requester))

    def decide_waiting(self) -> None:
        """Decide again every request still waiting (the thing just learned who its owner is)."""
        for requester in self.client.waiting_friends():
            self.decide(requester)

    async def _decide(self, requester: str) -> None:
        ruling = await self.access.may_befriend(requester)
        owner = self.access.owner
        if ruling is None:
            ruling = self.ruling(requester)
        if ruling is None and owner is None:
            ruling = self.allowed(requester)
        if ruling is not None:
            self._settle(requester, ruling)
        elif owner is not None:
            self._ask_owner(owner, requester)

    def ruling(self, requester: str) -> bool | None:
        """What the owner's earlier rules say about ``requester``, if anything."""
        R = provisioning.RuleRange
        for key in ((R.CALLER, requester), (R.DOMAIN, requester.split("@")[-1]), (R.ALL, "")):
            if key in self.rules:
                return self.rules[key]
        return None

    def _settle(self, requester: str, ruling: bool) -> None:
        self.questions.pop(requester, None)
        if ruling:
            self.client.accept_friend(requester)
        else:
            self.client.refuse_friend(requester)

    def _ask_owner(self, owner: str, requester: str) -> None:
        key = self.questions.setdefault(requester, secrets.token_hex(8))
        question = provisioning.IsFriend(jid=self.client.jid.bare, remote_jid=requester, key=key)
        self.client.send_message(owner, [provisioning.build_is_friend(question)])

    async def _rule_by_iq(self, sender: JID, element: ET.Element):
        self._apply(sender.bare, element)
        return None

    def _rule_by_message(self, message: Message, element: ET.Element) -> None:
        try:
            self._apply(message["from"].bare, element)
        except (ProtocolError, Forbidden):
            pass  # a message has nobody waiting for an error; the request stays pending

    def _apply(self, sender: str, element: ET.Element) -> None:
        thing = self.client.jid.bare
        if sender != self.access.owner:
            raise Forbidden(f"Only the owner of {thing} may answer its friend requests.")
        rule = provisioning.parse_is_friend_rule(element)
        if rule.jid.split("/")[0] != thing:
            raise ProtocolError(f"This rule is for {rule.jid}, not for {thing}.")
        scope = {
            provisioning.RuleRange.CALLER: rule.remote_jid,
            provisioning.RuleRange.DOMAIN: rule.remote_jid.split("@")[-1],
            provisioning.RuleRange.ALL: "",
        }[rule.range]
        self.rules[(rule.range, scope)] = rule.result
        waiting = self.client.waiting_friends()
        for requester in waiting:
            ruling = self.ruling(requester)
            if ruling is not None:
                self._settle(requester, ruling)
