"""One XMPP client connection: slixmpp, set up the lab's way, with typed errors and a trace.

Everything here runs on the network loop. TLS is always on (STARTTLS, plain
connections refused) and always verified: against the lab's CA, a CA file
given by the user, or the system's trusted authorities.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import ssl
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

from ..errors import (
    AuthenticationFailed,
    CannotConnect,
    CertificateError,
    Forbidden,
    NotConnected,
    ProtocolError,
    StanzaError,
    TimedOut,
)
from ..protocol import stanza_errors
from .loop import network
from .trace import Trace

log = logging.getLogger("xiotlab")

DEFAULT_TIMEOUT = 10.0

Handler = Callable[[slixmpp.JID, ET.Element], Awaitable[Iterable[ET.Element] | None]]
IqKind = Literal["get", "set"]
ErrorReader = Callable[[ET.Element], Exception]  # an iq error answer -> the exception to raise

_live: weakref.WeakSet[XmppClient] = weakref.WeakSet()


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a server. ``host``/``port`` None: DNS, as any XMPP client does."""

    host: str | None = None
    port: int | None = None
    ca_file: Path | None = None

    def describe(self, domain: str) -> str:
        return f"{self.host}:{self.port}" if self.host else f"{domain} (via DNS)"


@functools.cache
def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """One verifying TLS context per trust anchor, shared by every client that uses it.

    ``ca_file`` None means the system's authorities. A context holding the system store
    weighs hundreds of kilobytes; a fleet of a thousand things must not carry a thousand.
    """
    return ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))


class _Stream(slixmpp.ClientXMPP):
    """slixmpp's client with the lab's defaults: STARTTLS only, verified, nothing automatic."""

    def __init__(self, jid: str, password: str, endpoint: Endpoint) -> None:
        super().__init__(jid, password, loop=network.loop, ssl_context=tls_context(endpoint.ca_file))
        self.enable_direct_tls = False
        self.enable_plaintext = False
        self.enable_starttls = True
        # Friend requests are decided by the roles, never accepted blindly.
        self.roster.auto_authorize = None  # type: ignore[assignment]  # None: "ask the application"; typed bool
        self.roster.auto_subscribe = False
        self.register_plugin("xep_0030")  # service discovery
        self.register_plugin("xep_0199")  # ping

    def send_loop(self) -> asyncio.Future | None:
        """The task that sends queued stanzas, if one was started.

        slixmpp leaves it waiting after a disconnect and cancels it only when the stream
        is garbage collected, which asyncio reports as a task destroyed while pending:
        :meth:`XmppClient.disconnect` ends it instead; the next connect starts a fresh one.
        """
        return self._run_out_filters


class XmppClient:
    """A connection to an XMPP server as one account, with a :class:`Trace` of its stanzas."""

    def __init__(self, jid: str, password: str, endpoint: Endpoint, *, timeout: float = DEFAULT_TIMEOUT,
                 trace_size: int = 2000, read_error: ErrorReader = stanza_errors.read_error) -> None:  # fmt: skip
        self.endpoint = endpoint
        self.timeout = timeout
        self.read_error = read_error  # error answers to exceptions, unless a request brings its own reader
        self.trace = Trace(trace_size)
        self.stream = _Stream(jid, password, endpoint)
        self.stream.add_filter("out", self._trace_out)
        self.stream.add_filter("in", self._trace_in)
        self.online = False
        self.stream.add_event_handler("disconnected", self._on_disconnected)
        self._routes: dict[str, dict[str, Callable]] = {}
        self._features: set[str] = set()
        _live.add(self)

    @property
    def jid(self) -> slixmpp.JID:
        return self.stream.boundjid

    # --- connecting -------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Connect, authenticate, bind, fetch the roster; raise a typed error on failure."""
        timeout = self.timeout if timeout is None else timeout
        outcome: asyncio.Future = asyncio.get_running_loop().create_future()

        def settle(result) -> None:
            if not outcome.done():
                outcome.set_result(result)

        handlers = {
            "session_start": lambda _: settle(None),
            "failed_auth": lambda _: settle(self._auth_error()),
            "connection_failed": lambda e: settle(self._connect_error(e)),
            "ssl_invalid_chain": lambda e: settle(self._certificate_error(e)),
            "disconnected": lambda e: settle(self._disconnect_error(e)),
            "stream_error": lambda e: settle(
                CannotConnect(f"The server closed the stream: {e['text'] or e['condition']}.")
            ),
        }
        for event, handler in handlers.items():
            self.stream.add_event_handler(event, handler)
        try:
            self.stream.connect(self.endpoint.host, self.endpoint.port)
            try:
                error = await asyncio.wait_for(outcome, timeout)
            except TimeoutError:
                error = TimedOut(
                    f"{self.jid.bare} did not get online at {self.endpoint.describe(self.jid.domain)} within "
                    f"{timeout:g} s. Is the server running there? Check host and port, or pass a longer timeout."
                )
            if error is None:
                await self.stream.get_roster(timeout=timeout)
                self._publish_features(self._features)
                self.online = True
                return
            self._abandon()
            await self._stop_send_loop()
            raise error
        finally:
            for event, handler in handlers.items():
                self.stream.del_event_handler(event, handler)

    def _auth_error(self) -> AuthenticationFailed:
        return AuthenticationFailed(
            f"The server refused {self.jid.bare}: wrong account name or password. "
            "For a lab account, leave the password out and pass `lab=` so the lab's own is used."
        )

    def _connect_error(self, reason) -> CannotConnect:
        return CannotConnect(
            f"Cannot connect to {self.endpoint.describe(self.jid.domain)} ({reason}). "
            "Is the server running? For a lab, check `xiotlab server status`."
        )

    def _certificate_error(self, reason) -> CertificateError:
        return CertificateError(
            f"The server at {self.endpoint.describe(self.jid.domain)} presented a certificate that does not "
            f"verify for {self.jid.domain!r} ({reason}). Give the right authority with `ca_file=` "
            "(for a lab: `lab.ca_file`). Verification is never switched off."
        )

    def _disconnect_error(self, reason) -> CannotConnect:
        if isinstance(reason, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(reason):
            return self._certificate_error(reason)
        return CannotConnect(
            f"The connection to {self.endpoint.describe(self.jid.domain)} closed before {self.jid.bare} "
            f"got online ({reason or 'no reason given'})."
        )

    def _abandon(self) -> None:
        # Stop slixmpp's own reconnect loop: a failed start is reported, not retried forever.
        self.stream.cancel_connection_attempt()
        self.stream.abort()

    async def disconnect(self, timeout: float | None = None) -> None:
        """Say goodbye (unavailable presence, end of stream) and close."""
        if not self.online and self.stream.transport is None:
            return
        self.online = False
        timeout = self.timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(self.stream.disconnect(wait=min(timeout, 2.0)), timeout)
        except TimeoutError:
            self._abandon()
        self.stream.cancel_connection_attempt()
        await self._stop_send_loop()

    async def _stop_send_loop(self) -> None:
        sender = self.stream.send_loop()
        if sender is not None and not sender.done():
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def _on_disconnected(self, _reason) -> None:
        self.online = False

    # --- sending ----------------------------------------------------------

    def require_online(self) -> None:
        if not self.online:
            raise NotConnected(f"{self.jid.bare} is not online: call `start()` first.")

    async def iq(
        self, iq: slixmpp.Iq, timeout: float | None = None, read_error: ErrorReader | None = None
    ) -> slixmpp.Iq:
        """Send ``iq`` and return the answer; errors and silence become typed exceptions.

        ``read_error(error_iq)`` turns an error answer into the exception to raise, for
        protocols whose errors say more than a condition (control parameters, say).
        """
        self.require_online()
        timeout = self.timeout if timeout is None else timeout
        try:
            return await iq.send(timeout=timeout)
        except IqTimeout:
            raise TimedOut(f"{iq['to']} did not answer within {timeout:g} s.") from None
        except IqError as e:
            raise (read_error or self.read_error)(e.iq.xml) from None

    async def request(
        self,
        to: str | None,
        kind: IqKind,
        payload: ET.Element,
        timeout: float | None = None,
        read_error: ErrorReader | None = None,
    ) -> ET.Element | None:
        """Send an iq of ``kind`` (get or set) carrying ``payload`` to ``to`` (None: our own account).

        Returns the answer's payload (None for an empty result); see :meth:`iq` for errors.
        """
        iq = self.stream.make_iq(ito=to, itype=kind)
        iq.xml.append(payload)
        answer = await self.iq(iq, timeout, read_error)
        return next(iter(answer.xml), None)

    def send_message(self, to: str, payloads: Iterable[ET.Element], kind: str = "normal") -> None:
        """Send one message carrying ``payloads``, serialized here rather than by slixmpp.

        For data-heavy messages (sensor events): the standard library's serializer
        costs a third of slixmpp's per element, and the text still goes through the
        stream's send queue, in order with every other stanza.
        """
        message = ET.Element("{jabber:client}message", {"to": to, "type": kind, "id": self.stream.new_id()})
        message.extend(payloads)
        self.trace.record("out", message)
        self.stream.send(_message_text(message))

    # --- friendship: presence subscriptions -------------------------------------

    def accept_friend(self, jid: str) -> None:
        """Grant ``jid``'s presence subscription and ask for theirs, unless asked already."""
        item = self.stream.client_roster[jid]
        item.authorize()
        if not (item["to"] or item["pending_out"]):
            item.subscribe()

    def refuse_friend(self, jid: str) -> None:
        """Refuse ``jid``'s presence subscription."""
        self.stream.client_roster[jid].unauthorize()

    def waiting_friends(self) -> set[str]:
        """The bare JIDs whose subscription requests wait for an answer."""
        roster = self.stream.client_roster
        return {str(jid) for jid in roster if roster[jid]["pending_in"]}

    # --- what services register -------------------------------------------------

    def on_event(self, event: str, handler: Callable[[Any], Any]) -> None:
        """Call ``handler(data)`` on each of the stream's ``event`` (``disconnected``, ``presence_unavailable``...)."""
        self.stream.add_event_handler(event, handler)

    def off_event(self, event: str, handler: Callable[[Any], Any]) -> None:
        self.stream.del_event_handler(event, handler)

    def add_features(self, features: Iterable[str]) -> None:
        """Announce ``features`` in service discovery (from the moment we are bound, if not yet)."""
        new = set(features) - self._features
        self._features |= new
        if self.online:
            self._publish_features(new)

    def remove_features(self, features: Iterable[str]) -> None:
        gone = self._features & set(features)
        self._features -= gone
        if self.online:
            disco = self.stream.plugin["xep_0030"]
            for feature in gone:
                disco.del_feature(jid=self.jid, feature=feature)

    def _publish_features(self, features: Iterable[str]) -> None:
        # Discovery data is kept per full JID, known only once bound; announced before presence,
        # because a friend may ask what we support as soon as it sees us.
        disco = self.stream.plugin["xep_0030"]
        for feature in features:
            disco.add_feature(feature, jid=self.jid)

    # --- serving requests ---------------------------------------------------

    def on(self, kind: str, tag: str, callback: Callable[[Any, ET.Element], Any]) -> None:
        """Call ``callback(stanza, payload)`` for each ``kind`` stanza ("iq" or "message") carrying ``tag``.

        ``tag`` is a payload element in Clark notation (``{namespace}local``). One handler per
        stanza kind routes by a dictionary lookup, so adding routes costs nothing per stanza.
        """
        routes = self._routes.get(kind)
        if routes is None:
            routes = self._routes[kind] = {}
            top = f"{{jabber:client}}{kind}"
            self.stream.register_handler(
                Callback(
                    f"xiotlab {kind} routes", _PayloadMatcher(top, routes), lambda stanza: _dispatch(stanza, routes)
                )
            )
        routes[tag] = callback

    def off(self, kind: str, tag: str) -> None:
        """Stop routing ``kind`` stanzas carrying ``tag`` (an iq nobody serves gets slixmpp's error)."""
        self._routes.get(kind, {}).pop(tag, None)

    def serve(
        self, namespaces: Iterable[str], local: str, handler: Handler, types: tuple[str, ...] = ("get", "set")
    ) -> None:
        """Answer iqs carrying ``<local>`` in any of ``namespaces`` with ``await handler(sender, element)``.

        The handler returns the result's payload elements (or None for an empty result);
        it runs as a task of its own, so a slow one holds up no other request. Typed
        errors become XMPP errors: Forbidden → forbidden, ProtocolError → bad-request,
        StanzaError → its condition, anything else → internal-server-error (and a log line).
        An iq of a type the handler does not take is answered ``bad-request``, never left waiting.
        """

        def answer(iq, element):
            if iq["type"] in types:
                network.spawn(self._answer(iq, element, handler))
            elif iq["type"] in ("get", "set"):
                send_error(
                    iq,
                    "modify",
                    "bad-request",
                    f"<{element.tag.rsplit('}', 1)[-1]}/> goes in an iq of type {' or '.join(types)}.",
                )

        for ns in namespaces:
            self.on("iq", f"{{{ns}}}{local}", answer)

    async def _answer(self, iq: slixmpp.Iq, element: ET.Element, handler: Handler) -> None:
        try:
            payload = await handler(iq["from"], element)
        except ErrorReply as e:
            answer = iq.reply(clear=True)
            answer["type"] = "error"
            answer.xml.extend(e.children)
            answer.send()
        except Forbidden as e:
            send_error(iq, "auth", "forbidden", str(e))
        except ProtocolError as e:
            send_error(iq, "modify", "bad-request", str(e))
        except StanzaError as e:
            send_error(iq, e.kind, e.condition, e.text, e.details)
        except Exception:
            log.exception("answering %s from %s failed", element.tag, iq["from"])
            send_error(iq, "wait", "internal-server-error", "The device failed while answering; see its log.")
        else:
            answer = iq.reply(clear=True)
            answer.xml.extend(payload or ())
            answer.send()

    # --- trace ------------------------------------------------------------

    def _trace_out(self, stanza):
        self.trace.record("out", stanza.xml)
        return stanza

    def _trace_in(self, stanza):
        self.trace.record("in", stanza.xml)
        return stanza


def _message_text(message: ET.Element) -> str:
    attributes = "".join(f" {name}={quoteattr(value)}" for name, value in message.attrib.items())
    # Payloads carry prefixed namespaces (ns0:resp): valid XML, and the trace shows them plainly.
    body = "".join(ET.tostring(p, encoding="unicode") for p in message)
    return f"<message{attributes}>{body}</message>"


class _PayloadMatcher(MatcherBase):
    """Matches stanzas of one kind that carry a routed payload element."""

    def __init__(self, top: str, routes: dict[str, Callable]) -> None:
        super().__init__(routes)
        self.top = top
        self.routes = routes

    def match(self, stanza) -> bool:
        xml = stanza.xml
        return xml.tag == self.top and any(child.tag in self.routes for child in xml)


def _dispatch(stanza, routes: dict[str, Callable]) -> None:
    for child in stanza.xml:
        callback = routes.get(child.tag)
        if callback is not None:
            callback(stanza, child)


class ErrorReply(Exception):
    """Raised by a request handler: answer with an iq error whose children are exactly these.

    For protocols whose error answers have a shape of their own (legacy control).
    """

    def __init__(self, *children: ET.Element) -> None:
        super().__init__("error reply")
        self.children = children


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


def send_error(iq: slixmpp.Iq, kind: str, condition: str, text: str, details: Iterable[ET.Element] = ()) -> None:
    """Answer ``iq`` with an XMPP error (``kind``: cancel, modify, auth, wait), plus application ``details``."""
    answer = iq.reply(clear=True)
    answer["type"] = "error"
    answer["error"]["type"] = kind
    answer["error"]["condition"] = condition
    answer["error"]["text"] = text
    answer["error"].xml.extend(details)
    answer.send()
