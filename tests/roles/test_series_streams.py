"""Fast streams on the wire: runs of values to owners that read them, the plain form to everyone else."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from xiotlab import Owner, Thing
from xiotlab.protocol import series
from xiotlab.protocol.namespaces import EVENTS, SENSOR_DATA

from ..protocol.schema import assert_valid, schema
from ..waiting import eventually

BURST = 500


def report_burst(thing: Thing, start: int) -> None:
    for i in range(start, start + BURST):
        thing.report(level=float(i), depth=i / 3)


def runs_sent(thing: Thing) -> int:
    return sum(series.NAMESPACE in entry.xml for entry in thing.trace if entry.direction == "out")


def test_a_fast_stream_travels_as_runs_and_arrives_whole_and_in_order(lab, online, name):
    owner = online(Owner, name("owner"))
    thing = Thing(name("vibration"), lab=lab, owner=owner.jid, timeout=5)
    thing.sensor("level", type=float)
    thing.sensor("depth", unit="mm", decimals=2)
    online(thing)
    owner.befriend(thing.jid)
    stream = owner.subscribe(thing.jid, ["level", "depth"], buffer=100_000)
    sent = 0
    # The thing asks the owner what it reads once the subscription is made: bursts until it knows.
    while runs_sent(thing) == 0 and sent < 20 * BURST:
        report_burst(thing, sent)
        sent += BURST
        assert eventually(lambda sent=sent: stream.count == 2 * sent), (stream.count, sent)
    assert runs_sent(thing) > 0, "the thing never sent a run of values to an owner that reads them"
    got = stream.drain()
    assert [(f.name, f.value) for f in got] == [
        pair for i in range(sent) for pair in (("level", float(i)), ("depth", round(i / 3, 2)))
    ]
    assert {f.decimals for f in got if f.name == "depth"} == {2}
    assert all(a.timestamp <= b.timestamp for a, b in itertools.pairwise(got))
    assert stream.dropped == 0


def test_a_subscriber_that_does_not_announce_runs_gets_every_value_as_the_specification_writes_it(
    lab, raw, name, tmp_path_factory
):
    peer = raw("owner")
    thing = Thing(name("vibration"), lab=lab, owner=peer.jid, timeout=5)
    thing.sensor("level", type=float)
    thing.sensor("depth", unit="mm", decimals=2)
    thing.start()
    try:
        peer.befriend(thing.jid)
        assert eventually(lambda: thing.roster.get(peer.jid) is not None and thing.roster[peer.jid].friend)
        answer = peer.send(
            thing.full_jid, f"<subscribe xmlns='{EVENTS}' id='s1'><f n='level'/><f n='depth'/></subscribe>"
        )
        assert answer.get("type") == "result", ET.tostring(answer)

        def fields_arrived() -> int:
            return sum(1 for m in list(peer.messages) for _ in m.iter(f"{{{SENSOR_DATA}}}q"))

        for burst in range(4):
            report_burst(thing, burst * BURST)
        assert eventually(lambda: fields_arrived() == 8 * BURST), fields_arrived()
        responses = [m for m in list(peer.messages) if m.tag == f"{{{SENSOR_DATA}}}resp"]
        assert responses and all(r.find(f".//{{{SENSOR_DATA}}}x") is None for r in responses)
        assert_valid(schema(tmp_path_factory), responses[-1])
    finally:
        thing.stop()
