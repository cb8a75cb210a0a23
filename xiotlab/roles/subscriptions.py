"""The thing's side of event subscriptions: when to send which values to whom.

A subscription watches fields with change triggers (``by``/``up``/``dn``;
without thresholds, any change fires). Reported values that fire are
gathered and sent together, so a thing reporting thousands of values a
second sends a few messages carrying many timestamps each, as the
specification allows. ``minInt`` holds events back (values gather
meanwhile), ``maxInt`` sends a fresh readout when nothing fired for that
long. A subscriber that goes offline loses its subscriptions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

from ..protocol import events, sensordata
from ..protocol.values import Field, ReadoutError, ValueType
from ..runtime import network

log = logging.getLogger("xiotlab")

MAX_PENDING = 100_000  # values waiting for one subscriber; beyond, the oldest are dropped
# Least time between two events of one subscription: values reported meanwhile share a message.
# A few milliseconds keep latency low and turn thousands of reports a second into ~200 messages.
BATCH_WINDOW = 0.005
# Values per message. Servers cap stanza size (Prosody: 256 kB, and it closes the stream of
# whoever sends more); a thousand fields stay well under it, at about 80 kB.
FIELDS_PER_MESSAGE = 1000

Send = Callable[[str, list], None]  # (subscriber full JID, payload elements)
Read = Callable[[sensordata.ReadoutRequest], Awaitable[tuple[list[Field], list[ReadoutError]]]]

_NUMERIC = (ValueType.QUANTITY, ValueType.INTEGER, ValueType.LONG)


@dataclasses.dataclass(eq=False)
class Active:
    """One subscription being served."""

    subscriber: str
    spec: events.Subscription
    request: sensordata.ReadoutRequest
    reference: dict[str, object] = dataclasses.field(default_factory=dict)
    pending: list[Field] = dataclasses.field(default_factory=list)
    dropped: int = 0
    last_sent: float = 0.0
    flush: asyncio.TimerHandle | asyncio.Handle | None = None
    poll: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        for trigger in self.spec.fields:
            if trigger.current is not None:
                self.reference[trigger.name] = trigger.current
        self.triggers = {t.name: t for t in self.spec.fields}

    def fires(self, field: Field) -> bool:
        """Whether ``field`` fires this subscription; remembers it as the new reference if so."""
        if not self.request.includes(field):
            return False
        old = self.reference.get(field.name)
        trigger = self.triggers.get(field.name)
        if old is None:
            fired = True
        elif field.type in _NUMERIC and trigger is not None and isinstance(old, (int, float)):
            assert isinstance(field.value, (int, float))  # a numeric field's value, for the type checker
            fired = trigger.triggered(float(old), float(field.value))
        else:
            fired = field.value != old
        if fired:
            self.reference[field.name] = field.value
        return fired


def chunked(fields: list[Field]) -> list[list[Field]]:
    """``fields`` in pieces small enough for one message each."""
    return [fields[i : i + FIELDS_PER_MESSAGE] for i in range(0, len(fields), FIELDS_PER_MESSAGE)]


def fragments(request_id: str, fields: list[Field], errors: list[ReadoutError], ns: str) -> list:
    """``<resp>`` elements of at most one message's worth of fields each, in sensor data namespace ``ns``.

    All but the last say ``more``; the errors travel with the last. Readouts and events alike.
    """
    chunks = chunked(fields) or [[]]
    last = len(chunks) - 1
    return [
        sensordata.build_response(request_id, chunk, errors if i == last else (), more=i != last, ns=ns)
        for i, chunk in enumerate(chunks)
    ]


def _seconds(duration) -> float | None:
    return None if duration is None else max(0.0, duration.to_timedelta().total_seconds())


class SubscriptionEngine:
    """Every subscription a thing serves, keyed by (subscriber full JID, subscription id)."""

    def __init__(self, send: Send, read: Read) -> None:
        self._send = send
        self._read = read
        self._active: dict[tuple[str, str], Active] = {}

    def __len__(self) -> int:
        return len(self._active)

    def subscribers(self) -> set[str]:
        return {subscriber for subscriber, _ in self._active}

    def add(self, subscriber: str, spec: events.Subscription) -> Active:
        """Start serving ``spec`` (replacing a subscription with the same id from the same subscriber)."""
        self.remove(subscriber, spec.id)
        active = Active(subscriber, spec, spec.readout_request())
        self._active[(subscriber, spec.id)] = active
        self._schedule_poll(active)
        if spec.request:
            network.spawn(self._poll(active))
        return active

    def remove(self, subscriber: str, subscription_id: str) -> bool:
        active = self._active.pop((subscriber, subscription_id), None)
        if active is None:
            return False
        for handle in (active.flush, active.poll):
            if handle is not None:
                handle.cancel()
        return True

    def drop_subscriber(self, jid: str) -> int:
        """Forget every subscription of ``jid`` (a full JID, or a bare one for all its resources)."""
        gone = [key for key in self._active if key[0] == jid or key[0].split("/")[0] == jid]
        for subscriber, subscription_id in gone:
            self.remove(subscriber, subscription_id)
        return len(gone)

    def clear(self) -> None:
        for subscriber, subscription_id in list(self._active):
            self.remove(subscriber, subscription_id)

    # --- values in --------------------------------------------------------

    def report(self, fields: list[Field]) -> None:
        """New values were reported: queue those that fire, and schedule the events."""
        for active in list(self._active.values()):
            fired = [f for f in fields if active.fires(f)]
            if not fired:
                continue
            active.pending.extend(fired)
            overflow = len(active.pending) - MAX_PENDING
            if overflow > 0:
                del active.pending[:overflow]
                active.dropped += overflow
            self._schedule_flush(active)

    def _schedule_flush(self, active: Active) -> None:
        if active.flush is not None:
            return  # one is due already; the new values go with it
        loop = asyncio.get_running_loop()
        spacing = max(_seconds(active.spec.min_interval) or 0.0, BATCH_WINDOW)
        wait = spacing - (time.monotonic() - active.last_sent)
        if wait > 0:
            active.flush = loop.call_later(wait, self._flush, active)
        else:
            # Next loop turn: every value reported meanwhile travels in the same message.
            active.flush = loop.call_soon(self._flush, active)

    def _flush(self, active: Active) -> None:
        active.flush = None
        fields, active.pending = active.pending, []
        if fields:
            self._emit(active, fields, [])

    # --- values out -------------------------------------------------------

    def _emit(self, active: Active, fields: list[Field], errors: list[ReadoutError]) -> None:
        if (active.subscriber, active.spec.id) not in self._active:
            return
        ns = events.sensor_data_namespace(active.spec.namespace)  # events travel as sensor data
        active.last_sent = time.monotonic()
        self._send(active.subscriber, fragments(active.spec.id, fields, errors, ns))
        self._schedule_poll(active)

    def _schedule_poll(self, active: Active) -> None:
        interval = _seconds(active.spec.max_interval)
        if active.poll is not None:
            active.poll.cancel()
        if interval:
            loop = asyncio.get_running_loop()
            active.poll = loop.call_later(interval, lambda: network.spawn(self._poll(active)))

    async def _poll(self, active: Active) -> None:
        """Read the subscription's fields now and send them (maxInt passed, or ``req`` asked for it)."""
        try:
            fields, errors = await self._read(active.spec.readout_request())
        except Exception:
            log.exception("polling for subscription %s failed", active.spec.id)
            return
        for field in fields:
            active.reference[field.name] = field.value
        self._emit(active, fields, errors)
