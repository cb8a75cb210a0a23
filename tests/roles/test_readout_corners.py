"""Corners of sensor data readout peers found: categories combined, readouts scheduled for later, units.

Between a real thing and owner on the lab server; scheduled readouts are asked
with raw iqs (the owner's ``read`` asks for now), their data read from the
owner's trace. Pure checks of what a sensor makes of a value are unit tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import xml.etree.ElementTree as ET

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import StanzaError
from xiotlab.protocol import sensordata
from xiotlab.protocol.values import Category, ValueType, format_datetime
from xiotlab.roles import scheduled
from xiotlab.roles.sensors import Sensor

from ..waiting import eventually

SD = sensordata.NAMESPACES[0]


@pytest.fixture
def meter(lab, online, name):
    """An owner and a meter with three past power values and a live one read at each readout."""
    alice = online(Owner, name("alice"))
    thing = Thing(name("meter"), owner=alice.jid, lab=lab, timeout=5)
    reads = itertools.count(1)
    thing.sensor("power", unit="W", decimals=0)(lambda: float(100 + next(reads)))
    online(thing)
    alice.befriend(thing.jid)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    for i in range(3):
        thing.report(power=float(i), timestamp=start + dt.timedelta(minutes=i))
    assert eventually(lambda: len(thing.history("power")) == 3)
    return alice, thing, start


# --- categories combined ----------------------------------------------------------------------


def test_momentary_and_historical_together_give_history_and_the_current_value(meter):
    alice, thing, _ = meter
    answer = alice.send_iq(thing.full_jid, f"<req xmlns='{SD}' id='mh' m='true' h='true'/>")
    fields = sensordata.parse_response(answer).fields
    assert [f.value for f in fields] == [0.0, 1.0, 2.0, 101.0]
    assert all(Category.HISTORICAL in f.categories for f in fields[:3])
    assert fields[-1].categories == Category.MOMENTARY  # the value read now, as it is


def test_from_and_to_bound_history_and_current_values_alike(meter):
    alice, thing, start = meter
    readout = alice.read(
        thing.jid, categories=["momentary", "historical"], start=start + dt.timedelta(seconds=30), end=None
    )
    assert [f.value for f in readout] == [1.0, 2.0, 101.0]
    past = alice.read(
        thing.jid, categories=["momentary", "historical"], start=start, end=start + dt.timedelta(minutes=1)
    )
    assert [f.value for f in past] == [0.0, 1.0]  # the current value is newer than `to`


def test_historical_alone_gives_only_history_and_all_only_current_values(meter):
    alice, thing, _ = meter
    assert [f.value for f in alice.read(thing.jid, categories="historical")] == [0.0, 1.0, 2.0]
    assert [f.value for f in alice.read(thing.jid)] == [101.0]  # a plain readout (all="true") is not a dump


# --- scheduled readouts -------------------------------------------------------------------------


def schedule(alice, thing, request_id, when, ns=SD):
    return alice.send_iq(
        thing.full_jid, f"<req xmlns='{ns}' id='{request_id}' m='true' when='{format_datetime(when)}'/>"
    )


def responses(alice, request_id):
    """The ``<resp>`` messages the owner received for ``request_id``, parsed."""
    found = []
    for entry in alice.trace:
        if entry.direction == "in" and entry.tag == "message":
            for payload in ET.fromstring(entry.xml):
                if payload.tag.endswith("}resp") and payload.get("id") == request_id:
                    found.append(sensordata.parse_response(payload))
    return found


def test_a_readout_for_later_is_accepted_now_and_its_data_comes_at_that_time(meter):
    alice, thing, _ = meter
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    answer = schedule(alice, thing, "later", when)
    assert sensordata.parse_accepted(answer) == sensordata.Accepted("later", queued=True)
    assert eventually(lambda: responses(alice, "later"), 10)
    [response] = responses(alice, "later")
    assert response.done and [f.value for f in response.fields] == [101.0]
    assert response.fields[0].timestamp >= when.replace(microsecond=0)  # read at its time, not when asked


def test_a_cancelled_readout_never_runs(meter):
    alice, thing, _ = meter
    now = dt.datetime.now(dt.UTC)
    schedule(alice, thing, "first", now + dt.timedelta(seconds=1))
    assert alice.send_iq(thing.full_jid, f"<cancel xmlns='{SD}' id='first'/>", "set") is None
    schedule(alice, thing, "second", now + dt.timedelta(seconds=2))
    # Timers run in order of their time: had `first` not been cancelled, its data would be here by now.
    assert eventually(lambda: responses(alice, "second"), 10)
    assert responses(alice, "first") == []
    assert [f.value for f in responses(alice, "second")[0].fields] == [101.0]  # the only read since


def test_cancelling_what_is_not_waiting_is_answered_all_the_same(meter):
    alice, thing, _ = meter
    assert alice.send_iq(thing.full_jid, f"<cancel xmlns='{SD}' id='never'/>", "set") is None


def test_scheduling_is_bounded_in_time_and_in_number(meter, monkeypatch):
    alice, thing, _ = meter
    too_far = dt.datetime.now(dt.UTC) + scheduled.MAX_AHEAD + dt.timedelta(minutes=5)
    with pytest.raises(StanzaError) as error:
        schedule(alice, thing, "far", too_far)
    assert error.value.condition == "bad-request" and "ahead" in str(error.value)

    monkeypatch.setattr(scheduled, "MAX_QUEUED", 3)
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    for i in range(3):
        schedule(alice, thing, f"q{i}", when)
    with pytest.raises(StanzaError) as error:
        schedule(alice, thing, "q3", when)
    assert error.value.condition == "resource-constraint" and error.value.kind == "wait"
    with pytest.raises(StanzaError) as error:
        schedule(alice, thing, "q1", when)
    assert error.value.condition == "conflict"  # q1 waits already: ids are unique per requester
    alice.send_iq(thing.full_jid, f"<cancel xmlns='{SD}' id='q0'/>", "set")
    schedule(alice, thing, "q3", when)  # q0's place is free again
    thing.stop()
    assert eventually(lambda: len(thing._sensing.schedule) == 0)  # a stopped thing keeps no promises


def test_a_past_time_is_read_at_once(meter):
    alice, thing, _ = meter
    answer = schedule(alice, thing, "past", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert [f.value for f in sensordata.parse_response(answer).fields] == [101.0]


# --- units --------------------------------------------------------------------------------------


def test_an_integer_sensor_with_a_unit_keeps_it_everywhere(lab, online, name):
    alice = online(Owner, name("alice"))
    thing = online(Thing, name("meter"), owner=alice.jid)
    thing.sensor("energy", type=int, unit="Wh")
    thing.sensor("pulses", unit="imp")  # type left to the value
    alice.befriend(thing.jid)
    thing.report(energy=1200, pulses=7)
    assert eventually(lambda: len(thing.history("energy")) == 1)
    readout = alice.read(thing.jid)
    energy = readout["energy"]
    assert (energy.type, energy.value, energy.unit, energy.decimals) == (ValueType.QUANTITY, 1200.0, "Wh", 0)
    assert "energy = 1200 Wh" in repr(readout) and "pulses = 7 imp" in repr(readout)
    frame = readout.to_dataframe()
    assert frame.set_index("name").loc["energy", "unit"] == "Wh"


def test_a_declared_integer_with_a_unit_still_takes_only_integers():
    sensor = Sensor("energy", unit="Wh", type=ValueType.INTEGER)
    assert sensor.field(1200).lexical_value == "1200"
    with pytest.raises(TypeError, match="not an integer"):
        sensor.field(1.5)
    with pytest.raises(ValueError, match="out of its range"):
        sensor.field(2**31)
    assert Sensor("energy", unit="Wh", type=ValueType.LONG, decimals=1).field(5).lexical_value == "5.0"
    with pytest.raises(ValueError, match="2\\*\\*53"):
        Sensor("energy", unit="Wh", type=ValueType.LONG).field(2**60)


def test_a_unit_on_a_field_that_cannot_carry_one_is_refused_when_declared():
    with pytest.raises(ValueError, match="belong to a number"):
        Sensor("serial", unit="V", type=ValueType.STRING)
    with pytest.raises(ValueError, match="belong to a number"):
        Sensor("on", decimals=1, type=ValueType.BOOLEAN)
