"""Staying up: a server killed and restarted, a connection dropped and resumed, calls caught in between.

Each test runs its own lab server, since it kills it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal

import numpy as np
import pytest

from xiotlab import LabServer, Owner, Thing
from xiotlab.errors import ConnectionLost, NotConnected
from xiotlab.protocol.namespaces import SENSOR_DATA
from xiotlab.runtime import network
from xiotlab.runtime.connection import State

from ..waiting import eventually, in_background

pytestmark = pytest.mark.integration


@pytest.fixture
def lab():
    """A lab of this test's own, which it may kill."""
    with LabServer() as server:
        yield server


@pytest.fixture
def meter(lab, online, name):
    """A thing counting 0, 1, 2, ... fifty times a second, its owner, and her stream of the counts."""
    alice = online(Owner, name("alice"))
    thing = Thing(name("meter"), owner=alice.jid, lab=lab, timeout=5)
    thing.sensor("n", type=int)
    counts = itertools.count()
    thing.every(0.02)(lambda: {"n": next(counts)})
    online(thing)
    alice.befriend(thing.jid)
    stream = alice.subscribe(thing.jid, "n")
    assert eventually(lambda: stream.count > 10)
    return alice, thing, stream


def kill(lab: LabServer) -> None:
    """What a crash does: no goodbye to anyone."""
    os.kill(lab.pid, signal.SIGKILL)
    assert eventually(lambda: not lab.is_running)


def consecutive(values: list[int]) -> bool:
    return values == list(range(values[0], values[0] + len(values)))


def test_a_killed_server_restarted_brings_thing_owner_and_stream_back(lab, meter):
    alice, thing, stream = meter
    port = lab.port
    kill(lab)
    assert eventually(lambda: State.RECONNECTING == alice.connection.state == thing.connection.state)
    assert eventually(lambda: stream.interrupted) and not stream.ended

    lab.start()
    assert lab.port == port, "a restarted lab keeps its port, so that its clients find it"
    assert eventually(lambda: alice.online and thing.online, seconds=15)
    assert eventually(lambda: not stream.interrupted, seconds=10)
    resumed_at = stream.count
    assert eventually(lambda: stream.count > resumed_at + 20)

    assert not stream.ended
    [gap] = stream.gaps
    assert gap.end is not None and "lost" in gap.reason
    received = stream.drain()
    after = [f.value for f in received if f.timestamp >= gap.end]
    assert len(after) > 20 and consecutive(after), "nothing reported after the return is lost"
    frame = stream.to_dataframe()
    assert (frame["type"] == "gap").sum() == 1
    assert [o.resumed for o in alice.connection.outages] == [False], "a killed server kept no session"


def test_the_roster_says_reconnecting_and_the_plot_breaks_its_line_at_the_gap(lab, meter):
    from xiotlab import LivePlot, Roster

    alice, _, stream = meter
    roster, plot = Roster(alice), LivePlot(stream, "n", window="1h")
    try:
        assert eventually(lambda: "(online)" in roster.table.value and "n" in plot.series)
        kill(lab)
        assert eventually(lambda: "reconnecting" in roster.table.value)
        assert eventually(lambda: np.isnan(plot.series["n"].window(None)[1]).any())
        lab.start()
        assert eventually(lambda: "(online)" in roster.table.value, seconds=15)
    finally:
        roster.close()
        plot.close()


def test_a_dropped_connection_resumes_its_session_and_loses_nothing(meter):
    alice, thing, stream = meter
    # The thing's TCP connection drops under it; the server keeps its session (stream management).
    network.call_soon(thing._client.stream.transport.abort)
    assert eventually(lambda: thing.connection.outages and thing.connection.outages[-1].restored)
    assert thing.connection.outages[-1].resumed
    count = stream.count
    assert eventually(lambda: stream.count > count + 20)
    values = [f.value for f in stream.drain()]
    assert consecutive(values), "held while the connection was down, sent once it was back"
    assert not stream.gaps and not alice.connection.outages


def test_a_call_in_flight_fails_at_once_when_the_connection_is_lost(lab, online, name):
    alice = online(Owner, name("alice"))
    thing = Thing(name("slow"), owner=alice.jid, lab=lab, timeout=5)

    @thing.sensor("answer")
    async def answer():
        await asyncio.sleep(30)  # longer than the call waits: only the loss can end it first
        return 42

    online(thing)
    alice.befriend(thing.jid)
    call = in_background(alice.read, thing.jid, timeout=20)
    assert eventually(lambda: any(e.direction == "out" and SENSOR_DATA in e.namespaces for e in alice.trace))
    kill(lab)
    with pytest.raises(ConnectionLost, match="lost"):
        call.result(timeout=10)


def test_calls_made_while_reconnecting_wait_for_the_connection(lab, meter):
    alice, thing, _ = meter
    kill(lab)
    assert eventually(lambda: alice.connection.state is State.RECONNECTING)
    call = in_background(alice.read, thing.jid, "n", timeout=20)
    lab.start()
    assert call.result(timeout=30)["n"].value >= 0


def test_without_reconnect_a_lost_connection_ends_everything_and_says_why(lab, online, name):
    alice = online(Owner, name("alice"), reconnect=False)
    thing = online(Thing, name("lamp"), owner=alice.jid)
    thing.sensor("on", type=bool)(lambda: True)
    alice.befriend(thing.jid)
    stream = alice.subscribe(thing.jid)
    kill(lab)
    assert eventually(lambda: alice.connection.state is State.OFFLINE and stream.ended)
    assert "lost" in stream.end_reason and "went offline" not in stream.end_reason
    with pytest.raises(NotConnected):
        alice.read(thing.jid)
