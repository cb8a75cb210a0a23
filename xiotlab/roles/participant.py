"""What things and owners share: an account online, presence, a roster, friendships.

Every network operation comes in two forms: ``x(...)`` blocks (cells,
scripts, any thread but the network thread) and ``await ax(...)`` is
awaitable from any event loop (a notebook's top-level ``await``, callbacks).
"""

from __future__ import annotations

import asyncio
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from slixmpp import JID, Presence

from ..errors import NotConnected, Rejected, TimedOut
from ..protocol.roster import build_roster_remove
from ..protocol.stanza_errors import read_error
from ..runtime import DEFAULT_TIMEOUT, Endpoint, Trace, XmppClient, blocking, network, network_call
from ..runtime.connection import Connection, State
from ..server import LabServer
from .peers import Peers, read_any_dialect
from .roster import Contact, Roster, contact_from_slixmpp
from .service import Service


class Participant:
    """An XMPP account taking part in the lab: the common base of :class:`Thing` and :class:`Owner`.

    Parameters
    ----------
    jid:
        The account, ``"name@domain"``; with ``lab=``, a bare ``"name"`` means ``name@<lab domain>``.
    password:
        The account's password. With ``lab=`` leave it out: the lab's own (created if new) is used.
    lab:
        A :class:`~xiotlab.LabServer` to join (address, CA and accounts come from it).
    host, port, ca_file:
        Any other XMPP server. Without ``ca_file`` the system's trusted authorities verify it.
    status:
        Presence status text to show once online.
    timeout:
        Seconds any network operation may wait before raising :class:`~xiotlab.errors.TimedOut`.
    reconnect:
        Take a lost connection back by itself (the default): calls made meanwhile wait within
        their timeout, and :attr:`connection` says where it stands. False: a lost connection
        leaves the participant offline.
    """

    def __init__(
        self,
        jid: str,
        password: str | None = None,
        *,
        lab: LabServer | None = None,
        host: str | None = None,
        port: int | None = None,
        ca_file: str | os.PathLike | None = None,
        status: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        reconnect: bool = True,
    ) -> None:
        jid, password, endpoint = _resolve_account(jid, password, lab, host, port, ca_file)
        self._lab = lab
        self.status = status
        self._show: str | None = None
        self._client = XmppClient(
            jid, password, endpoint, timeout=timeout, read_error=read_any_dialect, reconnect=reconnect
        )
        self._client.connection.observe(self._on_connection)
        self.roster = Roster(jid)
        self._wanted: set[str] = set()  # whom we asked for friendship, answered or not
        # Who the server's roster holds, from its answers and pushes. slixmpp makes an entry for
        # anyone whose presence arrives: ejabberd follows a removal with the contact's unavailable
        # presence (RFC 6121 3.2.3), which would bring back, as "none", the entry just removed.
        self._listed: set[str] = set()
        self._peers = Peers(self._client, self.roster)
        for event, handler in (
            ("roster_update", self._on_roster_update),
            ("changed_status", self._refresh_contact),
            ("presence_unavailable", self._refresh_contact),
            ("roster_subscription_request", self._on_subscription_request),
            ("roster_subscription_authorized", self._refresh_contact),
            ("roster_subscription_removed", self._refresh_contact),
            ("roster_subscription_remove", self._refresh_contact),
        ):
            self._client.on_event(event, handler)

    # --- identity and state -----------------------------------------------

    @property
    def timeout(self) -> float:
        """Seconds any network operation may wait before raising TimedOut; change it at will."""
        return self._client.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._client.timeout = seconds

    @property
    def jid(self) -> str:
        """The bare JID of this participant's account."""
        return self._client.jid.bare

    @property
    def full_jid(self) -> str:
        """The full JID (with resource) while online."""
        return self._client.jid.full

    @property
    def online(self) -> bool:
        return self._client.online

    @property
    def connection(self) -> Connection:
        """The connection's state (online, reconnecting, offline) and its outages; observable."""
        return self._client.connection

    @property
    def trace(self) -> Trace:
        """Every stanza sent and received, with secrets redacted: the protocol inspector's source."""
        return self._client.trace

    def resolve(self, jid: str) -> str:
        """A bare JID for ``jid``; a bare name means an account on this participant's domain."""
        return self._peers.resolve(jid)

    @staticmethod
    def _attach(*services: Service) -> None:
        """Add protocol features: each service registers its handlers and announces its features."""
        for service in services:
            service.attach()

    # --- life cycle -------------------------------------------------------

    @network_call
    async def astart(self):
        """Connect, authenticate, and come online with presence; returns this participant."""
        if self.online:
            return self
        await self._client.connect(self.timeout)
        self._on_roster_update(None)
        await self._on_online()  # before presence: friends may ask what we support at once
        await self._client.discovery.hash_now()
        self._send_presence()
        return self

    @network_call
    async def astop(self) -> None:
        """Go offline and close the connection. Safe to call twice."""
        await self._client.disconnect(self.timeout)

    start = blocking(astart)
    stop = blocking(astop)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    async def __aenter__(self):
        return await self.astart()

    async def __aexit__(self, *exc) -> None:
        await self.astop()

    # --- presence ---------------------------------------------------------

    @network_call
    async def aset_status(self, status: str = "", show: str | None = None) -> None:
        """Change the presence shown to friends: ``status`` text, ``show`` one of away, chat, dnd, xa."""
        if show not in (None, "away", "chat", "dnd", "xa"):
            raise ValueError(f"show={show!r}: use None (available), 'away', 'chat', 'dnd' or 'xa'.")
        await self._ready()
        self.status, self._show = status, show
        self._send_presence()

    set_status = blocking(aset_status)

    def _send_presence(self) -> None:
        self._client.stream.send_presence(pstatus=self.status or None, pshow=self._show)

    # --- friendship -------------------------------------------------------

    @network_call
    async def abefriend(self, jid: str, timeout: float | None = None) -> Contact:
        """Ask ``jid`` for friendship and return its contact once the friendship holds both ways.

        Raises :class:`~xiotlab.errors.Rejected` if the peer (or its owner) says no,
        :class:`~xiotlab.errors.ServerUnreachable` if its server cannot be reached (another lab that
        does not trust this one), and :class:`~xiotlab.errors.TimedOut` if no answer came in time;
        the request then stays pending.
        """
        await self._ready()
        jid = self.resolve(jid)
        timeout = self.timeout if timeout is None else timeout
        item = self._client.stream.client_roster[jid]
        if item["pending_in"]:
            item.authorize()  # they asked us already: say yes as well as asking back
        refused = asyncio.get_running_loop().create_future()

        def on_refusal(presence: Presence) -> None:
            if presence["from"].bare == jid and not refused.done():
                refused.set_result(presence)

        stream = self._client.stream
        stream.add_event_handler("roster_subscription_removed", on_refusal)
        stream.add_event_handler("presence_error", on_refusal)  # e.g. another lab's server that is not trusted
        try:
            if self.roster.get(jid, Contact(jid)).subscription not in ("to", "both"):
                item.subscribe()
            self._wanted.add(jid)
            friends = asyncio.ensure_future(self.roster.wait_for(jid, lambda c: c is not None and c.friend, timeout))
            done, _ = await asyncio.wait({friends, refused}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if friends in done:
                contact = friends.result()
                assert contact is not None  # the awaited condition holds only for a contact
                return contact
            friends.cancel()
            if refused in done:
                if refused.result()["type"] == "error":
                    raise read_error(refused.result().xml)
                raise Rejected(f"{jid} (or its owner) rejected the friend request from {self.jid}.")
            raise TimedOut(
                f"{jid} did not accept the friend request within {timeout:g} s. It stays pending: "
                "a thing's owner may still approve it; call befriend again to wait longer."
            )
        finally:
            stream.del_event_handler("roster_subscription_removed", on_refusal)
            stream.del_event_handler("presence_error", on_refusal)

    @network_call
    async def aunfriend(self, jid: str, timeout: float | None = None) -> None:
        """End the friendship with ``jid`` both ways and drop it from the roster."""
        await self._ready()
        jid = self.resolve(jid)
        timeout = self.timeout if timeout is None else timeout
        if jid == self.jid:
            raise ValueError(f"{jid} is this participant itself: there is no friendship to end.")
        self._wanted.discard(jid)
        await self._peers.request(
            None, "set", build_roster_remove(jid), timeout
        )  # a refusal is a typed StanzaError, not slixmpp's
        try:
            await self.roster.wait_for(jid, lambda c: c is None, timeout)
        except TimeoutError:
            raise TimedOut(f"The server did not confirm removing {jid} within {timeout:g} s.") from None

    befriend = blocking(abefriend)
    unfriend = blocking(aunfriend)

    # --- raw stanzas, for exploring the protocols ---------------------------

    @network_call
    async def asend_iq(
        self, to: str, payload: ET.Element | str, type: str = "get", timeout: float | None = None
    ) -> ET.Element | None:
        """Send an iq of ``type`` carrying ``payload`` (an Element or XML text) and return the answer's payload.

        Devices answer at their full JID (``name@domain/resource``); a bare JID is answered by
        its server. An error answer raises :class:`~xiotlab.errors.Forbidden` or
        :class:`~xiotlab.errors.StanzaError`; silence raises :class:`~xiotlab.errors.TimedOut`.
        """
        await self._ready()
        if type not in ("get", "set"):
            raise ValueError(f"type={type!r}: an iq request is 'get' or 'set'.")
        element = ET.fromstring(payload) if isinstance(payload, str) else payload
        return await self._peers.request(to, "set" if type == "set" else "get", element, self._timeout(timeout))

    send_iq = blocking(asend_iq)

    @network_call
    async def afeatures(self, jid: str, timeout: float | None = None) -> frozenset[str]:
        """What ``jid`` says it supports (service discovery, XEP-0030): namespaces and features.

        Cached per full JID until it goes offline. A device answers at its full JID.
        """
        await self._ready()
        return await self._peers.features(jid, self._timeout(timeout))

    features = blocking(afeatures)

    # --- events from the network thread ------------------------------------

    def _on_roster_update(self, iq) -> None:
        if iq is not None:
            self._note_listed(iq)
        roster = self._client.stream.client_roster
        current = {str(jid) for jid in roster if self._is_contact(roster[jid], str(jid))}
        for jid in current:
            self.roster.update(contact_from_slixmpp(roster[jid]), jid)
        for jid in set(self.roster) - current:
            self.roster.update(None, jid)

    def _refresh_contact(self, presence: Presence) -> None:
        jid = presence["from"].bare
        if jid == self.jid:
            return
        roster = self._client.stream.client_roster
        known = jid in roster and self._is_contact(roster[jid], jid)
        self.roster.update(contact_from_slixmpp(roster[jid]) if known else None, jid)

    def _note_listed(self, iq) -> None:
        """Follow who the server's roster holds: a whole roster (an answer) or a push's changes."""
        if iq["type"] == "result" and iq.xml.find("{jabber:iq:roster}query") is not None:
            self._listed.clear()
        for jid, item in iq["roster"]["items"].items():
            bare = JID(jid).bare
            if item["subscription"] == "remove":
                self._listed.discard(bare)
            else:
                self._listed.add(bare)

    def _is_contact(self, item, jid: str) -> bool:
        """Whether slixmpp's entry for ``jid`` is a contact: on the server's roster, asking or asked, or present.

        Not our own address (slixmpp keeps one for another resource's presence), not an entry
        made only by a presence that says goodbye.
        """
        if jid == self.jid or item["subscription"] == "remove":
            return False
        return jid in self._listed or bool(item["pending_in"] or item["pending_out"] or item.resources)

    def _on_subscription_request(self, presence: Presence) -> None:
        requester = presence["from"].bare
        self._refresh_contact(presence)
        item = self._client.stream.client_roster[requester]
        if item["pending_out"] or item["to"] or requester in self._wanted:
            # We asked them first (perhaps refused then, and their owner has changed its mind):
            # their request completes a friendship we wanted.
            self._client.accept_friend(requester)
        else:
            self._decide(requester)

    def _on_connection(self, connection: Connection, state: State) -> None:
        if state is State.ONLINE and connection.session == "fresh":
            # A new session: the server forgot our presence, and who of our friends is online.
            self._on_roster_update(None)
            network.spawn(self._come_back())

    async def _come_back(self) -> None:
        await self._on_online()
        self._send_presence()

    def _decide(self, requester: str) -> None:
        """Answer a friend request from someone we did not ask: each role decides."""
        raise NotImplementedError

    async def _on_online(self) -> None:
        """Hook for roles: called on the network loop once online."""

    def _timeout(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout

    async def _ready(self) -> None:
        """Return once online; while reconnecting, wait up to the timeout (NotConnected if never started)."""
        await self._client.ready()

    def __repr__(self) -> str:
        state = "online" if self.online else "offline"
        return f"<{type(self).__name__} {self.jid} {state}, {len(self.roster.friends)} friends>"


def _resolve_account(jid, password, lab, host, port, ca_file) -> tuple[str, str, Endpoint]:
    """The full account name, its password and where to connect."""
    jid = str(jid)
    if lab is not None:
        if any(v is not None for v in (host, port, ca_file)):
            raise ValueError("Pass either `lab=` or `host=`/`port=`/`ca_file=`, not both.")
        if not lab.is_running:
            raise NotConnected(f"The lab {lab!r} is not running: call `lab.start()` first.")
        if "@" not in jid:
            jid = f"{jid}@{lab.domain}"
        if password is None:
            password = lab.account(JID(jid).user).password
        return jid, password, Endpoint(lab.host, lab.port, Path(lab.ca_file), lab.fallbacks)
    if "@" not in jid:
        raise ValueError(f"{jid!r} is not a full JID (name@domain); pass `lab=` to use a bare name.")
    if password is None:
        raise ValueError(f"No password for {jid}: pass `password=`, or `lab=` for a lab account.")
    return jid, password, Endpoint(host, port, Path(ca_file) if ca_file else None)
