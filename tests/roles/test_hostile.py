"""What one peer can cost a thing: hostile requests against a real thing on the lab server.

Each hostile request is answered at once with the error its case calls for, nothing it asked for is
kept, a well-behaved friend subscribed to the same thing keeps receiving values meanwhile, and the
thing logs no error. The limits are the named constants of ``xiotlab.roles.subscriptions`` and
``xiotlab.runtime.serving``; the protocol layer's own (ids, counts) are tested in ``tests/protocol``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import xml.etree.ElementTree as ET

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import StanzaError
from xiotlab.protocol import elements, events
from xiotlab.protocol.namespaces import CONTROL, LEGACY_SENSOR_DATA, SENSOR_DATA
from xiotlab.protocol.values import Duration
from xiotlab.roles import subscriptions
from xiotlab.runtime import network, serving

from ..waiting import eventually

EVENTS = events.NAMESPACES[0]
ANSWERED_WITHIN = 5  # seconds: a bound on waiting, so that a regression fails instead of hanging
DEEP = 600  # levels: what once went unanswered (RecursionError copying the request to answer it)


class Watched:
    """A thing reporting a value every few milliseconds, a good friend subscribed to it, a hostile one."""

    def __init__(self, thing: Thing, good: Owner, hostile: Owner) -> None:
        self.thing, self.good, self.hostile = thing, good, hostile
        self.stream = good.subscribe(thing.jid, "level")
        self._stop = threading.Event()
        self._reporter = threading.Thread(target=self._report, daemon=True)
        self._reporter.start()

    def _report(self) -> None:
        i = 0
        while not self._stop.wait(0.01):
            i += 1
            self.thing.report(level=float(i))

    def ask(self, xml: str, kind: str = "set"):
        """The hostile friend's raw request; the answer's payload, or the StanzaError it got."""
        return self.hostile.send_iq(self.thing.full_jid, xml, kind, timeout=ANSWERED_WITHIN)

    def refused(self, xml: str, kind: str = "set") -> StanzaError:
        with pytest.raises(StanzaError) as refusal:
            self.ask(xml, kind)
        return refusal.value

    def still_served(self) -> bool:
        """Whether the good friend's values keep arriving, on its old subscription and on a new one, and reads work.

        The new one comes after whatever the hostile friend left: once, one bad subscription broke
        every report for the subscriptions after it.
        """
        seen = self.stream.count
        fresh = self.good.subscribe(self.thing.jid, "level")
        try:
            return eventually(lambda: self.stream.count > seen and fresh.count > 0) and bool(
                self.good.read(self.thing.jid, "level")
            )
        finally:
            fresh.close()

    def stop(self) -> None:
        self._stop.set()
        self._reporter.join()


@pytest.fixture
def watched(lab, online, name, caplog):
    caplog.set_level(logging.ERROR)  # the thing shares this process: its error records land here
    thing = Thing(name("meter"), policy="accept", lab=lab, timeout=5)
    thing.sensor("level", type=float)
    thing.sensor("other", type=float)(lambda: 1.0)
    online(thing)
    good, hostile = online(Owner, name("good")), online(Owner, name("hostile"))
    good.befriend(thing.jid)
    hostile.befriend(thing.jid)
    situation = Watched(thing, good, hostile)
    yield situation
    situation.stop()
    errors = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.split(".")[0] in ("xiotlab", "asyncio")
    ]
    assert errors == [], [r.getMessage() for r in errors]
    assert thing.online


def subscribe(id_: str = "s", attributes: str = "", fields: int = 0) -> str:
    body = "".join(f"<f n='f{i}'/>" for i in range(fields))
    return f"<subscribe xmlns='{EVENTS}' id='{id_}' {attributes}>{body}</subscribe>"


def own_subscriptions(watched: Watched) -> int:
    """How many subscriptions the thing keeps for the hostile friend (the good one holds one)."""
    return len(watched.thing._sensing.subscriptions) - 1


# --- intervals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        "minInt='P1Y'",  # once: an exception at every report, which starved every other subscriber
        "maxInt='P1Y'",  # once: internal-server-error, and the subscription kept anyway
        "minInt='P2D'",
        "minInt='-PT1S'",
        "maxInt='PT0.001S'",
        "maxInt='PT0S'",
        "maxInt='P999999999D'",
        "maxInt='P1M'",
        "minInt='PT2M' maxInt='PT1M'",
    ],
)
def test_intervals_out_of_range_are_not_acceptable(watched, attributes):
    refusal = watched.refused(subscribe(attributes=attributes))
    assert refusal.condition == "not-acceptable" and refusal.kind == "modify"
    assert own_subscriptions(watched) == 0
    assert watched.still_served()


def test_intervals_at_the_limits_are_accepted(watched):
    watched.ask(subscribe("a", "minInt='P1D' maxInt='P1D'"))
    watched.ask(subscribe("b", "minInt='PT0S' maxInt='PT1S'"))
    assert own_subscriptions(watched) == 2
    assert watched.still_served()


def test_a_refused_renewal_keeps_the_subscription_it_would_have_replaced(watched):
    watched.ask(subscribe("kept", "maxInt='PT1M'"))
    assert watched.refused(subscribe("kept", "maxInt='P1Y'")).condition == "not-acceptable"
    assert own_subscriptions(watched) == 1
    watched.ask(f"<unsubscribe xmlns='{EVENTS}' id='kept'/>")
    assert own_subscriptions(watched) == 0


# --- what one friend may hold -------------------------------------------------------------


def test_subscriptions_per_friend_are_limited_and_others_still_subscribe(watched):
    limit = subscriptions.MAX_SUBSCRIPTIONS_PER_FRIEND
    for i in range(limit):
        watched.ask(subscribe(f"s{i}"))
    watched.ask(subscribe("s0"))  # renewing one takes no more room
    refusal = watched.refused(subscribe("one-too-many"))
    assert refusal.condition == "resource-constraint" and refusal.kind == "wait"
    assert own_subscriptions(watched) == limit
    other = watched.good.subscribe(watched.thing.jid, "other")  # another friend is not affected
    assert watched.still_served()
    watched.ask(f"<unsubscribe xmlns='{EVENTS}' id='s1'/>")
    watched.ask(subscribe("one-too-many"))  # room again after an unsubscribe
    other.close()


def test_fields_named_per_friend_are_limited(watched):
    per_subscription = events.MAX_FIELD_TRIGGERS
    count = subscriptions.MAX_TRIGGERS_PER_FRIEND // per_subscription
    for i in range(count):
        watched.ask(subscribe(f"wide{i}", fields=per_subscription))
    refusal = watched.refused(subscribe("wider", fields=1))
    assert refusal.condition == "resource-constraint"
    assert own_subscriptions(watched) == count
    assert watched.still_served()


# --- sizes and shapes -------------------------------------------------------------------------

LONG = "x" * 200_000


@pytest.mark.parametrize(
    ("xml", "kind"),
    [
        (f"<req xmlns='{SENSOR_DATA}' id='{LONG}'/>", "get"),  # once: an answer over the server's limit
        (subscribe(LONG), "set"),
        (f"<subscribe xmlns='{EVENTS}' id='s'><f n='{LONG}'/></subscribe>", "set"),
        (f"<subscribe xmlns='{EVENTS}' id='s'><f n='level' by='{LONG}'/></subscribe>", "set"),
        (f"<unsubscribe xmlns='{EVENTS}' id='{LONG}'/>", "set"),
        (f"<req xmlns='{LEGACY_SENSOR_DATA}' seqnr='{LONG}' momentary='true'/>", "get"),
        (f"<req xmlns='{SENSOR_DATA}' id='1' st='{LONG}'/>", "get"),
        (f"<getForm xmlns='{CONTROL}' st='{LONG}'/>", "get"),
    ],
    ids=["readout-id", "subscription-id", "field-name", "threshold", "unsubscribe-id", "legacy-seqnr", "token", "form"],
)
def test_huge_attributes_are_refused_with_a_short_answer(watched, xml, kind):
    assert len(xml) > elements.MAX_NAME_LENGTH * 100
    refusal = watched.refused(xml, kind)
    assert refusal.condition == "bad-request"
    assert len(refusal.text) <= serving.MAX_ERROR_TEXT
    assert own_subscriptions(watched) == 0
    assert watched.still_served()


def nested(levels: int, ns: str = SENSOR_DATA, top: str = "req") -> str:
    return f"<{top} xmlns='{ns}' id='1'>" + "<nd id='a'>" * levels + "</nd>" * levels + f"</{top}>"


@pytest.mark.parametrize(
    ("xml", "kind"),
    [
        (nested(DEEP), "get"),
        (nested(DEEP, EVENTS, "subscribe"), "set"),
        (nested(DEEP, "urn:example:nobody-serves-this", "query"), "get"),  # once: the thing's stream closed
        (nested(DEEP, CONTROL, "set"), "set"),
        (nested(DEEP, LEGACY_SENSOR_DATA), "get"),
    ],
    ids=["readout", "subscribe", "unknown", "control", "legacy"],
)
def test_deep_nesting_is_refused_unread(watched, xml, kind):
    refusal = watched.refused(xml, kind)
    assert refusal.condition == "bad-request" and "levels" in refusal.text
    assert own_subscriptions(watched) == 0
    assert watched.still_served()


def test_nesting_within_the_limit_is_read_as_deep_as_the_protocol_goes(watched):
    answer = watched.ask(nested(serving.MAX_STANZA_DEPTH - 2), "get")
    assert answer is not None and answer.tag == f"{{{SENSOR_DATA}}}resp"


def test_deep_messages_and_presences_leave_the_thing_up(watched):
    stream = watched.hostile._client.stream
    deep = ET.fromstring("<x xmlns='urn:example:x'>" + "<a>" * DEEP + "</a>" * DEEP + "</x>")

    def send() -> None:
        message = stream.make_message(mto=watched.thing.full_jid, mbody="hi")
        message.xml.append(deep)
        message.send()
        presence = stream.make_presence(pto=watched.thing.full_jid)
        presence.xml.append(deep)
        presence.send()

    network.do(send)
    assert watched.ask(f"<req xmlns='{SENSOR_DATA}' id='after'/>", "get") is not None  # answered: still up
    assert watched.still_served()


def test_an_iq_with_two_payloads_gets_one_answer(watched):
    stream = watched.hostile._client.stream
    answers = []

    async def ask() -> None:
        iq = stream.make_iq_get(ito=watched.thing.full_jid)
        iq.xml.append(ET.fromstring(f"<req xmlns='{SENSOR_DATA}' id='1'/>"))
        iq.xml.append(ET.fromstring(subscribe("two")))
        try:
            await iq.send(timeout=ANSWERED_WITHIN)
        except Exception as answer:  # slixmpp's IqError
            answers.append(answer.iq["error"]["condition"])

    network.run(ask())
    assert answers == ["bad-request"]
    assert own_subscriptions(watched) == 0
    assert watched.still_served()


# --- handlers that never finish -------------------------------------------------------------


def test_a_readout_that_never_finishes_is_answered_at_the_deadline(watched, monkeypatch):
    monkeypatch.setattr(serving, "ANSWER_DEADLINE", 0.5)  # the real one is 8 s; the behaviour is the same
    caught = []

    @watched.thing.sensor("stuck")
    async def stuck() -> float:
        try:
            await asyncio.Event().wait()  # a device's own code that never returns
        except asyncio.CancelledError:
            caught.append("cancelled")
            raise
        return 0.0

    refusal = watched.refused(f"<req xmlns='{SENSOR_DATA}' id='1'><f n='stuck'/></req>", "get")
    assert refusal.condition == "resource-constraint" and refusal.kind == "wait"
    assert caught == ["cancelled"]  # the handler is not left running
    assert watched.still_served()


# --- the interval rules, without a network --------------------------------------------------------


@pytest.mark.parametrize(
    ("min_interval", "max_interval", "expected"),
    [
        (None, None, (0.0, None)),
        ("PT0S", "PT1S", (0.0, 1.0)),
        ("P1D", "P1D", (86_400.0, 86_400.0)),
        ("PT0.5S", None, (0.5, None)),
    ],
)
def test_intervals_within_the_limits_are_read_in_seconds(min_interval, max_interval, expected):
    spec = events.Subscription("s", min_interval=_duration(min_interval), max_interval=_duration(max_interval))
    assert subscriptions.intervals(spec) == expected


@pytest.mark.parametrize(
    ("min_interval", "max_interval"),
    [("P1Y", None), ("PT86400.001S", None), ("-PT1S", None), (None, "PT0.999S"), (None, "P1DT1S"), ("PT2S", "PT1S")],
)
def test_intervals_beyond_the_limits_are_not_acceptable(min_interval, max_interval):
    spec = events.Subscription("s", min_interval=_duration(min_interval), max_interval=_duration(max_interval))
    with pytest.raises(StanzaError) as refusal:
        subscriptions.intervals(spec)
    assert refusal.value.condition == "not-acceptable"


def _duration(text: str | None) -> Duration | None:
    return None if text is None else Duration.parse(text)
