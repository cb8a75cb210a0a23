"""Reading sensors and watching them live, between a real thing and owner on the lab server."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import threading
import time

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import Offline
from xiotlab.protocol.values import Category, Duration, QoS, ValueType

from ..waiting import eventually


class Mode(enum.Enum):
    ECO = 1
    BOOST = 2


WHEN = dt.datetime(2026, 11, 24, 12, 30, 15, tzinfo=dt.UTC)

EVERY_TYPE = {
    "temperature": (21.46, ValueType.QUANTITY),
    "on": (True, ValueType.BOOLEAN),
    "count": (7, ValueType.INTEGER),
    "energy": (2**40, ValueType.LONG),
    "label": ("kitchen <north> & co", ValueType.STRING),
    "mode": (Mode.BOOST, ValueType.ENUM),
    "installed": (dt.date(2024, 2, 29), ValueType.DATE),
    "alarm": (dt.time(6, 45, 0), ValueType.TIME),
    "serviced": (WHEN, ValueType.DATETIME),
    "uptime": (dt.timedelta(hours=5, minutes=3), ValueType.DURATION),
}


@pytest.fixture
def pair(lab, online, name):
    """An owner and her thing, friends, with a thermometer sensor declared."""
    alice = online(Owner, name("alice"))
    thing = Thing(name("thermo"), owner=alice.jid, lab=lab, timeout=5)

    @thing.sensor("temperature", unit="°C", decimals=1)
    def temperature():
        return 21.46

    thing.sensor("humidity", unit="%", category="momentary")
    thing.sensor("serial", type=str, category=["identity", "status"])
    online(thing)
    alice.befriend(thing.jid)
    return alice, thing


def test_every_value_type_arrives_typed(lab, online, name):
    alice = online(Owner, name("alice"))
    thing = Thing(name("device"), owner=alice.jid, lab=lab, timeout=5)
    for field, (value, _) in EVERY_TYPE.items():
        thing.sensor(field)(lambda value=value: value)
    online(thing)
    alice.befriend(thing.jid)
    readout = alice.read(thing.jid)
    for field, (value, vtype) in EVERY_TYPE.items():
        got = readout[field]
        assert got.type is vtype, field
        expected = {
            ValueType.ENUM: "BOOST",
            ValueType.DURATION: Duration.from_timedelta(value) if isinstance(value, dt.timedelta) else value,
        }.get(vtype, value)
        assert got.value == expected, field
    assert readout["temperature"].unit is None and readout["energy"].value == 2**40


def test_a_number_with_a_unit_is_a_quantity(pair):
    alice, thing = pair
    thing.report(humidity=40)
    humidity = alice.read(thing.jid)["humidity"]
    assert (humidity.type, humidity.value, humidity.unit) == (ValueType.QUANTITY, 40.0, "%")


def test_readout_values_units_and_timestamps(pair):
    alice, thing = pair
    before = dt.datetime.now(dt.UTC)
    thing.report(humidity=40.0)
    readout = alice.read(thing.jid)
    temperature = readout["temperature"]
    assert (temperature.value, temperature.unit, temperature.decimals) == (21.5, "°C", 1)
    assert before - dt.timedelta(seconds=1) <= temperature.timestamp <= dt.datetime.now(dt.UTC)
    assert readout["humidity"].value == 40.0 and readout["humidity"].unit == "%"
    assert "temperature = 21.5 °C" in repr(readout)
    assert "<table>" in readout._repr_html_()


def test_readout_to_dataframe_is_long_form(pair):
    alice, thing = pair
    thing.report(humidity=41.0)
    frame = alice.read(thing.jid).to_dataframe()
    assert list(frame.columns) == ["thing", "name", "value", "unit", "timestamp", "type", "categories", "qos"]
    assert set(frame["name"]) == {"temperature", "humidity"}
    assert frame.loc[frame["name"] == "humidity", "value"].item() == 41.0
    assert str(frame["timestamp"].dtype).startswith("datetime64") and frame["timestamp"].dt.tz is not None


def test_field_and_category_filters(pair):
    alice, thing = pair
    thing.report(humidity=40.0, serial="SN-1")
    assert alice.read(thing.jid, fields="humidity").names == ["humidity"]
    assert alice.read(thing.jid, categories="identity").names == ["serial"]
    assert set(alice.read(thing.jid, categories=["momentary"]).names) == {"temperature", "humidity"}


def test_history_serves_time_ranges_and_is_bounded(online, name):
    alice = online(Owner, name("alice"))
    thing = online(Thing, name("meter"), owner=alice.jid, history_size=3)
    alice.befriend(thing.jid)
    start = dt.datetime.now(dt.UTC)
    for i in range(5):
        thing.report(power=float(i), timestamp=start + dt.timedelta(seconds=i))
    assert eventually(lambda: len(thing.history("power")) == 3)
    readout = alice.read(thing.jid, start=start, end=start + dt.timedelta(seconds=3))
    assert [f.value for f in readout] == [2.0, 3.0]
    assert all(Category.HISTORICAL in f.categories for f in readout)


def test_async_and_failing_sensors(lab, online, name):
    alice = online(Owner, name("alice"))
    thing = Thing(name("flaky"), owner=alice.jid, lab=lab, timeout=5)

    @thing.sensor("slow")
    async def slow():
        await asyncio.sleep(0.05)
        return 1.5

    @thing.sensor("broken")
    def broken():
        raise OSError("sensor unplugged")

    online(thing)
    alice.befriend(thing.jid)
    readout = alice.read(thing.jid)
    assert readout["slow"].value == 1.5
    assert "broken" not in readout
    assert any("sensor unplugged" in e.message and "broken" in e.message for e in readout.errors)


def test_reading_needs_friendship_and_presence(pair, online, name):
    alice, thing = pair
    with pytest.raises(Offline, match="not your friend"):
        online(Owner, name("bob")).read(thing.jid)
    thing.stop()
    assert eventually(lambda: not alice.roster[thing.jid].online)
    with pytest.raises(Offline, match="offline"):
        alice.read(thing.jid)


def test_subscription_delivers_reports_in_order(pair):
    alice, thing = pair
    stream = alice.subscribe(thing.jid, "humidity")
    for i in range(200):
        thing.report(humidity=float(i))
    assert eventually(lambda: stream.count == 200)
    assert [f.value for f in stream.drain()] == [float(i) for i in range(200)]
    assert stream.dropped == 0


def test_change_threshold_filters_small_moves(pair):
    alice, thing = pair
    stream = alice.subscribe(thing.jid, "humidity", change=1.0)
    for value in (40.0, 40.5, 40.9, 41.5, 41.0, 39.0):
        thing.report(humidity=value)
    assert eventually(lambda: stream.count >= 3)
    time.sleep(0.2)
    assert [f.value for f in stream.drain()] == [40.0, 41.5, 39.0]


def test_min_interval_gathers_values_into_fewer_events(pair):
    alice, thing = pair
    stream = alice.subscribe(thing.jid, "humidity", min_interval=0.3)
    batches = []
    stream.on_data(lambda batch: batch and batches.append(len(batch)))
    for i in range(10):
        thing.report(humidity=float(i))
        time.sleep(0.03)
    assert eventually(lambda: stream.count == 10)
    assert len(batches) <= 3 and sum(batches) == 10


def test_max_interval_polls_the_sensor_function(pair):
    alice, thing = pair
    stream = alice.subscribe(thing.jid, "temperature", max_interval=1)  # the shortest a thing takes
    assert eventually(lambda: stream.count >= 2, seconds=10)
    assert all(f.name == "temperature" and f.value == 21.5 for f in stream.drain())


def test_async_iteration_from_another_loop(pair):
    alice, thing = pair

    async def collect():
        stream = await alice.asubscribe(thing.jid, "humidity")
        for i in range(5):
            thing.report(humidity=float(i))
        values = []
        async for field in stream:
            values.append(field.value)
            if len(values) == 5:
                stream.close()
        return values, stream

    values, stream = asyncio.run(asyncio.wait_for(collect(), 10))
    assert values == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert stream.ended and stream.end_reason == "closed"


def test_stream_ends_when_the_thing_leaves_and_the_thing_forgets_the_subscriber(pair):
    alice, thing = pair
    stream = alice.subscribe(thing.jid, "humidity")
    assert eventually(lambda: len(thing._sensing.subscriptions) == 1)
    threading.Timer(0.3, thing.stop).start()
    assert list(stream) == []  # iteration blocks until the stream ends
    assert stream.ended and "went offline" in stream.end_reason


def test_closing_unsubscribes_at_the_thing(pair):
    alice, thing = pair
    stream = alice.subscribe(thing.jid, "humidity")
    assert eventually(lambda: len(thing._sensing.subscriptions) == 1)
    stream.close()
    assert eventually(lambda: len(thing._sensing.subscriptions) == 0)
    assert "closed" in repr(stream)


def test_a_full_buffer_drops_the_oldest_and_counts_them(pair):
    alice, thing = pair
    stream = alice.subscribe(thing.jid, "humidity", buffer=10)
    for i in range(50):
        thing.report(humidity=float(i))
    assert eventually(lambda: stream.count == 50)
    assert stream.dropped == 40
    assert [f.value for f in stream.drain()] == [float(i) for i in range(40, 50)]
    assert len(stream.to_dataframe()) == 10


def test_events_do_not_wait_in_offline_storage(lab, online, name):
    alice_name = name("alice")
    alice = online(Owner, alice_name)
    thing = online(Thing, name("chatty"), owner=alice.jid)
    alice.befriend(thing.jid)
    stream = alice.subscribe(thing.jid, "level")
    thing.report(level=1.0)
    assert eventually(lambda: stream.count == 1)
    alice.stop()
    assert eventually(lambda: len(thing._sensing.subscriptions) == 0), "subscriber gone: subscription dropped"
    for i in range(5):
        thing.report(level=float(i + 2))
    again = online(Owner, alice_name)
    time.sleep(0.5)  # offline messages, had there been any, arrive right after login
    assert not [e for e in again.trace if e.direction == "in" and e.tag == "message" and "urn:nfi:iot:sd" in e.xml]


def test_report_checks_values_in_the_callers_thread(pair):
    _, thing = pair
    with pytest.raises(TypeError, match="humidity"):
        thing.report(humidity=object())
    with pytest.raises(ValueError, match="field type"):
        thing.sensor("bad", type="complex")


def test_qos_and_categories_travel(lab, online, name):
    alice = online(Owner, name("alice"))
    thing = Thing(name("est"), owner=alice.jid, lab=lab, timeout=5)
    thing.sensor("guess", category="computed", qos=QoS.AUTOMATIC_ESTIMATE | QoS.WARNING)(lambda: 3.0)
    online(thing)
    alice.befriend(thing.jid)
    field = alice.read(thing.jid)["guess"]
    assert field.categories == Category.COMPUTED and field.qos == QoS.AUTOMATIC_ESTIMATE | QoS.WARNING


def test_a_readout_too_large_for_one_message_arrives_in_fragments(online, name):
    alice = online(Owner, name("alice"))
    thing = online(Thing, name("logger"), owner=alice.jid, history_size=2500)
    alice.befriend(thing.jid)
    start = dt.datetime.now(dt.UTC)
    for i in range(2500):
        thing.report(power=float(i), timestamp=start + dt.timedelta(milliseconds=i))
    assert eventually(lambda: len(thing.history("power")) == 2500)
    readout = alice.read(thing.jid, start=start)
    assert [f.value for f in readout] == [float(i) for i in range(2500)]
    fragments = [e for e in alice.trace if e.direction == "in" and e.tag == "message" and "resp" in e.xml]
    assert len(fragments) == 3  # 1000 + 1000 + 500 fields, after a <started> in the iq result


def test_a_coroutine_callback_may_await_network_calls(online, name):
    owner = online(Owner, name("owner"))
    door = online(Thing, name("door"), owner=owner.jid)
    lamp = online(Thing, name("lamp"), owner=owner.jid)
    door.sensor("open")
    lamp.control("on", type=bool, value=False)(lambda on: None)
    owner.befriend(door.jid)
    owner.befriend(lamp.jid)
    with owner.subscribe(door.jid, "open") as stream:

        @stream.on_data
        async def follow(batch):
            for field in batch:
                await owner.aset(lamp.jid, on=field.value)

        door.report(open=True)
        assert eventually(lambda: lamp.controls["on"] is True)


def test_values_reported_or_read_together_share_one_timestamp(online, name):
    owner = online(Owner, name("owner"))
    thing = Thing(name("box"), owner=owner.jid, lab=owner._lab, timeout=5)
    thing.sensor("a")(lambda: 1)
    thing.sensor("b")(lambda: 2)
    online(thing)
    owner.befriend(thing.jid)
    assert len({f.timestamp for f in owner.read(thing.jid)}) == 1
    assert len({f.timestamp for f in thing.report(a=3, b=4)}) == 1
