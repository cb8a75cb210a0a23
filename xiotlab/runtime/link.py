"""What a client's connection and a component's share: getting online, staying up, routing, a trace.

:class:`~.client.XmppClient` (an account) and :class:`~.component.ComponentClient`
(a service's own address) differ in how their stream starts, what can go wrong
on the way and what they do once online. The rest is here, once: an attempt that
ends with the first of the stream's outcome events, the pauses of the reconnect
loop (:data:`.connection.BACKOFF`), the trace's filters and the stanza router.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any, Generic, Literal, TypeVar

import slixmpp

from ..errors import AuthenticationFailed, TimedOut, XmppError
from .answers import Answers, payload_of
from .connection import BACKOFF, Connection, State
from .loop import network
from .serving import Handler, Router
from .trace import Trace
from .wire import stanza_text
from .xmpp import BaseStream

DEFAULT_TIMEOUT = 10.0

IqKind = Literal["get", "set"]
ErrorReader = Callable[[ET.Element], Exception]  # an iq error answer -> the exception to raise

S = TypeVar("S", bound=BaseStream)


class Link(Generic[S]):
    """One stream to the server, its :class:`Connection` state and a :class:`Trace` of its stanzas.

    Subclasses make one attempt at getting online (:meth:`_attempt`, mostly through
    :meth:`_first_outcome`) and say why a lost stream was lost (:meth:`_went_down`).
    """

    reconnect = True  # once online, a lost stream is taken back by itself
    read_error: ErrorReader  # error answers to exceptions, unless a request brings its own reader

    def __init__(self, stream: S, *, timeout: float, trace_size: int) -> None:
        self.timeout = timeout
        self.trace = Trace(trace_size)
        self.stream = stream
        stream.add_filter("out", self._trace_out)
        stream.add_filter("in", self._trace_in)
        stream.add_event_handler("disconnected", self._on_disconnected)
        self.connection = Connection()
        self.router = Router(stream, self.send_stanza)
        self.answers = Answers(stream)
        self._leaving = False
        self._coming_back: asyncio.Task | None = None

    @property
    def jid(self) -> slixmpp.JID:
        return self.stream.boundjid

    @property
    def online(self) -> bool:
        return self.connection.state is State.ONLINE

    # --- connecting -------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Connect and get online; raise a typed error on failure.

        A client authenticates, binds and fetches its roster; a component is accepted with its secret.
        """
        self._leaving = False
        self.connection.change(State.CONNECTING)
        try:
            await self._attempt(self.timeout if timeout is None else timeout)
        except BaseException:
            self.connection.change(State.OFFLINE)
            raise
        self._went_online()

    async def _attempt(self, timeout: float) -> bool:
        """One try at getting online; True if the server resumed the previous session."""
        raise NotImplementedError

    async def _first_outcome(
        self,
        start: Callable[[], object],
        outcomes: dict[str, Callable[[Any], object]],
        timeout: float,
        too_slow: Callable[[], Exception],
    ) -> object:
        """Call ``start()`` and wait for the first of the stream's events named in ``outcomes``.

        Returns what that event's function makes of the event's data, or ``too_slow()`` if none
        came within ``timeout``: an exception is returned, for the caller to clean up and raise.
        """
        outcome: asyncio.Future = asyncio.get_running_loop().create_future()

        def settle(result) -> None:
            if not outcome.done():
                outcome.set_result(result)

        handlers = {event: (lambda data, read=read: settle(read(data))) for event, read in outcomes.items()}
        for event, handler in handlers.items():
            self.stream.add_event_handler(event, handler)
        try:
            start()
            try:
                return await asyncio.wait_for(outcome, timeout)
            except TimeoutError:
                return too_slow()
        finally:
            for event, handler in handlers.items():
                self.stream.del_event_handler(event, handler)

    def _went_online(self, resumed: bool | None = None) -> None:
        """Online: after a start (``resumed`` None), or back after a loss."""
        if resumed is None:
            self.connection.change(State.ONLINE)
        else:
            self.connection.restored(resumed)

    def _abandon(self) -> None:
        # Stop slixmpp's own reconnect loop: a failed start is reported, not retried forever.
        self.stream.cancel_connection_attempt()
        self.stream.abort()

    def _leave(self) -> State:
        """Stop any reconnecting and count as offline; where the connection stood before."""
        self._leaving = True
        if self._coming_back is not None:
            self._coming_back.cancel()
        was = self.connection.state
        self.connection.change(State.OFFLINE)
        return was

    async def _stop_send_loop(self) -> None:
        sender = self.stream.send_loop()
        if sender is not None and not sender.done():
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    # --- staying up ---------------------------------------------------------

    def _on_disconnected(self, reason) -> None:
        if self.connection.state is not State.ONLINE:
            return  # a failed attempt, or our own goodbye
        why = self._went_down(reason)
        coming_back = self.reconnect and not self._leaving
        self.connection.lost(why, coming_back=coming_back)
        if coming_back:
            self._coming_back = network.spawn(self._come_back())

    def _went_down(self, reason) -> str:
        """Why a stream that was online was lost (``reason``: slixmpp's), once what hung on it is let go."""
        raise NotImplementedError

    async def _come_back(self) -> None:
        """Try again, pausing longer each time, until online, told to stop, or refused for good."""
        pauses = itertools.chain(BACKOFF, itertools.repeat(BACKOFF[-1]))
        while not self._leaving:
            await asyncio.sleep(next(pauses))
            self.connection.attempts += 1
            try:
                resumed = await self._attempt(min(self.timeout, 10.0))
            except AuthenticationFailed as e:  # the account is gone or changed: retrying cannot help
                self.connection.last_error = str(e)
                self.connection.change(State.OFFLINE)
                return
            except XmppError as e:
                self.connection.last_error = str(e)
                continue
            self._went_online(resumed)
            return

    # --- what services register -------------------------------------------------

    def on_event(self, event: str, handler: Callable[[Any], Any]) -> None:
        """Call ``handler(data)`` on each of the stream's ``event`` (``disconnected``, ``presence_unavailable``...)."""
        self.stream.add_event_handler(event, handler)

    def off_event(self, event: str, handler: Callable[[Any], Any]) -> None:
        self.stream.del_event_handler(event, handler)

    def on(self, kind: str, tag: str, callback: Callable[[Any, ET.Element], Any]) -> None:
        """Call ``callback(stanza, payload)`` for each ``kind`` stanza carrying ``tag`` (see :class:`Router`)."""
        self.router.on(kind, tag, callback)

    def off(self, kind: str, tag: str) -> None:
        self.router.off(kind, tag)

    def serve(
        self, namespaces: Iterable[str], local: str, handler: Handler, types: tuple[str, ...] = ("get", "set")
    ) -> None:
        """Answer iqs carrying ``<local>`` in ``namespaces`` with ``await handler(sender, element)``.

        See :meth:`.serving.Router.serve` for how errors are answered and the limits that hold.
        """
        self.router.serve(namespaces, local, handler, types)

    # --- sending and the trace ----------------------------------------------------

    def send_stanza(self, stanza: ET.Element) -> None:
        """Send ``stanza`` (a message, or an iq carrying IoT payloads), serialized here; the trace shows it.

        slixmpp's serializer escapes text a character at a time: for a readout, or an event of a
        thousand values, that was most of what sending cost (see :mod:`.wire`).
        """
        self.trace.record("out", stanza)
        self.stream.send_text(stanza_text(stanza))

    def _send_message(self, message: ET.Element, payloads: Iterable[ET.Element]) -> None:
        """Send ``message`` (no children yet) carrying ``payloads``."""
        message.extend(payloads)
        self.send_stanza(message)

    async def _ask(
        self, to: str | None, kind: IqKind, payload: ET.Element, timeout: float, sender: str | None = None
    ) -> ET.Element:
        """Send an iq of ``kind`` carrying ``payload`` to ``to`` (from ``sender``, for a component); its answer.

        The answer is the whole iq, a result or an error; :class:`~xiotlab.errors.TimedOut` if none
        comes within ``timeout`` seconds.
        """
        iq_id = self.stream.new_id()
        attributes = {"type": kind, "id": iq_id}
        if to:
            attributes["to"] = to
        if sender:
            attributes["from"] = sender
        iq = ET.Element(f"{{{self.stream.default_ns}}}iq", attributes)
        iq.append(payload)
        answer = self.answers.expect(iq_id, to)
        self._waiting(answer, to)
        try:
            self.send_stanza(iq)
            async with asyncio.timeout(timeout):
                return await answer
        except TimeoutError:
            raise TimedOut(f"{to or 'The server'} did not answer {self.jid} within {timeout:g} s.") from None
        finally:
            self.answers.forget(iq_id)
            if not answer.done():
                answer.cancel()  # not sent, or given up on: nobody is left to read what it would get

    def _waiting(self, answer: asyncio.Future, to: str | None) -> None:
        """``answer``, from ``to``, is awaited: a subclass that ends calls when its connection goes keeps it."""

    def _payload(self, answer: ET.Element, read_error: ErrorReader | None) -> ET.Element | None:
        """The payload of a result (None if empty); an error answer raises what ``read_error`` makes of it."""
        if answer.get("type") == "error":
            raise (read_error or self.read_error)(answer)
        return payload_of(answer)

    def _trace_out(self, stanza):
        self.trace.record("out", stanza.xml)
        return stanza

    def _trace_in(self, stanza):
        self.trace.record("in", stanza.xml)
        return stanza
