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

from slixmpp import JID, Message, Presence

from ..errors import ProtocolError, StanzaError, TimedOut
from ..protocol import events, legacy_sensordata, sensordata
from ..protocol.namespaces import LEGACY_SENSOR_DATA
from ..protocol.values import Category, Duration, Field, ReadoutError
from ..runtime import XmppClient, network
from .peers import Peers
from .readout import Readout
from .sensors import categories_of
from .service import Service
from .stream import Stream

PREFERENCE = (*sensordata.NAMESPACES, LEGACY_SENSOR_DATA)


class _Collector:
    """Gathers the fragments of one readout until the thing says it is done."""

    def __init__(self) -> None:
        self.fields: list[Field] = []
        self.errors: list[ReadoutError] = []
        self.done = asyncio.get_running_loop().create_future()

    def add(self, response: sensordata.ReadoutResponse) -> None:
        self.fields.extend(response.fields)
        self.errors.extend(response.errors)
        if response.done:
            self.finish()

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


class SensorClient(Service):
    """Reads and subscribes to things for one owner."""

    def __init__(self, client: XmppClient, peers: Peers) -> None:
        super().__init__(client)
        self.peers = peers
        self._readouts: dict[tuple[str, str], _Collector] = {}
        self._streams: dict[tuple[str, str], Stream] = {}
        # Plain numbers: unique per owner as the specification asks, and valid legacy seqnr values.
        self._ids = (str(n) for n in itertools.count(1))

    def register(self) -> None:
        for ns in sensordata.NAMESPACES:
            for local in ("resp", "done"):
                self.route("message", f"{{{ns}}}{local}", self._on_message)
        for local in ("fields", "failure", "started", "done"):
            self.route("message", f"{{{LEGACY_SENSOR_DATA}}}{local}", self._on_legacy_message)
        self.on_event("presence_unavailable", self._thing_left)
        self.on_event("disconnected", lambda _: self._end_all("the owner went offline"))

    # --- readout ----------------------------------------------------------

    async def read(
        self,
        jid: str,
        fields: Iterable[str] | str | None,
        categories,
        start: dt.datetime | None,
        end: dt.datetime | None,
        timeout: float,
    ) -> Readout:
        full = self.peers.online_address(jid)
        ns = await self.peers.dialect(full, PREFERENCE, timeout)
        request = sensordata.ReadoutRequest(
            id=next(self._ids),
            categories=categories_of(categories) or Category.ALL,
            fields=_names(fields),
            from_time=_aware(start),
            to_time=_aware(end),
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
                await asyncio.wait_for(asyncio.shield(collector.done), timeout)
            except TimeoutError:
                raise TimedOut(f"{full} started the readout but did not finish it within {timeout:g} s.") from None
        finally:
            self._readouts.pop(key, None)
        return Readout(full.split("/")[0], collector.fields, collector.errors, ns)

    def _first_answer(self, answer: ET.Element | None, collector: _Collector) -> None:
        """The iq result: all the data, or word that it follows in messages."""
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
            stream = self._streams.get((sender.bare, parsed.id))
            if stream is not None:
                stream.push(parsed.fields)
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
        self, jid: str, fields, categories, min_interval, max_interval, change, buffer: int, timeout: float
    ) -> Stream:
        full = self.peers.online_address(jid)
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
            namespace=ns,
        )
        bare = full.split("/")[0]
        stream = Stream(
            bare,
            subscription.id,
            buffer=buffer,
            unsubscribe=lambda: network.submit(self._unsubscribe(full, subscription.id, ns)),
        )
        self._streams[(bare, subscription.id)] = stream
        try:
            await self.peers.request(full, "set", events.build_subscribe(subscription, ns=ns), timeout)
        except BaseException:
            self._streams.pop((bare, subscription.id), None)
            raise
        stream.observe(lambda batch, s=stream: s.ended and self._streams.pop((bare, s.id), None))
        return stream

    async def _unsubscribe(self, full: str, subscription_id: str, ns: str) -> None:
        self._streams.pop((full.split("/")[0], subscription_id), None)
        if self.client.online:
            try:
                await self.peers.request(full, "set", events.build_unsubscribe(subscription_id, ns=ns))
            except Exception:
                pass  # the thing may be gone already; the stream ends anyway

    def _thing_left(self, presence: Presence) -> None:
        bare = presence["from"].bare
        for (thing, _), stream in list(self._streams.items()):
            if thing == bare:
                stream.end(f"{bare} went offline")

    def _end_all(self, reason: str) -> None:
        for stream in list(self._streams.values()):
            stream.end(reason)
        self._streams.clear()


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
