"""The thing's side of event subscriptions: when to send which values to whom.

A subscription watches fields with change triggers (``by``/``up``/``dn``;
without thresholds, any change fires). Reported values that fire are
gathered and sent together, so a thing reporting thousands of values a
second sends a few messages carrying many timestamps each, as the
specification allows. ``minInt`` holds events back (values gather
meanwhile), ``maxInt`` sends a fresh readout when nothing fired for that
long. A subscriber that goes offline loses its subscriptions.

Limits: what one friend may cost the thing is bounded, whatever it asks. A
friend (a subscriber's bare JID, all its resources together) holds at most
:data:`MAX_SUBSCRIPTIONS_PER_FRIEND` subscriptions naming at most
:data:`MAX_TRIGGERS_PER_FRIEND` fields in all, and at most
:data:`MAX_PENDING_PER_FRIEND` values wait for it; ``minInt`` may be at most
:data:`LONGEST_MIN_INTERVAL`, ``maxInt`` between :data:`SHORTEST_MAX_INTERVAL`
and :data:`LONGEST_MAX_INTERVAL` and not below ``minInt``. A subscription
over a count is refused ``resource-constraint`` (type wait: it may come back
after an unsubscribe); one with intervals out of range ``not-acceptable``
(type modify). A refused subscription is not kept, a subscription it would
have replaced stays, and no other subscriber notices anything. Ids, field
counts and attribute lengths are the protocol layer's limits
(:mod:`xiotlab.protocol.events`), refused ``bad-request`` before this module
sees the request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

from ..errors import StanzaError
from ..protocol import events, sensordata
from ..protocol.values import Duration, Field, NodeRef, ReadoutError, ValueType
from ..runtime import network

log = logging.getLogger("xiotlab")

MAX_SUBSCRIPTIONS_PER_FRIEND = 32
"""Most subscriptions one friend (bare JID) holds at once. Every reported value is matched against
every subscription, so each one costs the thing time at every report: a person watching a device
from a few notebooks needs a handful, and 10,137 of them once cost a thing all of its time."""

MAX_TRIGGERS_PER_FRIEND = 10_000
"""Most fields one friend's subscriptions name in all (a subscription naming none watches every
field and counts none). Each named field is a trigger kept in memory, a few hundred bytes: 1,000
subscriptions of 1,000 fields once took a thing from 93 to 399 MB; this keeps a friend under ~3 MB."""

MAX_PENDING_PER_FRIEND = 100_000
"""Most values waiting to be sent to one friend, all its subscriptions together (``minInt`` holds
values back); beyond, each subscription drops its oldest. About 1 MB of references at most."""

LONGEST_MIN_INTERVAL = 86_400.0
"""Longest ``minInt``, in seconds (a day). Values gather while an event is held back, so a longer
wait only drops more of them (:data:`MAX_PENDING_PER_FRIEND`); a subscriber wanting less than a
value a day reads the thing instead."""

SHORTEST_MAX_INTERVAL = 1.0
"""Shortest ``maxInt``, in seconds. Each time it passes the thing calls the subscription's sensor
functions and sends what they say: at most a readout a second per subscription keeps a friend's
heartbeats from keeping a device (whose sensor functions may be slow) busy."""

LONGEST_MAX_INTERVAL = 86_400.0
"""Longest ``maxInt``, in seconds (a day): a heartbeat rarer than that tells a subscriber nothing in time."""
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
class Share:
    """What one friend (bare JID) holds: subscriptions, the fields they name, values waiting."""

    subscriptions: int = 0
    triggers: int = 0
    pending: int = 0


@dataclasses.dataclass(eq=False)
class Active:
    """One subscription being served; ``min_seconds``/``max_seconds`` are its checked intervals."""

    subscriber: str
    spec: events.Subscription
    request: sensordata.ReadoutRequest
    share: Share
    min_seconds: float = 0.0
    max_seconds: float | None = None
    # The last value sent, by (node, field name): one subscription may watch a field of many nodes.
    reference: dict[tuple[NodeRef | None, str], object] = dataclasses.field(default_factory=dict)
    pending: list[Field] = dataclasses.field(default_factory=list)
    dropped: int = 0
    last_sent: float = 0.0
    series: bool = False  # the subscriber reads runs of values (protocol.series): send them so
    flush: asyncio.TimerHandle | asyncio.Handle | None = None
    poll: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        # What the subscriber says it has seen, for any node, until a node's own value is sent.
        self.seen = {t.name: t.current for t in self.spec.fields if t.current is not None}
        self.triggers = {t.name: t for t in self.spec.fields}

    def fires(self, field: Field) -> bool:
        """Whether ``field`` fires this subscription; remembers it as the new reference if so."""
        if not self.request.includes(field):
            return False
        key = (field.node, field.name)
        old = self.reference.get(key, self.seen.get(field.name))
        trigger = self.triggers.get(field.name)
        if old is None:
            fired = True
        elif field.type in _NUMERIC and trigger is not None and isinstance(old, (int, float)):
            assert isinstance(field.value, (int, float))  # a numeric field's value, for the type checker
            fired = trigger.triggered(float(old), float(field.value))
        else:
            fired = field.value != old
        if fired:
            self.reference[key] = field.value
        return fired


def chunked(fields: list[Field]) -> list[list[Field]]:
    """``fields`` in pieces small enough for one message each."""
    return [fields[i : i + FIELDS_PER_MESSAGE] for i in range(0, len(fields), FIELDS_PER_MESSAGE)]


def fragments(request_id: str, fields: list[Field], errors: list[ReadoutError], ns: str, series: bool = False) -> list:
    """``<resp>`` elements of at most one message's worth of fields each, in sensor data namespace ``ns``.

    All but the last say ``more``; the errors travel with the last. Readouts and events alike.
    ``series``: runs of values in xiotlab's extension, for a reader that announced it.
    """
    chunks = chunked(fields) or [[]]
    last = len(chunks) - 1
    return [
        sensordata.build_response(request_id, chunk, errors if i == last else (), more=i != last, ns=ns, series=series)
        for i, chunk in enumerate(chunks)
    ]


def intervals(spec: events.Subscription) -> tuple[float, float | None]:
    """``(minInt, maxInt)`` of ``spec`` in seconds (0 and None when absent), checked against the limits.

    Raises :class:`~xiotlab.errors.StanzaError` ``not-acceptable`` for a negative interval, one
    out of range (:data:`LONGEST_MIN_INTERVAL`, :data:`SHORTEST_MAX_INTERVAL`,
    :data:`LONGEST_MAX_INTERVAL`; years and months are always out of range), or ``maxInt``
    below ``minInt``.
    """
    least = _within(spec.min_interval, "minInt", 0.0, LONGEST_MIN_INTERVAL)
    most = _within(spec.max_interval, "maxInt", SHORTEST_MAX_INTERVAL, LONGEST_MAX_INTERVAL)
    if most is not None and least is not None and most < least:
        raise _not_acceptable(f"maxInt ({spec.max_interval}) is shorter than minInt ({spec.min_interval})")
    return least or 0.0, most


def _within(duration: Duration | None, name: str, shortest: float, longest: float) -> float | None:
    if duration is None:
        return None
    try:
        seconds = duration.to_timedelta().total_seconds()
    except (ValueError, OverflowError):  # years or months, or beyond any date: longer than a day anyway
        seconds = float("inf")
    if not shortest <= seconds <= longest:
        raise _not_acceptable(f"{name} is {duration}; this thing takes {shortest:g} to {longest:g} seconds")
    return seconds


def _not_acceptable(why: str) -> StanzaError:
    return StanzaError(f"Subscription refused: {why}.", condition="not-acceptable", kind="modify")


def _too_much(why: str) -> StanzaError:
    return StanzaError(
        f"Subscription refused: {why}. Unsubscribe from some first.", condition="resource-constraint", kind="wait"
    )


def _friend(subscriber: str) -> str:
    return subscriber.split("/", 1)[0]


class SubscriptionEngine:
    """Every subscription a thing serves, keyed by (subscriber full JID, subscription id)."""

    def __init__(self, send: Send, read: Read) -> None:
        self._send = send
        self._read = read
        self._active: dict[tuple[str, str], Active] = {}
        self._shares: dict[str, Share] = {}  # by friend (bare JID)

    def __len__(self) -> int:
        return len(self._active)

    def subscribers(self) -> set[str]:
        return {subscriber for subscriber, _ in self._active}

    def add(self, subscriber: str, spec: events.Subscription) -> Active:
        """Start serving ``spec`` (replacing a subscription with the same id from the same subscriber).

        Raises :class:`~xiotlab.errors.StanzaError` when ``spec`` is beyond the limits (see the
        module's docstring); then nothing changes, the subscription it would replace included.
        """
        least, most = intervals(spec)
        share = self._shares.get(_friend(subscriber)) or Share()
        self._check_share(share, self._active.get((subscriber, spec.id)), spec)
        self.remove(subscriber, spec.id)
        self._shares[_friend(subscriber)] = share
        active = Active(subscriber, spec, spec.readout_request(), share, least, most)
        self._active[(subscriber, spec.id)] = active
        share.subscriptions += 1
        share.triggers += len(spec.fields)
        self._schedule_poll(active)
        if spec.request:
            network.spawn(self._poll(active))
        return active

    @staticmethod
    def _check_share(share: Share, replaced: Active | None, spec: events.Subscription) -> None:
        """Refuse ``spec`` if, instead of ``replaced``, it would take its friend over a limit."""
        subscriptions = share.subscriptions + (0 if replaced else 1)
        if subscriptions > MAX_SUBSCRIPTIONS_PER_FRIEND:
            raise _too_much(f"a friend may hold at most {MAX_SUBSCRIPTIONS_PER_FRIEND} subscriptions at once")
        triggers = share.triggers - (len(replaced.spec.fields) if replaced else 0) + len(spec.fields)
        if triggers > MAX_TRIGGERS_PER_FRIEND:
            raise _too_much(
                f"a friend's subscriptions may name at most {MAX_TRIGGERS_PER_FRIEND} fields in all; "
                f"this one would make {triggers}"
            )

    def remove(self, subscriber: str, subscription_id: str) -> bool:
        active = self._active.pop((subscriber, subscription_id), None)
        if active is None:
            return False
        share = active.share
        share.subscriptions -= 1
        share.triggers -= len(active.spec.fields)
        share.pending -= len(active.pending)
        if share.subscriptions == 0:
            self._shares.pop(_friend(subscriber), None)
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
            share = active.share
            share.pending += len(fired)
            overflow = min(share.pending - MAX_PENDING_PER_FRIEND, len(active.pending))
            if overflow > 0:
                del active.pending[:overflow]
                active.dropped += overflow
                share.pending -= overflow
            self._schedule_flush(active)

    def _schedule_flush(self, active: Active) -> None:
        if active.flush is not None:
            return  # one is due already; the new values go with it
        loop = asyncio.get_running_loop()
        spacing = max(active.min_seconds, BATCH_WINDOW)
        wait = spacing - (time.monotonic() - active.last_sent)
        if wait > 0:
            active.flush = loop.call_later(wait, self._flush, active)
        else:
            # Next loop turn: every value reported meanwhile travels in the same message.
            active.flush = loop.call_soon(self._flush, active)

    def _flush(self, active: Active) -> None:
        active.flush = None
        fields, active.pending = active.pending, []
        active.share.pending -= len(fields)
        if fields:
            self._emit(active, fields, [])

    # --- values out -------------------------------------------------------

    def _emit(self, active: Active, fields: list[Field], errors: list[ReadoutError]) -> None:
        if (active.subscriber, active.spec.id) not in self._active:
            return
        ns = events.sensor_data_namespace(active.spec.namespace)  # events travel as sensor data
        active.last_sent = time.monotonic()
        self._send(active.subscriber, fragments(active.spec.id, fields, errors, ns, active.series))
        self._schedule_poll(active)

    def _schedule_poll(self, active: Active) -> None:
        interval = active.max_seconds
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
            active.reference[(field.node, field.name)] = field.value
        self._emit(active, fields, errors)
