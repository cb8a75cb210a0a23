"""Fixtures of the simulated devices' tests: a device online, befriended by its owner."""

from __future__ import annotations

import pytest

from xiotlab import Owner


@pytest.fixture
def befriended(lab, online, name):
    """``befriended(Lamp, watts=9.0)`` starts an owner and her device, friends, and returns both."""

    def make(kind, **options):
        owner = online(Owner, name("owner"))
        device = kind(name(kind.__name__.lower()), owner=owner.jid, lab=lab, timeout=5, **options)
        online(device)
        owner.befriend(device.jid)
        return owner, device

    return make
