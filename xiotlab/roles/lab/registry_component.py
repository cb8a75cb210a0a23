"""The thing registry on its XMPP component stream: parse, ask :class:`~.registry.Registry`, answer, tell things.

A notice (``claimed``, ``removed``) goes as an iq set to the full JID the
thing last used, as the page shows; if that fails, or no full JID is known,
as a message to its bare JID, as the schema says (offline storage keeps it).
``disowned`` goes by iq only: its acknowledgement is required.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import slixmpp

from ...errors import XmppError
from ...protocol import registry as r
from ...runtime import network
from ...runtime.component import ComponentClient
from ..service import Service
from .registry import NOTICE_TIMEOUT, NotAllowed, Notice, Registry
from .store import Store

log = logging.getLogger("xiotlab")


class RegistryComponent(Service[ComponentClient]):
    """The registry on the component's stream: parse → :class:`Registry` → build; notices to things.

    A notice (``claimed``, ``removed``) goes as an iq set to the full JID the
    thing last used, as the page shows; if that fails, or no full JID is
    known, as a message to its bare JID, as the schema says (offline storage
    keeps it). ``disowned`` goes by iq only: its acknowledgement is required.
    """

    features = r.NAMESPACES

    def __init__(self, client: ComponentClient, store: Store, *, notice_timeout: float = NOTICE_TIMEOUT) -> None:
        super().__init__(client)
        self.registry = Registry(store)
        self.notice_timeout = notice_timeout

    def register(self) -> None:
        sets = ("set",)
        self.serve(r.NAMESPACES, "register", self._on_register, sets)
        self.serve(r.NAMESPACES, "mine", self._on_mine, sets)
        self.serve(r.NAMESPACES, "update", self._on_update, sets)
        self.serve(r.NAMESPACES, "remove", self._on_remove, sets)
        self.serve(r.NAMESPACES, "unregister", self._on_unregister, sets)
        self.serve(r.NAMESPACES, "disown", self._on_disown, sets)
        self.serve(r.NAMESPACES, "search", self._on_search, ("get", "set"))  # the page's example uses get

    async def _on_register(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        request = r.parse_register(element)
        claimed = self.registry.register(str(sender), request)
        return [] if claimed is None else [r.build_claimed(claimed, request.namespace)]

    async def _on_mine(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        request = r.parse_mine(element)
        answer, notice = self.registry.claim(str(sender), request)
        network.spawn(self._deliver(notice))  # runs after the owner's answer is on its way
        return [r.build_claimed(answer, request.namespace)]

    async def _on_update(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        request = r.parse_update(element)
        disowned = self.registry.update(str(sender), request)
        return [] if disowned is None else [r.build_disowned(disowned, request.namespace)]

    async def _on_remove(self, sender: slixmpp.JID, element: ET.Element) -> None:
        notice = self.registry.remove(str(sender), r.parse_remove(element))
        network.spawn(self._deliver(notice))

    async def _on_unregister(self, sender: slixmpp.JID, element: ET.Element) -> None:
        self.registry.unregister(str(sender), r.parse_unregister(element))

    async def _on_disown(self, sender: slixmpp.JID, element: ET.Element) -> None:
        request = r.parse_disown(element)
        notice = self.registry.disown(str(sender), request)
        try:
            await self.client.request(notice.to, "set", notice.element(), timeout=self.notice_timeout)
        except XmppError as exc:
            raise NotAllowed(f"the thing did not acknowledge being disowned ({exc}); it stays yours") from None
        self.registry.confirm_disown(str(sender), request)

    async def _on_search(self, sender: slixmpp.JID, element: ET.Element) -> list[ET.Element]:
        request = r.parse_search_element(element)
        return [r.build_found(self.registry.search(request), request.namespace)]

    async def _deliver(self, notice: Notice) -> None:
        """An iq to the thing's full JID; failing that, a message to its bare JID."""
        if notice.full:
            try:
                await self.client.request(notice.to, "set", notice.element(), timeout=self.notice_timeout)
                return
            except XmppError as exc:
                log.info(
                    "registry: %s did not take %s by iq (%s); sending a message",
                    notice.to,
                    type(notice.payload).__name__,
                    exc,
                )
        self.client.send_message(notice.bare, [notice.element()])
