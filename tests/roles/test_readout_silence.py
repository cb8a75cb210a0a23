"""A readout's timeout measures silence, not its total time: a long answer still arriving is awaited.

Over a throttled server (ejabberd's stock shaper gives a client 3,000 B/s) a large readout's
fragments arrive one by one, seconds apart. The thing here sends its fragments as slowly, paced on
the network loop, and one field per fragment: the readout lasts several times its timeout and
succeeds; when the thing stops sending before its last fragment, the readout fails with TimedOut.
"""

from __future__ import annotations

import time

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import TimedOut
from xiotlab.roles import subscriptions
from xiotlab.runtime import network

FIELDS = 8
GAP = 0.3  # seconds between two fragments
TIMEOUT = 1.5  # the readout's: well above a gap, well below the whole answer's time (2.4 s)


def pace(thing: Thing, *, drop_last: bool = False) -> None:
    """Have ``thing`` send the fragments of a readout :data:`GAP` seconds apart (all but the last, if asked)."""
    service = thing._sensing
    send = service._send

    def slowly(subscriber, payloads, store=False):
        if len(payloads) == 1:
            send(subscriber, payloads, store)
            return
        for i, payload in enumerate(payloads[:-1] if drop_last else payloads):
            network.loop.call_later(GAP * (i + 1), send, subscriber, [payload], store)

    service._send = slowly


@pytest.fixture
def slow(lab, online, name, monkeypatch):
    """``slow(drop_last)`` -> an owner and a friend thing of :data:`FIELDS` fields, one per fragment, paced."""
    monkeypatch.setattr(subscriptions, "FIELDS_PER_MESSAGE", 1)

    def make(drop_last: bool = False) -> tuple[Owner, Thing]:
        alice = online(Owner, name("alice"))
        thing = Thing(name("slow"), owner=alice.jid, lab=lab, timeout=5)
        for i in range(FIELDS):
            thing.sensor(f"f{i}")(lambda i=i: float(i))
        online(thing)
        alice.befriend(thing.jid)
        pace(thing, drop_last=drop_last)
        return alice, thing

    return make


def test_a_readout_that_keeps_coming_outlasts_its_timeout(slow):
    alice, thing = slow()
    began = time.monotonic()
    readout = alice.read(thing.jid, timeout=TIMEOUT)
    assert [f.value for f in readout] == [float(i) for i in range(FIELDS)]
    assert time.monotonic() - began > TIMEOUT  # it took longer than its timeout, and was waited for


def test_a_readout_that_goes_silent_times_out(slow):
    alice, thing = slow(drop_last=True)
    with pytest.raises(TimedOut, match="sent nothing more of it"):
        alice.read(thing.jid, timeout=TIMEOUT)
