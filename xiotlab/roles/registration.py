"""A factory-fresh thing's life in a thing registry: registered, claimed, removed, disowned.

A thing made without an owner but with tags registers them, with a secret
KEY, in the registry it finds on its domain (``urn:nfi:iot:disco:1.0``), each
time it comes online. Its claim URI (tags, KEY, registry) goes to its future
owner out of band, as a QR code. The registry tells the thing when it is
claimed (and by whom), removed from the registry, or disowned; the thing
obeys those only from the registry it registered with. Registering again
when already claimed answers with the owner: a restarted thing learns it so.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping

from slixmpp import JID, Message

from ..errors import Forbidden, ProtocolError, XmppError
from ..protocol import iotdisco
from ..protocol import registry as disco
from ..runtime import XmppClient, network
from .peers import Peers
from .service import Service

log = logging.getLogger("xiotlab")

_NOTICES = ("claimed", "removed", "disowned")  # what a registry tells a thing about itself
DISOWN_SETTLE = 0.5  # seconds a disowned thing waits before it registers again


def tags_of(tags: Mapping[str, str | float | int], key: str) -> tuple[disco.Tag, ...]:
    """Registry tags from a mapping (numbers become numeric tags), with the thing's KEY last."""
    if any(disco.is_key(name) for name in tags):
        raise ValueError("tags: leave KEY out; the thing makes its own and keeps it (see `claim_uri`).")
    made = []
    for name, value in tags.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise TypeError(f"tag {name}={value!r}: a tag's value is a str or a number.")
        made.append(disco.Tag(name, value))
    return (*made, disco.Tag(disco.KEY, key))


class Registration(Service[XmppClient]):
    """Registers one thing and follows what its registry says about it (network thread).

    ``on_owner(jid)`` is called when the thing learns its owner (None: it was disowned).
    """

    def __init__(self, client: XmppClient, peers: Peers, tags: tuple[disco.Tag, ...],
                 on_owner: Callable[[str | None], None]) -> None:  # fmt: skip
        super().__init__(client)
        self.peers = peers
        self.tags = tags
        self.on_owner = on_owner
        self.registry: str | None = None
        self.registered = False
        self.removed = False

    def register(self) -> None:
        for local in _NOTICES:
            self.serve(disco.NAMESPACES, local, self._by_iq, types=("set",))
            for ns in disco.NAMESPACES:
                self.route("message", f"{{{ns}}}{local}", self._by_message)

    @property
    def claim_uri(self) -> str:
        """The ``iotdisco:`` URI that claims this thing (its tags, KEY and registry)."""
        return iotdisco.encode_claim_uri(self.tags, self.registry)

    async def find_registry(self, timeout: float) -> str | None:
        """The registry on the thing's domain (kept once found)."""
        if self.registry is None:
            self.registry = await self.peers.find_service(disco.NAMESPACES, timeout)
        return self.registry

    async def register_now(self, timeout: float) -> None:
        """Register the tags; if the registry says the thing is claimed already, learn its owner."""
        if self.removed:
            return  # its owner took it out of the registry: it stays out
        registry = await self.find_registry(timeout)
        if registry is None:
            log.warning("%s found no thing registry on %s: it cannot be claimed", self.client.jid.bare,
                        self.client.jid.domain)  # fmt: skip
            return
        answer = await self.peers.request(registry, "set", disco.build_register(disco.Register(self.tags)), timeout)
        self.registered = True
        if answer is not None and answer.tag.endswith("}claimed"):
            self.on_owner(disco.parse_claimed(answer).jid)

    # --- what the registry says -------------------------------------------------------

    def _notice(self, sender: JID, element: ET.Element) -> None:
        if self.registry is None or sender.bare != self.registry:
            raise Forbidden(f"Only the registry {self.client.jid.bare} registered with may say that.")
        local = element.tag.rsplit("}", 1)[-1]
        if local == "claimed":
            self.on_owner(disco.parse_claimed(element).jid)
        elif local == "removed":
            disco.parse_removed(element)
            self.registered, self.removed = False, True
        else:
            disco.parse_disowned(element)
            self.registered, self.removed = False, False
            self.on_owner(None)
            network.spawn(self._register_again())

    async def _register_again(self) -> None:
        """After a disown: listed again, unclaimed, with the same tags and KEY (the printed code works again).

        The registry completes the disown when our acknowledgement arrives; a registration that
        overtook it would find the thing still claimed, so it waits a moment.
        """
        await asyncio.sleep(DISOWN_SETTLE)
        try:
            await self.register_now(self.client.timeout)
        except XmppError as e:
            log.warning("%s could not register again after being disowned: %s", self.client.jid.bare, e)

    async def _by_iq(self, sender: JID, element: ET.Element):
        self._notice(sender, element)
        return None  # the acknowledgement (a disowned thing's included: the registry waits for it)

    def _by_message(self, message: Message, element: ET.Element) -> None:
        """The schema's other carrier of the same notices: a message nobody waits an answer for."""
        try:
            self._notice(message["from"], element)
        except (Forbidden, ProtocolError) as e:
            log.info("ignored %s from %s: %s", element.tag, message["from"], e)
