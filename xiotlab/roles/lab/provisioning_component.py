"""The provisioning service on its XMPP component stream: devices' questions in, owners' rules in, effects out."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable

import slixmpp

from ...errors import TimedOut, XmppError
from ...protocol import provisioning as prov
from ...protocol import provisioning_device as device
from ...runtime.component import ComponentClient
from ...runtime.loop import network
from ..service import Service
from .provisioning import CLEAR_CACHE_TIMEOUT, A, Ask, ClearCache, Decision, Effect, Question, Recommend, Rules
from .store import Store

log = logging.getLogger("xiotlab")


class ProvisioningComponent(Service[ComponentClient]):
    """``provisioning.<domain>``: answers devices' questions and owners' rules (network thread).

    ``client`` is a :class:`~xiotlab.runtime.component.ComponentClient`.
    """

    features = (*device.NAMESPACES, *prov.NAMESPACES)

    def __init__(self, client: ComponentClient, store: Store) -> None:
        super().__init__(client)
        self.rules = Rules(store)

    def register(self) -> None:
        devices, owners = device.NAMESPACES, prov.NAMESPACES
        self.serve(devices, "isFriend", self._is_friend, ("get",))
        self.serve(devices, "canRead", self._can_read, ("get",))
        self.serve(devices, "canControl", self._can_control, ("get",))
        self.serve(owners, "isFriendRule", self._friend_rule, ("set",))
        self.serve(owners, "canReadRule", self._read_rule, ("set",))
        self.serve(owners, "canControlRule", self._control_rule, ("set",))
        self.serve(owners, "clearCache", self._clear_cache, ("set",))
        self.serve(owners, "deleteRules", self._delete_rules, ("set",))
        self.serve(owners, "getDevices", self._get_devices, ("get",))

    # devices

    async def _is_friend(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        decision = self.rules.is_friend(sender.bare, device.parse_is_friend(element))
        return self._answer(sender, decision, device.build_is_friend_response(decision.answer, ns=_ns(element)))

    async def _can_read(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        decision = self.rules.can_read(sender.bare, device.parse_can_read(element))
        return self._answer(sender, decision, device.build_can_read_response(decision.answer, ns=_ns(element)))

    async def _can_control(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        decision = self.rules.can_control(sender.bare, device.parse_can_control(element))
        return self._answer(sender, decision, device.build_can_control_response(decision.answer, ns=_ns(element)))

    def _answer(self, sender: slixmpp.JID, decision: Decision[A], answer: ET.Element) -> list[ET.Element]:
        effects = list(decision.effects)
        if self.rules.seen(sender.full):
            effects.append(ClearCache(sender.bare))
        self._apply(effects)
        return [answer]

    # owners

    async def _friend_rule(self, sender: slixmpp.JID, element: ET.Element) -> None:
        self._apply(self.rules.set_friend_rule(sender.bare, prov.parse_is_friend_rule(element)))

    async def _read_rule(self, sender: slixmpp.JID, element: ET.Element) -> None:
        self._apply(self.rules.set_read_rule(sender.bare, prov.parse_can_read_rule(element)))

    async def _control_rule(self, sender: slixmpp.JID, element: ET.Element) -> None:
        self._apply(self.rules.set_control_rule(sender.bare, prov.parse_can_control_rule(element)))

    async def _clear_cache(self, sender: slixmpp.JID, element: ET.Element) -> None:
        self._apply(self.rules.clear_cache(sender.bare, prov.parse_clear_cache(element)))

    async def _delete_rules(self, sender: slixmpp.JID, element: ET.Element) -> None:
        self._apply(self.rules.delete_rules(sender.bare, prov.parse_delete_rules(element)))

    async def _get_devices(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        page = self.rules.devices(sender.bare, prov.parse_get_devices(element))
        return [prov.build_found(page, ns=prov.discovery_namespace(_ns(element)))]

    # effects

    def _apply(self, effects: Iterable[Effect]) -> None:
        """Send what a decision asks for; clearing caches waits for no answer of the request at hand."""
        for effect in effects:
            if isinstance(effect, Ask):
                self.client.send_message(effect.owner, [_build_question(effect.question)])
            elif isinstance(effect, Recommend):
                self.client.send_message(effect.thing, [_build_recommendation(effect)])
            else:
                network.spawn(self._send_clear_cache(effect))

    async def _send_clear_cache(self, effect: ClearCache) -> None:
        """``clearCache`` to where the device last asked from; if it is away, on its next question instead."""
        address = self.rules.address(effect.thing)
        if address is None:
            self.rules.stale(effect.thing)
            return
        try:
            await self.client.request(
                address, "set", device.build_clear_cache(device.ClearCache(effect.node)), timeout=CLEAR_CACHE_TIMEOUT
            )
        except (TimedOut, XmppError) as e:
            log.info("clearCache to %s not acknowledged (%s); it is sent again on its next question", address, e)
            self.rules.stale(effect.thing)
        else:
            self.rules.stale(effect.thing, False)


def _ns(element: ET.Element) -> str:
    return element.tag[1:].partition("}")[0]


def _build_recommendation(effect: Recommend) -> ET.Element:
    if effect.friend:
        return device.build_friend(device.Friend(effect.remote))
    return device.build_unfriend(device.Unfriend(effect.remote))


def _build_question(question: Question) -> ET.Element:
    if isinstance(question, prov.IsFriend):
        return prov.build_is_friend(question)
    if isinstance(question, prov.CanRead):
        return prov.build_can_read(question)
    return prov.build_can_control(question)
