"""The owner's side of sensor data: readouts and event subscriptions, in the dialect a thing speaks.

Requests go to the thing's full JID (a bare JID would be answered by its
server), so the thing must be a friend and online. Which dialect to use comes
from the thing's service discovery: the current namespace if it has it, else
an older alias, else the legacy XEP-0323 one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from slixmpp import JID, Message, Presence

from ..errors import ProtocolError, StanzaError, TimedOut, XmppError
from ..protocol import events, legacy_sensordata, sensordata, series
from ..protocol.namespaces import LEGACY_SENSOR_DATA
from ..protocol.values import Category, Duration, Field, NodeRef, ReadoutError
from ..runtime import XmppClient, network
from ..runtime.connection import Connection, State
from .peers import Peers
from .readout import Readout
from .sensors import categories_of
from .service import Service
from .stream import Stream

PREFERENCE = (*sensordata.NAMESPACES, LEGACY_SENSOR_DATA)
MAX_READOUT_ITEMS = 10 * sensordata.MAX_RESPONSE_ITEMS
"""Most fields and errors one readout may bring (about 30 MB). Its timeout measures silence, so a
thing that kept sending parts without ever saying it is done would otherwise grow it for ever."""


class _Collector:
    """Gathers the fragments of one readout until the thing says it is done."""

    def __init__(self) -> None:
        self.fields: list[Field] = []
        self.errors: list[ReadoutError] = []
        self._loop = asyncio.get_running_loop()
        self.done = self._loop.create_future()
        self.heard = self._loop.time()  # when the thing last sent a part of this readout

    def touch(self) -> None:
        """The thing said something of this readout: its silence starts again."""
        self.heard = self._loop.time()

    def add(self, response: sensordata.ReadoutResponse) -> None:
        if self.done.done():
            return  # finished, or given up on: nothing more is kept
        self.touch()
        self.fields.extend(response.fields)
        self.errors.extend(response.errors)
        if len(self.fields) + len(self.errors) > MAX_READOUT_ITEMS:
            self.fields, self.errors = [], []
            self.done.set_exception(
                ProtocolError(
                    f"The readout went past {MAX_READOUT_ITEMS} fields and errors without an end, and was given up. "
                    "Ask for fewer fields, or a shorter time (start=, end=)."
                )
            )
        elif response.done:
            self.finish()

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    async def until_done(self, timeout: float) -> None:
        """Wait until the thing says it is done; TimeoutError once it stays silent ``timeout`` seconds.

        A long readout over a slow (throttled) server keeps its parts coming: only silence ends it.
        One wait as long as ``timeout`` covers the usual readout; when it expires, the wait goes on
        for whatever is left of ``timeout`` since the last part heard, without a task of its own.
        """
        while not self.done.done():  # done already (all of it in the iq result): no wait, no loop turn
            left = self.heard + timeout - self._loop.time()
            if left <= 0:
                raise TimeoutError
            try:
                await asyncio.wait_for(asyncio.shield(self.done), left)
            except TimeoutError:
                continue  # parts may have come meanwhile: measure the silence again
        self.done.result()  # a readout given up on (too large) raises here


class SensorClient(Service[XmppClient]):
    """Reads and subscribes to things for one owner."""

    # Announced so that things send fast streams as runs of values (xiotlab's extension of the
    # fields' <x>); sensordata's parser reads them, whoever sends them.
    features = (series.NAMESPACE,)

    def __init__(self, client: XmppClient, peers: Peers) -> None:
        super().__init__(client)
        self.peers = peers
        self._readouts: dict[tuple[str, str], _Collector] = {}
        self._watches: dict[tuple[str, str], _Watch] = {}  # by (thing, subscription id)
        # Plain numbers: unique per owner as the specification asks, and valid legacy seqnr values.
        self._ids = (str(n) for n in itertools.count(1))

    def register(self) -> None:
        for ns in sensordata.NAMESPACES:
            for local in ("resp", "done"):
                self.route("message", f"{{{ns}}}{local}", self._on_message)
        for local in ("fields", "failure", "started", "done"):
            self.route("message", f"{{{LEGACY_SENSOR_DATA}}}{local}", self._on_legacy_message)
        self.on_event("presence_unavailable", self._thing_left)
        self.on_event("presence_available", self._thing_showed)
        self.on_state(self._on_connection)

    # --- readout ----------------------------------------------------------

    async def read(
        self,
        jid: str,
        fields: Iterable[str] | str | None,
        categories,
        start: dt.datetime | None,
        end: dt.datetime | None,
        timeout: float,
        nodes: tuple[NodeRef, ...] = (),
    ) -> Readout:
        full = await self.peers.address(jid, timeout)
        ns = await self.peers.dialect(full, PREFERENCE, timeout)
        request = sensordata.ReadoutRequest(
            id=next(self._ids),
            categories=categories_of(categories) or Category.ALL,
            fields=_names(fields),
            from_time=_aware(start),
            to_time=_aware(end),
            nodes=nodes,
            namespace=ns,
        )
        collector = _Collector()
        key = (full, request.id)
        self._readouts[key] = collector
        try:
            if ns == LEGACY_SENSOR_DATA:
                payload = legacy_sensordata.build_request(request)
            else:
                payload = sensordata.build_request(request, ns=ns)
            answer = await self.peers.request(full, "get", payload, timeout)
            self._first_answer(answer, collector)
            try:
                await collector.until_done(timeout)
            except TimeoutError:
                raise TimedOut(
                    f"{full} started the readout but sent nothing more of it for {timeout:g} s, without finishing it."
                ) from None
        finally:
            self._readouts.pop(key, None)
        return Readout(full.split("/")[0], collector.fields, collector.errors, ns)

    def _first_answer(self, answer: ET.Element | None, collector: _Collector) -> None:
        """The iq result: all the data, or word that it follows in messages."""
        collector.touch()
        if answer is None:
            collector.finish()
            return
        if answer.tag.endswith("}resp"):
            collector.add(sensordata.parse_response(answer))
        elif answer.tag.endswith("}started") or answer.tag.endswith("}accepted"):
            pass  # the data follows in messages
        else:
            raise ProtocolError(f"Unexpected answer to a readout: <{answer.tag}>.")

    def _on_message(self, message: Message, element: ET.Element) -> None:
        self._deliver(message["from"], element, sensordata.parse, streams=True)

    def _on_legacy_message(self, message: Message, element: ET.Element) -> None:
        self._deliver(message["from"], element, legacy_sensordata.parse, streams=False)  # the XEP has no events

    def _deliver(self, sender: JID, element: ET.Element, parse: Callable[[ET.Element], object], streams: bool) -> None:
        """Values to the stream they answer, or a part of a readout to its collector; the rest is dropped."""
        try:
            parsed = parse(element)
        except ProtocolError:
            return
        if streams and isinstance(parsed, sensordata.ReadoutResponse):
            watch = self._watches.get((sender.bare, parsed.id))
            if watch is not None:
                watch.stream.push(parsed.fields)
                return
        collector = self._readouts.get((sender.full, str(getattr(parsed, "id", ""))))
        if collector is None:
            return
        if isinstance(parsed, sensordata.ReadoutResponse):
            collector.add(parsed)
        elif isinstance(parsed, sensordata.Done):
            collector.finish()

    # --- subscriptions ------------------------------------------------------

    async def subscribe(
        self,
        jid: str,
        fields,
        categories,
        min_interval,
        max_interval,
        change,
        buffer: int,
        timeout: float,
        nodes: tuple[NodeRef, ...] = (),
    ) -> Stream:
        full = await self.peers.address(jid, timeout)
        sd_ns = await self.peers.dialect(full, PREFERENCE, timeout)
        if sd_ns == LEGACY_SENSOR_DATA:
            raise StanzaError(
                f"{full} speaks only the legacy dialect, which has no event subscriptions.",
                condition="feature-not-implemented",
            )
        ns = events.events_namespace(sd_ns)
        subscription = events.Subscription(
            id=next(self._ids),
            categories=categories_of(categories) or Category.ALL,
            fields=_triggers(fields, change),
            min_interval=_duration(min_interval),
            max_interval=_duration(max_interval),
            nodes=nodes,
            namespace=ns,
        )
        bare = full.split("/")[0]
        key = (bare, subscription.id)
        stream = Stream(
            bare,
            subscription.id,
            buffer=buffer,
            unsubscribe=lambda: network.submit(self._unsubscribe(self._watches.get(key))),
        )
        self._watches[key] = _Watch(stream, subscription, full)
        try:
            await self.peers.request(full, "set", events.build_subscribe(subscription, ns=ns), timeout)
        except BaseException:
            self._watches.pop(key, None)
            raise
        stream.observe(lambda batch: stream.ended and self._watches.pop(key, None))
        return stream

    async def _unsubscribe(self, watch: _Watch | None) -> None:
        # The watch is taken when the stream is closed: the stream's end drops it from the table.
        if watch is None or not watch.address or not self.client.online:
            return
        unsubscribe = events.build_unsubscribe(watch.subscription.id, ns=watch.subscription.namespace)
        try:
            await self.peers.request(watch.address, "set", unsubscribe)
        except Exception:
            pass  # the thing may be gone already; the stream ends anyway

    # --- staying up ---------------------------------------------------------

    def _thing_left(self, presence: Presence) -> None:
        bare = presence["from"].bare
        for (thing, _), watch in list(self._watches.items()):
            if thing == bare and watch.address == presence["from"].full:
                watch.stream.end(f"{bare} went offline")

    def _on_connection(self, connection: Connection, state: State) -> None:
        watches = list(self._watches.values())
        if state is State.RECONNECTING:
            for watch in watches:
                watch.stream.open_gap(connection.outages[-1].reason)
        elif state is State.ONLINE and connection.session == "resumed":
            for watch in watches:
                watch.stream.close_gap()  # the server kept the session: nothing was lost
        elif state is State.ONLINE and connection.session == "fresh":
            for watch in watches:
                watch.address = ""  # the thing forgot us with the old session: subscribe again when it shows
        elif state is State.OFFLINE:
            out = connection.out
            reason = "the owner went offline" if out is None else out.reason
            if out is not None and connection.last_error:
                reason += f", and reconnecting failed: {connection.last_error}"
            for watch in watches:
                watch.stream.end(reason)  # each drops its watch from the table

    def _thing_showed(self, presence: Presence) -> None:
        """A thing came (back) online: take back the subscriptions a lost session dropped."""
        sender = presence["from"]
        for key, watch in list(self._watches.items()):
            if key[0] == sender.bare and not watch.address:
                watch.address = sender.full
                network.spawn(self._resubscribe(key, watch))

    async def _resubscribe(self, key: tuple[str, str], watch: _Watch) -> None:
        subscribe = events.build_subscribe(watch.subscription, ns=watch.subscription.namespace)
        try:
            await self.peers.request(watch.address, "set", subscribe)
        except XmppError as error:
            watch.stream.end(f"{key[0]} refused the subscription when it was taken back: {error}")
        else:
            watch.stream.close_gap()


@dataclass(eq=False)
class _Watch:
    """A subscription as the owner keeps it: the stream it feeds, and where the thing is now."""

    stream: Stream
    subscription: events.Subscription
    address: str  # the thing's full JID; empty while it must be subscribed again


def _names(fields) -> tuple[str, ...]:
    if fields is None:
        return ()
    return (fields,) if isinstance(fields, str) else tuple(fields)


def _triggers(fields, change) -> tuple[events.FieldTrigger, ...]:
    names = _names(fields)
    if isinstance(change, dict):
        names = names or tuple(change)
        return tuple(events.FieldTrigger(n, by=change.get(n)) for n in names)
    return tuple(events.FieldTrigger(n, by=change) for n in names)


def _duration(value) -> Duration | None:
    if value is None or isinstance(value, Duration):
        return value
    if isinstance(value, dt.timedelta):
        return Duration.from_timedelta(value)
    return Duration.from_timedelta(dt.timedelta(seconds=float(value)))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.astimezone()  # a naive datetime is local time, as Python means it
    return value
