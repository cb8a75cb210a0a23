"""A readout has an end: one that brings more than an owner keeps is given up with a clear error."""

from __future__ import annotations

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import ProtocolError
from xiotlab.roles import reading

from ..waiting import eventually


def test_a_readout_larger_than_an_owner_keeps_is_given_up_saying_what_to_ask_instead(lab, online, name, monkeypatch):
    alice = online(Owner, name("alice"))
    thing = Thing(name("logger"), owner=alice.jid, lab=lab, timeout=5, history_size=3000)
    thing.sensor("level", type=float)
    online(thing)
    alice.befriend(thing.jid)
    for i in range(3000):
        thing.report(level=float(i))
    assert eventually(lambda: len(thing.history("level")) == 3000)
    assert len(alice.read(thing.jid, categories="historical")) == 3000  # in three fragments of a thousand
    monkeypatch.setattr(reading, "MAX_READOUT_ITEMS", 1500)
    with pytest.raises(ProtocolError, match="past 1500 fields"):
        alice.read(thing.jid, categories="historical")
    assert alice.read(thing.jid, "level")["level"].value == 2999.0  # the next readout is served as ever
