"""One XMPP client connection: getting and staying online, requests with typed errors, a trace.

Everything here runs on the network loop. The stream itself (TLS, plugins,
stream management) is :mod:`.xmpp`'s; what every link shares with a
component's (the attempt, the reconnect loop, the trace), :mod:`.link`'s;
routing and answering requests, :mod:`.serving`'s; what the client
announces, :mod:`.discovery`'s.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import ssl
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from ..errors import AuthenticationFailed, CannotConnect, CertificateError, ConnectionLost, NotConnected, TimedOut
from ..protocol import stanza_errors
from .connection import State
from .discovery import Discovery
from .link import DEFAULT_TIMEOUT, ErrorReader, IqKind, Link
from .loop import network
from .xmpp import Endpoint, LabStream

__all__ = ["DEFAULT_TIMEOUT", "ErrorReader", "IqKind", "XmppClient"]

log = logging.getLogger("xiotlab")

_live: weakref.WeakSet[XmppClient] = weakref.WeakSet()


class XmppClient(Link[LabStream]):
    """A connection to an XMPP server as one account, with a :class:`Trace` of its stanzas.

    Once online, a lost connection is taken back by itself (``reconnect=False`` turns that
    off): the server's stream management resumes the session where it can (nothing lost),
    otherwise a fresh session starts. :attr:`connection` says where it stands.
    """

    def __init__(self, jid: str, password: str, endpoint: Endpoint, *, timeout: float = DEFAULT_TIMEOUT,
                 trace_size: int = 2000, read_error: ErrorReader = stanza_errors.read_error,
                 reconnect: bool = True) -> None:  # fmt: skip
        self.endpoint = endpoint
        self._address = 0  # which of the endpoint's addresses is in use (a cluster's nodes take turns)
        self.read_error = read_error  # error answers to exceptions, unless a request brings its own reader
        self.reconnect = reconnect
        super().__init__(LabStream(jid, password, endpoint), timeout=timeout, trace_size=trace_size)
        self.discovery = Discovery(self.stream, lambda: self.online)
        self._back = asyncio.Event()  # set while online, for calls that wait out a reconnection
        self._awaited: dict[asyncio.Future, str] = {}  # answers to our requests (see Link._ask) -> addressee
        _live.add(self)

    # --- connecting -------------------------------------------------------

    async def _attempt(self, timeout: float) -> bool:
        """One try at getting online; True if the server resumed the previous session.

        An endpoint with fallbacks (a cluster's nodes) has each tried in turn while none can be
        reached; the one that answered is tried first next time.
        """
        addresses = len(self.endpoint.addresses)
        for tried in range(1, addresses + 1):
            try:
                return await self._attempt_at(*self.endpoint.addresses[self._address], timeout)
            except CannotConnect as e:
                if isinstance(e, CertificateError) or tried == addresses == 1:
                    raise
                if tried == addresses:
                    every = ", ".join(f"{host}:{port}" for host, port in self.endpoint.addresses)
                    raise CannotConnect(f"{e} Every address of the lab was tried: {every}.") from None
                self._address = (self._address + 1) % addresses
            except TimedOut:
                self._address = (self._address + 1) % addresses  # a node that hangs: the next one, next time
                raise
        raise AssertionError("unreachable")

    async def _attempt_at(self, host: str | None, port: int | None, timeout: float) -> bool:
        result = await self._first_outcome(
            lambda: self.stream.connect(host, port),
            {
                "session_start": lambda _: False,
                "session_resumed": lambda _: True,
                "failed_auth": lambda _: self._auth_error(),
                "connection_failed": self._connect_error,
                "ssl_invalid_chain": self._certificate_error,
                "disconnected": self._disconnect_error,
                "stream_error": lambda e: CannotConnect(
                    f"The server closed the stream: {e['text'] or e['condition']}."
                ),
            },
            timeout,
            lambda: TimedOut(
                f"{self.jid.bare} did not get online at {self._where()} within "
                f"{timeout:g} s. Is the server running there? Check host and port, or pass a longer timeout."
            ),
        )
        if isinstance(result, Exception):
            self._abandon()
            await self._stop_send_loop()
            raise result
        if not result:  # a fresh session: the server knows nothing of the old one
            await self.stream.get_roster(timeout=timeout)
            self.discovery.publish(self.discovery.features)
        return bool(result)

    def _went_online(self, resumed: bool | None = None) -> None:
        super()._went_online(resumed)
        self._back.set()

    def _where(self) -> str:
        """The address being tried (a cluster's node), as ``host:port``."""
        host, port = self.endpoint.addresses[self._address]
        return f"{host}:{port}" if host else f"{self.jid.domain} (via DNS)"

    def _auth_error(self) -> AuthenticationFailed:
        return AuthenticationFailed(
            f"The server refused {self.jid.bare}: wrong account name or password. "
            "For a lab account, leave the password out and pass `lab=` so the lab's own is used."
        )

    def _connect_error(self, reason) -> CannotConnect:
        return CannotConnect(
            f"Cannot connect to {self._where()} ({reason}). "
            "Is the server running? For a lab, check `xiotlab server status`."
        )

    def _certificate_error(self, reason) -> CertificateError:
        return CertificateError(
            f"The server at {self._where()} presented a certificate that does not "
            f"verify for {self.jid.domain!r} ({reason}). Give the right authority with `ca_file=` "
            "(for a lab: `lab.ca_file`). Verification is never switched off."
        )

    def _disconnect_error(self, reason) -> CannotConnect:
        if isinstance(reason, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(reason):
            return self._certificate_error(reason)
        return CannotConnect(
            f"The connection to {self._where()} closed before {self.jid.bare} "
            f"got online ({reason or 'no reason given'})."
        )

    async def disconnect(self, timeout: float | None = None) -> None:
        """Say goodbye (unavailable presence, end of stream) and close; stop any reconnecting."""
        was = self._leave()
        self._back.clear()
        if was is not State.ONLINE and self.stream.transport is None:
            self.stream.cancel_connection_attempt()
            await self._stop_send_loop()
            return
        timeout = self.timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(self.stream.disconnect(wait=min(timeout, 2.0)), timeout)
        except TimeoutError:
            self._abandon()
        self.stream.cancel_connection_attempt()
        await self._stop_send_loop()

    # --- staying up ---------------------------------------------------------

    def _went_down(self, reason) -> str:
        self._back.clear()
        why = f"the connection to {self._where()} was lost ({reason or 'closed'})"
        self._end_calls_in_flight(why)
        return why

    def _end_calls_in_flight(self, why: str) -> None:
        for answer, to in list(self._awaited.items()):
            if not answer.done():
                answer.set_exception(ConnectionLost(f"No answer from {to or 'the server'}: {why}."))

    def _waiting(self, answer: asyncio.Future, to: str | None) -> None:
        self._awaited[answer] = to or ""
        answer.add_done_callback(lambda done: self._awaited.pop(done, None))

    async def ready(self, timeout: float | None = None) -> None:
        """Return once online: at once, or when a reconnection under way succeeds within ``timeout``."""
        if self.online:
            return
        if self.connection.state is not State.RECONNECTING:
            raise NotConnected(f"{self.jid.bare} is not online: call `start()` first.")
        timeout = self.timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(self._back.wait(), timeout)
        except TimeoutError:
            raise TimedOut(
                f"{self.jid.bare} lost its connection and was not back within {timeout:g} s "
                f"({self.connection.attempts} attempts; last: {self.connection.last_error or 'none yet'})."
            ) from None

    # --- sending ----------------------------------------------------------

    async def request(
        self,
        to: str | None,
        kind: IqKind,
        payload: ET.Element,
        timeout: float | None = None,
        read_error: ErrorReader | None = None,
    ) -> ET.Element | None:
        """Send an iq of ``kind`` (get or set) carrying ``payload`` to ``to`` (None: our own account).

        Returns the answer's payload (None for an empty result). An error answer raises what
        ``read_error`` (default: the client's) makes of it, silence :class:`~xiotlab.errors.TimedOut`,
        a connection lost meanwhile :class:`~xiotlab.errors.ConnectionLost`.
        """
        timeout = self.timeout if timeout is None else timeout
        await self.ready(timeout)
        return self._payload(await self._ask(to, kind, payload, timeout), read_error)

    def send_message(self, to: str, payloads: Iterable[ET.Element], kind: str = "normal") -> None:
        """Send one message carrying ``payloads``, serialized here rather than by slixmpp.

        For data-heavy messages (sensor events): the standard library's serializer
        costs a third of slixmpp's per element, and the text still goes through the
        stream's send queue, in order with every other stanza.
        """
        message = ET.Element("{jabber:client}message", {"to": to, "type": kind, "id": self.stream.new_id()})
        self._send_message(message, payloads)

    def send_chat(
        self, to: str, text: str, kind: str = "chat", thread: str | None = None, payloads: Iterable[ET.Element] = ()
    ) -> None:
        """Send ``text`` for a person to read, in a ``kind`` message (chat or normal), in ``thread``."""
        message = self.stream.make_message(mto=to, mbody=text, mtype=kind)  # type: ignore[arg-type]  # typed as a Literal
        if thread:
            message["thread"] = thread
        message.xml.extend(payloads)
        message.send()

    # --- friendship: presence subscriptions -------------------------------------

    def accept_friend(self, jid: str) -> None:
        """Grant ``jid``'s presence subscription and ask for theirs, unless asked already."""
        item = self.stream.client_roster[jid]
        # slixmpp follows a grant with the last presence sent to that contact; after a refusal that
        # is the "unavailable" which went with it, and the new friend would see us offline.
        item.last_status = None
        item.authorize()
        if not (item["to"] or item["pending_out"]):
            item.subscribe()

    def ask_friend(self, jid: str) -> None:
        """Ask for ``jid``'s presence subscription, granting nothing in advance (RFC 6121 §3.4)."""
        self.stream.client_roster[jid].subscribe()

    def refuse_friend(self, jid: str) -> None:
        """Refuse ``jid``'s presence subscription."""
        self.stream.client_roster[jid].unauthorize()

    def waiting_friends(self) -> set[str]:
        """The bare JIDs whose subscription requests wait for an answer."""
        roster = self.stream.client_roster
        return {str(jid) for jid in roster if roster[jid]["pending_in"]}

    # --- what services register (on, off, serve, on_event: see :class:`.link.Link`) ----------

    def set_identity(self, category: str, kind: str, name: str = "xiotlab") -> None:
        """Who we are in service discovery: an identity of the XEP-0030 registry (``"client", "pc"``)."""
        self.discovery.set_identity(category, kind, name)

    def add_features(self, features: Iterable[str]) -> None:
        """Announce ``features`` in service discovery (from the moment we are bound, if not yet)."""
        self.discovery.add(features)

    def remove_features(self, features: Iterable[str]) -> None:
        self.discovery.remove(features)


@atexit.register
def _say_goodbye() -> None:
    """At interpreter exit, close every connection still open before the network thread stops.

    Registered after the network thread's own exit hook, so it runs before it.
    """
    clients = [c for c in list(_live) if c.online]
    if clients and network.loop.is_running():

        async def close_all() -> None:
            await asyncio.gather(*(c.disconnect(timeout=2.0) for c in clients), return_exceptions=True)

        try:
            network.submit(close_all()).result(timeout=3)
        except Exception:  # exiting anyway: never block the interpreter's exit on a goodbye
            log.debug("closing connections at exit failed", exc_info=True)
