"""How a participant's services reach other participants: addresses, features, dialects, requests.

The port the owner-side services (:mod:`.reading`, :mod:`.commanding`) see
instead of the owner: a bare JID or name in, the friend's online address
out; what it supports (service discovery, cached per full JID while it is
online); which of several dialects to speak; an iq whose error answers
become the typed exceptions of :mod:`xiotlab.errors`, control refusals and
legacy rejections included.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from slixmpp import Presence

from ..errors import Offline, ParameterError, StanzaError, XmppError
from ..protocol import control, disco, legacy_sensordata
from ..runtime import XmppClient
from .roster import Contact, Roster


def read_any_dialect(answer: ET.Element) -> XmppError:
    """The exception an iq error answer stands for, whichever IoT dialect's error details it carries.

    A control ``paramError`` makes a :class:`~xiotlab.errors.ParameterError`; a legacy
    ``<rejected>`` lends its reason; anything else is read as a plain XMPP error.
    """
    error = control.read_error(answer)
    return error if isinstance(error, ParameterError) else legacy_sensordata.read_error(answer)


def _online(contact: Contact | None) -> bool:
    return contact is not None and contact.online


class Peers:
    """The other participants as one participant's services see them."""

    def __init__(self, client: XmppClient, roster: Roster) -> None:
        self._client = client
        self._roster = roster
        self.request = client.request  # errors read as the client was told: see read_any_dialect
        self._features: dict[str, frozenset[str]] = {}
        self._items: dict[str, tuple[str, ...]] = {}  # a domain's services
        client.on_event("presence_unavailable", self._forget)

    def resolve(self, jid: str) -> str:
        """A bare JID for ``jid``; a bare name means an account on our own domain."""
        jid = str(jid)
        return jid if "@" in jid else f"{jid}@{self._client.jid.domain}"

    def online_address(self, jid: str) -> str:
        """The full JID of friend ``jid`` while it is online; Offline otherwise."""
        bare = self.resolve(jid)
        contact = self._roster.get(bare)
        if contact is None or not contact.online:
            friend = contact is not None and contact.subscription in ("to", "both")
            why = "is offline" if friend else "is not your friend"
            raise Offline(f"{bare} {why}: only friends that are online can be reached (see `roster`).")
        # The newest connection: after its server node died, a friend's old one may still be listed,
        # for the node that knew it is gone and no goodbye came (an ejabberd cluster's).
        return f"{bare}/{contact.resources[-1]}"

    async def address(self, jid: str, timeout: float) -> str:
        """The full JID of friend ``jid``, as :meth:`online_address`; just after our connection came back
        with a fresh session, a friend not yet seen again gets a few seconds to show up."""
        try:
            return self.online_address(jid)
        except Offline:
            settling = self._client.connection.settling()
            if not settling:
                raise
            try:
                await self._roster.wait_for(self.resolve(jid), _online, min(timeout, settling))
            except TimeoutError:
                pass
        return self.online_address(jid)

    async def features(self, jid: str, timeout: float | None = None) -> frozenset[str]:
        """What ``jid`` announces in service discovery (XEP-0030); cached until it goes offline."""
        if jid not in self._features:
            answer = await self.request(jid, "get", disco.build_info_query(), timeout)
            self._features[jid] = disco.parse_features(answer)
        return self._features[jid]

    async def find_service(
        self, features: tuple[str, ...], timeout: float | None = None, domain: str | None = None
    ) -> str | None:
        """The address of a service on our domain (or ``domain``) that announces any of ``features``, or None.

        As the registry and provisioning specifications say: the domain's items (XEP-0030),
        then what each announces. Found services are kept; a missing one is looked for again.
        """
        domain = domain or self._client.jid.domain
        for jid in await self._domain_items(domain, timeout):
            try:
                if await self.features(jid, timeout) & set(features):
                    return jid
            except StanzaError:
                continue  # an item that does not answer discovery is not the service
        return None

    async def _domain_items(self, domain: str, timeout: float | None) -> tuple[str, ...]:
        if domain not in self._items:
            self._items[domain] = disco.parse_items(
                await self.request(domain, "get", disco.build_items_query(), timeout)
            )
        return self._items[domain]

    async def dialect(self, full_jid: str, preference: tuple[str, ...], timeout: float) -> str:
        """The first namespace of ``preference`` that ``full_jid`` announces (else the first)."""
        try:
            features = await self.features(full_jid, timeout)
        except StanzaError:
            features = frozenset()  # no discovery: assume the current dialect
        return next((ns for ns in preference if ns in features), preference[0])

    def _forget(self, presence: Presence) -> None:
        self._features.pop(presence["from"].full, None)
