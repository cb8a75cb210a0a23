"""An XMPP component (XEP-0114): a service with an address of its own on the lab's server.

The lab's registry and provisioning services are components, as their
specifications say: the server routes every stanza for ``registry.<domain>``
to one stream, which says who it is with a shared secret instead of an
account. The stream is plain TCP by the XEP's design, so the server listens for
components on loopback only (:mod:`xiotlab.server.prosody`); what a component
answers reaches clients over their own TLS streams.

:class:`ComponentClient` offers what services use of :class:`~.client.XmppClient`
(``serve``, ``on``, ``request``, ``send_message``, discovery features), so the
same :class:`~xiotlab.roles.service.Service` classes run on either. Every
stanza it sends names its sender, the component's address, as XEP-0114 asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

from ..errors import CannotConnect, NotConnected, TimedOut
from ..protocol import stanza_errors
from ..protocol.namespaces import COMPONENT
from .client import DEFAULT_TIMEOUT, ErrorReader, IqKind, message_text
from .connection import BACKOFF, Connection, State
from .loop import network
from .serving import Handler, Router
from .trace import Trace

log = logging.getLogger("xiotlab")


class ComponentStream(slixmpp.ComponentXMPP):
    """slixmpp's component with the lab's discovery and nothing automatic."""

    def __init__(self, jid: str, secret: str, host: str, port: int) -> None:
        super().__init__(jid, secret, host, port)
        self.loop = network.loop
        self.register_plugin("xep_0030")  # service discovery: how clients find the service
        self.register_plugin("xep_0199")  # ping: the baseline of the services' benchmarks

    def send_text(self, text: str) -> None:
        """Send a stanza serialized by us, in order with every other stanza."""
        self.send_raw(text)

    def send_loop(self) -> asyncio.Future | None:
        """The task that sends queued stanzas (see :meth:`.xmpp.LabStream.send_loop`)."""
        return self._run_out_filters


class ComponentClient:
    """A component connection: ``jid`` is the service's address (``registry.xiotlab.localhost``).

    ``identity`` is its XEP-0030 identity (category, type, name). Once online, a lost
    connection (the server restarted) is taken back by itself, as a participant's is.
    """

    def __init__(self, jid: str, secret: str, host: str, port: int, *,
                 identity: tuple[str, str, str] = ("component", "generic", "xiotlab"),
                 timeout: float = DEFAULT_TIMEOUT, trace_size: int = 2000) -> None:  # fmt: skip
        self.timeout = timeout
        self.identity = identity
        self.read_error: ErrorReader = stanza_errors.read_error
        self.trace = Trace(trace_size)
        self.stream = ComponentStream(jid, secret, host, port)
        self.stream.add_filter("out", self._trace_out)
        self.stream.add_filter("in", self._trace_in)
        self.stream.add_event_handler("disconnected", self._on_disconnected)
        self.connection = Connection()
        self.router = Router(self.stream)
        self.features: set[str] = set()
        self._leaving = False
        self._coming_back: asyncio.Task | None = None
        self._where = f"{host}:{port}"

    @property
    def jid(self) -> slixmpp.JID:
        return self.stream.boundjid

    @property
    def online(self) -> bool:
        return self.connection.state is State.ONLINE

    # --- connecting -------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Connect and be accepted by the server; raise CannotConnect or TimedOut if not."""
        self._leaving = False
        self.connection.change(State.CONNECTING)
        try:
            await self._attempt(self.timeout if timeout is None else timeout)
        except BaseException:
            self.connection.change(State.OFFLINE)
            raise
        self.connection.change(State.ONLINE)

    async def _attempt(self, timeout: float) -> None:
        outcome: asyncio.Future = asyncio.get_running_loop().create_future()

        def settle(result) -> None:
            if not outcome.done():
                outcome.set_result(result)

        handlers: dict[str, Callable[[Any], None]] = {
            "session_start": lambda _: settle(None),
            "connection_failed": lambda e: settle(CannotConnect(f"Cannot reach {self._where} ({e}).")),
            "disconnected": lambda e: settle(
                CannotConnect(
                    f"The server at {self._where} closed the stream of {self.jid} ({e or 'no reason given'}): "
                    "is the component declared in its configuration, with the same secret?"
                )
            ),
            "stream_error": lambda e: settle(CannotConnect(f"The server refused {self.jid}: {e['condition']}.")),
        }
        for event, handler in handlers.items():
            self.stream.add_event_handler(event, handler)
        try:
            self.stream.connect()
            try:
                result = await asyncio.wait_for(outcome, timeout)
            except TimeoutError:
                result = TimedOut(f"{self.jid} was not accepted by the server at {self._where} within {timeout:g} s.")
            if isinstance(result, Exception):
                self.stream.cancel_connection_attempt()
                self.stream.abort()
                raise result
            self._publish()
        finally:
            for event, handler in handlers.items():
                self.stream.del_event_handler(event, handler)

    async def disconnect(self, timeout: float | None = None) -> None:
        """Close the stream and stop any reconnecting. Safe to call twice."""
        self._leaving = True
        if self._coming_back is not None:
            self._coming_back.cancel()
        was = self.connection.state
        self.connection.change(State.OFFLINE)
        if was is State.ONLINE:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stream.disconnect(wait=1.0), self.timeout if timeout is None else timeout)
        self.stream.cancel_connection_attempt()
        self.stream.abort()
        sender = self.stream.send_loop()
        if sender is not None and not sender.done():
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def _on_disconnected(self, reason) -> None:
        if self.connection.state is not State.ONLINE:
            return
        why = f"the stream to {self._where} was lost ({reason or 'closed'})"
        self.connection.lost(why, coming_back=not self._leaving)
        if not self._leaving:
            self._coming_back = network.spawn(self._come_back())

    async def _come_back(self) -> None:
        pauses = itertools.chain(BACKOFF, itertools.repeat(BACKOFF[-1]))
        while not self._leaving:
            await asyncio.sleep(next(pauses))
            self.connection.attempts += 1
            try:
                await self._attempt(min(self.timeout, 10.0))
            except (CannotConnect, TimedOut) as e:
                self.connection.last_error = str(e)
                continue
            self.connection.restored(False)
            return

    # --- discovery ----------------------------------------------------------

    def add_features(self, features: Iterable[str]) -> None:
        """Announce ``features`` in service discovery at the component's address."""
        self.features |= set(features)
        if self.online:
            self._publish()

    def remove_features(self, features: Iterable[str]) -> None:
        gone = self.features & set(features)
        self.features -= gone
        for feature in gone:
            self.stream.plugin["xep_0030"].del_feature(jid=self.jid, feature=feature)

    def _publish(self) -> None:
        disco = self.stream.plugin["xep_0030"]
        category, kind, name = self.identity
        disco.set_identities(jid=self.jid, identities={(category, kind, None, name)})
        for feature in self.features:
            disco.add_feature(feature, jid=self.jid)

    # --- routing and serving --------------------------------------------------

    def on(self, kind: str, tag: str, callback: Callable[[Any, ET.Element], Any]) -> None:
        """Call ``callback(stanza, payload)`` for each ``kind`` stanza carrying ``tag`` (see :class:`.Router`)."""
        self.router.on(kind, tag, callback)

    def off(self, kind: str, tag: str) -> None:
        self.router.off(kind, tag)

    def serve(
        self, namespaces: Iterable[str], local: str, handler: Handler, types: tuple[str, ...] = ("get", "set")
    ) -> None:
        """Answer iqs carrying ``<local>`` in ``namespaces`` (see :meth:`.Router.serve`)."""
        self.router.serve(namespaces, local, handler, types)

    def on_event(self, event: str, handler: Callable[[Any], Any]) -> None:
        self.stream.add_event_handler(event, handler)

    def off_event(self, event: str, handler: Callable[[Any], Any]) -> None:
        self.stream.del_event_handler(event, handler)

    # --- sending ----------------------------------------------------------------

    async def request(
        self,
        to: str,
        kind: IqKind,
        payload: ET.Element,
        timeout: float | None = None,
        read_error: ErrorReader | None = None,
    ) -> ET.Element | None:
        """Send an iq of ``kind`` carrying ``payload`` to ``to``; the answer's payload, or a typed error."""
        if not self.online:
            raise NotConnected(f"{self.jid} is not connected to its server.")
        timeout = self.timeout if timeout is None else timeout
        iq = self.stream.make_iq(ito=to, itype=kind, ifrom=self.jid)
        iq.xml.append(payload)
        try:
            answer = await iq.send(timeout=timeout)
        except IqTimeout:
            raise TimedOut(f"{to} did not answer {self.jid} within {timeout:g} s.") from None
        except IqError as e:
            raise (read_error or self.read_error)(e.iq.xml) from None
        return next(iter(answer.xml), None)

    def send_message(self, to: str, payloads: Iterable[ET.Element], kind: str = "normal") -> None:
        """Send one message from the component carrying ``payloads``."""
        message = ET.Element(
            f"{{{COMPONENT}}}message", {"from": self.jid.full, "to": to, "type": kind, "id": self.stream.new_id()}
        )
        message.extend(payloads)
        self.trace.record("out", message)
        self.stream.send_text(message_text(message))

    # --- trace --------------------------------------------------------------

    def _trace_out(self, stanza):
        self.trace.record("out", stanza.xml)
        return stanza

    def _trace_in(self, stanza):
        self.trace.record("in", stanza.xml)
        return stanza

    def __repr__(self) -> str:
        return f"<ComponentClient {self.jid} {self.connection.state.value}>"
