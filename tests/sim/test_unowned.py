"""Simulated devices made with tags and no owner: factory-fresh, registered, claimed by a code."""

from __future__ import annotations

import pytest

from xiotlab import Owner
from xiotlab.errors import XiotlabError
from xiotlab.sim import DoorSensor, EnergyMeter, Lamp, Thermometer, Thermostat


@pytest.mark.parametrize("kind", [Thermometer, Lamp, Thermostat, DoorSensor, EnergyMeter], ids=lambda k: k.__name__)
def test_a_device_with_tags_comes_unowned_and_its_claimer_reads_it(lab, online, name, kind):
    serial = name("sn")
    device = online(kind(name(kind.__name__.lower()), lab=lab, timeout=5, tags={"MAN": "Acme", "SN": serial, "V": 2}))
    assert device.owner is None and device.registered and device.registry == f"registry.{lab.domain}"
    alice = online(Owner, name("alice"))
    with pytest.raises(XiotlabError):
        alice.read(device.jid)  # nobody's friend yet

    assert alice.claim(device.claim_uri) == device.jid
    assert device.owner == alice.jid and alice.roster[device.jid].friend
    assert set(device.sensors) <= set(alice.read(device.jid).names)
    [entry] = alice.search(f"SN={serial};#V>=2")
    assert entry.jid == device.jid and entry.tags == {"MAN": "Acme", "SN": serial, "V": 2.0}


def test_a_device_with_an_owner_keeps_its_tags_out_of_any_registry(lab, online, name):
    alice = online(Owner, name("alice"))
    lamp = online(Lamp(name("lamp"), owner=alice.jid, lab=lab, timeout=5, tags={"MAN": "Acme"}))
    assert lamp.owner == alice.jid and not lamp.registered and lamp.registry is None
    with pytest.raises(ValueError, match="no claim code"):
        lamp.claim_uri  # noqa: B018
