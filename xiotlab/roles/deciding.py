"""An owner and a provisioning service: questions about its things in, rules out, devices listed.

The service asks the owner in messages (``isFriend``, ``canRead``,
``canControl``; offline storage keeps them while the owner is away), which
become requests in the owner's one inbox; the owner's answers go back as
rules (``isFriendRule``, ``canReadRule``, ``canControlRule``), for the caller,
its domain or anyone, perhaps for some fields or parameters only. Questions
are believed only from the provisioning service of the owner's domain, or of the domain of the
thing they are about (a thing claimed on another, federated lab).
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable

from slixmpp import Message

from ..errors import ProtocolError
from ..protocol import provisioning as prov
from ..protocol.provisioning import Origin, OriginKind, RuleRange
from ..runtime import XmppClient, network
from .friendship import ControlRequest, FriendRequest, Parts, ReadRequest
from .peers import Peers
from .service import Service

log = logging.getLogger("xiotlab")

DEVICES_PAGE = 100

_ORIGIN = {RuleRange.CALLER: OriginKind.JID, RuleRange.DOMAIN: OriginKind.DOMAIN, RuleRange.ALL: OriginKind.ALL}


class ProvisioningClient(Service[XmppClient]):
    """Turns a provisioning service's questions into requests, and answers into rules (network thread).

    ``arrived(request)`` puts a request into the owner's inbox; ``make(cls, **fields)`` makes one
    that the owner can answer.
    """

    def __init__(self, client: XmppClient, peers: Peers, arrived: Callable[[FriendRequest], None],
                 make: Callable[..., FriendRequest]) -> None:  # fmt: skip
        super().__init__(client)
        self.peers = peers
        self.arrived = arrived
        self.make = make
        self.service: str | None = None

    def register(self) -> None:
        for ns in prov.NAMESPACES:
            for local in ("canRead", "canControl"):
                self.route("message", f"{{{ns}}}{local}", self._question)

    async def find(self, timeout: float | None = None) -> str | None:
        """The provisioning service of the owner's domain (kept once found)."""
        if self.service is None:
            self.service = await self.peers.find_service(prov.NAMESPACES, timeout)
        return self.service

    async def need(self, timeout: float) -> str:
        service = await self.find(timeout)
        if service is None:
            raise ProtocolError(
                f"No provisioning service answers on {self.client.jid.domain}: a lab runs one at provisioning.<domain>."
            )
        return service

    # --- questions in ------------------------------------------------------------------

    def _question(self, message: Message, element: ET.Element) -> None:
        network.spawn(self.believe(message["from"].bare, element))

    async def believe(self, sender: str, element: ET.Element) -> None:
        """Put the question ``element`` into the inbox if our provisioning service sent it, or the thing's."""
        try:
            if sender != await self.find() and not await self._serves_thing(sender, element):
                log.info("ignored a provisioning question from %s, not our provisioning service", sender)
                return
            self.arrived(self._request(sender, element))
        except Exception as e:  # a message has nobody to answer to: log, never break the stream
            log.info("ignored a provisioning question from %s: %s", sender, e)

    async def _serves_thing(self, sender: str, element: ET.Element) -> bool:
        """Whether ``sender`` is the provisioning service of the thing's own domain, another lab's.

        An owner on one lab may own a thing claimed on another (federated labs): that lab's
        service asks about it.
        """
        domain = (element.get("jid") or "").partition("@")[2].split("/")[0]
        if not domain or domain == self.client.jid.domain:
            return False
        sender_domain = sender.partition("@")[2] or sender  # a service's address is a bare domain
        if sender_domain != domain and not sender_domain.endswith("." + domain):
            return False  # only that lab may ask about its things: no disco towards a domain a stranger names
        return sender == await self.peers.find_service(prov.NAMESPACES, domain=domain)

    def _request(self, service: str, element: ET.Element) -> FriendRequest:
        local = element.tag.rsplit("}", 1)[-1]
        if local == "isFriend":
            friend = prov.parse_is_friend(element)
            return self.make(FriendRequest, thing=friend.jid, requester=friend.remote_jid, key=friend.key,
                             service=service)  # fmt: skip
        if local == "canRead":
            read = prov.parse_can_read(element)
            return self.make(ReadRequest, thing=read.jid, requester=read.remote_jid, key=read.key, service=service,
                             fields=read.fields)  # fmt: skip
        control = prov.parse_can_control(element)
        return self.make(ControlRequest, thing=control.jid, requester=control.remote_jid, key=control.key,
                         service=service, parameters=control.parameters)  # fmt: skip

    # --- rules out ---------------------------------------------------------------------------

    async def answer(self, request: FriendRequest, result: bool, range_: RuleRange, parts: Parts,
                     timeout: float) -> None:  # fmt: skip
        """Send the rule that answers ``request`` to the service that asked it."""
        assert request.service is not None
        await self.peers.request(request.service, "set", rule(request, result, range_, parts), timeout)

    async def delete_rules(self, thing: str | None, timeout: float) -> None:
        element = prov.build_delete_rules(prov.DeleteRules(jid=thing))
        await self.peers.request(await self.need(timeout), "set", element, timeout)

    async def clear_cache(self, thing: str | None, timeout: float) -> None:
        element = prov.build_clear_cache(prov.ClearCache(jid=thing))
        await self.peers.request(await self.need(timeout), "set", element, timeout)

    async def devices(self, timeout: float) -> list[str]:
        """The bare JIDs of every thing the owner owns, as the service knows them."""
        service = await self.need(timeout)
        found: list[str] = []
        while True:
            query = prov.build_get_devices(prov.GetDevices(offset=len(found), max_count=DEVICES_PAGE))
            answer = await self.peers.request(service, "get", query, timeout)
            page = prov.parse_found(answer) if answer is not None else prov.Devices()
            found += [device.jid for device in page.devices]
            if not page.more or not page.devices:
                return found


def rule(request: FriendRequest, result: bool, range_: RuleRange, parts: Parts) -> ET.Element:
    """The rule element that answers ``request``."""
    thing, requester, key = request.thing, request.requester, request.key or ""
    origin = Origin(_ORIGIN[range_])
    if isinstance(request, ReadRequest):
        partial = prov.ReadPartial(fields=parts) if parts is not None else None
        return prov.build_can_read_rule(prov.CanReadRule(thing, requester, key, result, origin, partial=partial))
    if isinstance(request, ControlRequest):
        return prov.build_can_control_rule(prov.CanControlRule(thing, requester, key, result, origin, partial=parts))
    return prov.build_is_friend_rule(prov.IsFriendRule(thing, requester, key, result, range_))
