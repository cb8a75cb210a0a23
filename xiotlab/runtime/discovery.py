"""What a client says it is and supports: service discovery (XEP-0030) and entity capabilities (XEP-0115).

Discovery data is kept per full JID, known only once bound: features are
collected from the services as they attach and announced when the session
starts, before presence, because a friend may ask what we support as soon as
it sees us. Our presence carries the hash of what we support (XEP-0115), so
a client that knows the hash need not ask; it is computed at the last moment
before an available presence leaves, once per change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import slixmpp

from .loop import network

# Who we are in service discovery (XEP-0030): category, type, name. "client/bot" is the registry's
# "automated client that is not controlled by a human user": a device. Roles may say otherwise.
DEFAULT_IDENTITY = ("client", "bot", "xiotlab")

_AVAILABLE = ("available", "chat", "away", "dnd", "xa")  # presence types that carry capabilities


class Discovery:
    """The features and identity one stream announces at its full JID, and their capabilities hash."""

    def __init__(self, stream: slixmpp.ClientXMPP, online: Callable[[], bool]) -> None:
        self._stream = stream
        self._online = online
        self.features: set[str] = set()
        self.identity = DEFAULT_IDENTITY
        self._caps_stale = True  # our capabilities hash needs computing before the next presence
        stream.add_filter("out", self._refresh_caps, order=0)  # before xep_0115 puts the hash in

    def add(self, features: Iterable[str]) -> None:
        """Announce ``features`` (from the moment we are bound, if not yet)."""
        new = set(features) - self.features
        self.features |= new
        if self._online() and new:
            self.publish(new)
            self._announce_caps()

    def remove(self, features: Iterable[str]) -> None:
        gone = self.features & set(features)
        self.features -= gone
        if self._online() and gone:
            disco = self._stream.plugin["xep_0030"]
            for feature in gone:
                disco.del_feature(jid=self._stream.boundjid, feature=feature)
            self._announce_caps()

    def set_identity(self, category: str, kind: str, name: str = "xiotlab") -> None:
        """Who we are: an identity of the XEP-0030 registry (``"client", "pc"``)."""
        self.identity = (category, kind, name)
        if self._online():
            self.publish(())
            self._announce_caps()

    def publish(self, features: Iterable[str]) -> None:
        """Put the identity and ``features`` into the discovery data of our (newly) bound full JID."""
        disco = self._stream.plugin["xep_0030"]
        category, kind, name = self.identity
        disco.set_identities(jid=self._stream.boundjid, identities={(category, kind, None, name)})
        for feature in features:
            disco.add_feature(feature, jid=self._stream.boundjid)
        self._caps_stale = True

    def _refresh_caps(self, stanza):
        """Out filter: an available presence waits for the hash of what discovery now answers.

        The hash covers the features served at our full JID (slixmpp's plugins add theirs when
        bound, the services theirs as they attach), so it is computed at the last moment, once.
        A plain function, not a coroutine: slixmpp runs a coroutine filter as a task of its own
        for every stanza that leaves, which cost an event stream a third of its rate.
        """
        if self._caps_stale and isinstance(stanza, slixmpp.Presence) and stanza["type"] in _AVAILABLE:
            self._caps_stale = False
            network.spawn(self._send_with_fresh_caps(stanza))
            return None  # held back: sent again once the hash is known
        return stanza

    async def hash_now(self) -> None:
        """Compute our capabilities hash now, so that the next available presence leaves at once.

        A participant coming online calls it before its first presence: when ``start()``
        returns, its friends have been told it is here.
        """
        if self._caps_stale:
            await self._stream.plugin["xep_0115"].update_caps(self._stream.boundjid, broadcast=False)
            self._caps_stale = False

    async def _send_with_fresh_caps(self, presence: slixmpp.Presence) -> None:
        await self._stream.plugin["xep_0115"].update_caps(self._stream.boundjid, broadcast=False)
        if self._online():  # not after a goodbye: the stream would have nowhere to send it
            presence.send()

    def _announce_caps(self) -> None:
        """Capabilities changed while online: tell our contacts with our last presence again (XEP-0115 §4)."""
        self._caps_stale = True
        roster = self._stream.client_roster
        if roster.last_status is not None:  # before our first presence there is nothing to repeat
            roster.send_last_presence()
