"""A claimed thing's access rules, decided by its provisioning service on its owner's behalf.

The thing asks the service (``urn:nfi:iot:prov:d:1.0``) whenever someone other
than its owner wants something new: to befriend it, to read it, to control
it. Answers are kept until the service says ``clearCache``; a "yes" may come
narrowed to some fields or parameters, and then only those are served. The
service also recommends friendships (``friend``/``unfriend``), which the thing
follows. Stanzas of this kind are obeyed only from the thing's own service.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Hashable

from slixmpp import JID, Message

from ..errors import Forbidden, XmppError
from ..protocol import provisioning_device as prov
from ..protocol.values import Category, NodeRef
from ..runtime import XmppClient
from .roster import Roster
from .service import Service

log = logging.getLogger("xiotlab")

Ask = Callable[[str, ET.Element], Awaitable[ET.Element | None]]  # (service, question) -> answer


class ProvisionedRules:
    """Access by a provisioning service (the :class:`~xiotlab.roles.access.Access` port).

    ``owner`` and ``service`` are None until the thing is claimed and has found its service;
    meanwhile only friend requests wait, and nobody but an owner may read or control.
    """

    def __init__(self, thing: str, roster: Roster, ask: Ask) -> None:
        self.thing = thing
        self.roster = roster
        self.owner: str | None = None
        self.service: str | None = None
        self._ask = ask
        self.cache: dict[Hashable, object] = {}

    # --- the port ---------------------------------------------------------------

    def check_reader(self, sender: JID) -> None:
        if sender.bare == self.owner:
            return
        contact = self.roster.get(sender.bare)
        if contact is None or contact.subscription not in ("from", "both"):
            raise Forbidden(f"Only friends of {self.thing} may read it: send it a friend request first.")

    check_controller = check_reader  # what a friend may set, the service says (controllable)

    async def readable(
        self, sender: JID, fields: tuple[str, ...], categories: Category, nodes: tuple[NodeRef, ...] = ()
    ) -> tuple[str, ...]:
        self.check_reader(sender)
        if sender.bare == self.owner:
            return fields
        question = prov.CanRead(jid=sender.bare, nodes=nodes, fields=fields, categories=categories)
        key = ("read", sender.bare, nodes, fields, categories)
        answer = await self._answer(key, question, prov.parse_can_read_response)
        if not answer.result:
            raise self._refusal(sender, "read")
        _check_nodes(nodes, answer.nodes, sender, self.thing)
        return _narrowed(fields, answer.fields, sender, "fields", self.thing)

    async def controllable(
        self, sender: JID, parameters: tuple[str, ...], viewing: bool = False, nodes: tuple[NodeRef, ...] = ()
    ) -> tuple[str, ...]:
        self.check_reader(sender)
        if sender.bare == self.owner or viewing:
            # A friend sees the whole form, as a thing's own rules let it: the service is asked about
            # a set, for the parameters it sets, not about every parameter a form happens to list.
            return parameters
        question = prov.CanControl(jid=sender.bare, nodes=nodes, parameters=parameters)
        key = ("control", sender.bare, nodes, parameters)
        answer = await self._answer(key, question, prov.parse_can_control_response)
        if not answer.result:
            raise self._refusal(sender, "control")
        _check_nodes(nodes, answer.nodes, sender, self.thing)
        return _narrowed(parameters, answer.parameters, sender, "parameters", self.thing)

    async def may_befriend(self, requester: str) -> bool | None:
        if requester == self.owner:
            return True
        if self.owner is None or self.service is None:
            return None  # not claimed yet: the request waits for an owner
        answer = await self._answer(("friend", requester), prov.IsFriend(jid=requester), prov.parse_is_friend_response)
        return answer.result

    # --- answers and the cache ---------------------------------------------------------

    async def _answer(self, key: Hashable, question, parse):
        if key in self.cache:
            return self.cache[key]
        if self.service is None:
            raise Forbidden(f"{self.thing} has no provisioning service to ask: only its owner may use it now.")
        builder = _BUILDERS[type(question)]
        try:
            element = await self._ask(self.service, builder(question))
        except XmppError as e:
            raise Forbidden(f"{self.thing} could not ask its provisioning service ({e}), so it says no.") from None
        if element is None:
            raise Forbidden(f"{self.thing}'s provisioning service gave no answer, so it says no.")
        answer = parse(element)
        self.cache[key] = answer
        return answer

    def _refusal(self, sender: JID, what: str) -> Forbidden:
        return Forbidden(
            f"The owner of {self.thing} has not allowed {sender.bare} to {what} it: its provisioning service "
            "said no, and asks the owner where no rule decided. Try again once the owner has answered."
        )

    def clear(self) -> None:
        """Forget every answer (the service said its rules changed)."""
        self.cache.clear()


_BUILDERS: dict[type, Callable[..., ET.Element]] = {
    prov.CanRead: prov.build_can_read,
    prov.CanControl: prov.build_can_control,
    prov.IsFriend: prov.build_is_friend,
}


def _check_nodes(asked: tuple[NodeRef, ...], allowed: tuple[NodeRef, ...], sender: JID, thing: str) -> None:
    """Refuse a request for nodes the service's answer left out (an answer naming none allows all asked)."""
    refused = [ref.id for ref in asked if allowed and not any(a.names(ref) or ref.names(a) for a in allowed)]
    if refused:
        raise Forbidden(f"The owner of {thing} does not allow {sender.bare} node(s) {', '.join(refused)}.")


def _narrowed(asked: tuple[str, ...], allowed: tuple[str, ...], sender: JID, what: str, thing: str) -> tuple[str, ...]:
    """What is served of ``asked`` (``()``: all) when the service allowed ``allowed`` (``()``: as asked)."""
    if not allowed:
        return asked
    kept = tuple(name for name in asked if name in allowed) if asked else allowed
    if not kept:
        raise Forbidden(f"The owner of {thing} allows {sender.bare} none of the {what} asked for.")
    return kept


class ProvisioningObeyed(Service[XmppClient]):
    """What a claimed thing does when its provisioning service speaks: clear its cache, (un)befriend."""

    def __init__(self, client: XmppClient, rules: ProvisionedRules, befriend: Callable[[str], None],
                 unfriend: Callable[[str], None]) -> None:  # fmt: skip
        super().__init__(client)
        self.rules = rules
        self.befriend = befriend
        self.unfriend = unfriend

    def register(self) -> None:
        self.serve(prov.NAMESPACES, "clearCache", self._clear_cache, types=("set",))
        for ns in prov.NAMESPACES:
            self.route("message", f"{{{ns}}}friend", self._friend)
            self.route("message", f"{{{ns}}}unfriend", self._unfriend)

    def _from_service(self, sender: JID) -> bool:
        return self.rules.service is not None and sender.bare == self.rules.service

    async def _clear_cache(self, sender: JID, element: ET.Element):
        if not self._from_service(sender):
            raise Forbidden(f"Only {self.client.jid.bare}'s own provisioning service may clear its cache.")
        prov.parse_clear_cache(element)
        self.rules.clear()
        return None

    def _friend(self, message: Message, element: ET.Element) -> None:
        if self._from_service(message["from"]):
            self.befriend(prov.parse_friend(element).jid)
        else:
            log.info("ignored a friend recommendation from %s, not our provisioning service", message["from"])

    def _unfriend(self, message: Message, element: ET.Element) -> None:
        if self._from_service(message["from"]):
            self.unfriend(prov.parse_unfriend(element).jid)
        else:
            log.info("ignored an unfriend recommendation from %s, not our provisioning service", message["from"])
