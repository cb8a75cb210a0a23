"""A thing's behaviour over time (timers) and replacing it while online (``forget``)."""

from __future__ import annotations

import threading

import pytest

from xiotlab import Owner, Thing

from ..waiting import eventually


def test_a_timer_reports_what_it_returns_to_a_subscribed_owner(online, name):
    owner = online(Owner, name("owner"))
    thing = Thing(name("thermo"), owner=owner.jid, lab=owner._lab, timeout=5)
    ticks = iter(range(1000))

    @thing.every(0.02)
    def tick():
        return {"count": next(ticks)}

    online(thing)
    owner.befriend(thing.jid)
    with owner.subscribe(thing.jid, "count") as stream:
        values = [stream.get(timeout=5).value for _ in range(3)]
    assert values == sorted(values) and len(set(values)) == 3
    assert thing.timers[0].calls >= 3


def test_timers_run_only_while_online_and_survive_errors(online, name):
    owner = online(Owner, name("owner"))
    thing = Thing(name("flaky"), owner=owner.jid, lab=owner._lab, timeout=5)
    calls = []

    @thing.every(0.01)
    def tick():
        calls.append(threading.current_thread().name)
        if len(calls) % 2:
            raise RuntimeError("sensor glitch")

    assert calls == [] and not thing.timers[0].running
    online(thing)
    eventually(lambda: len(calls) >= 4)
    timer = thing.timers[0]
    assert timer.errors >= 2 and isinstance(timer.last_error, RuntimeError)
    assert "xiotlab-network" not in calls  # plain functions run off the network thread
    thing.stop()
    settled = len(calls)
    threading.Event().wait(0.1)
    assert len(calls) <= settled + 1 and not timer.running


def test_forget_replaces_sensors_controls_and_timers_without_reconnecting(online, name):
    owner = online(Owner, name("owner"))
    thing = Thing(name("lamp"), owner=owner.jid, lab=owner._lab, timeout=5)
    old_ticks = []
    thing.sensor("level")(lambda: 1)
    thing.control("on", type=bool)(lambda value: None)
    thing.every(0.01)(lambda: old_ticks.append(1))
    online(thing)
    owner.befriend(thing.jid)
    connection = thing._client.stream

    thing.forget()
    thing.sensor("brightness", unit="%")(lambda: 40)
    thing.control("dim", type=int, min=0, max=100, value=40)(lambda value: None)

    assert thing._client.stream is connection and thing.online
    assert owner.read(thing.jid).names == ["brightness"]
    assert [p.name for p in owner.control_form(thing.jid).parameters] == ["dim"]
    stopped_at = len(old_ticks)
    threading.Event().wait(0.1)
    assert len(old_ticks) <= stopped_at + 1 and thing.timers == []


def test_interval_must_be_positive(lab, name):
    thing = Thing(name("thing"), lab=lab)
    with pytest.raises(ValueError, match="positive number of seconds"):
        thing.every(0)
