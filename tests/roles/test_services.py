"""A service stands on its own: a client and a port are all it needs, and detached it answers nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from xiotlab import Owner
from xiotlab.errors import Forbidden, StanzaError
from xiotlab.protocol import sensordata
from xiotlab.protocol.namespaces import SENSOR_DATA
from xiotlab.roles.sensing import SensorService
from xiotlab.runtime import Endpoint, XmppClient, network

pytestmark = pytest.mark.integration

READOUT = f"<req xmlns='{SENSOR_DATA}' id='1' momentary='true'/>"


class OnlyAlice:
    """An access port of the test's own: one reader, no controller."""

    def __init__(self, reader: str) -> None:
        self.reader = reader

    def check_reader(self, sender) -> None:
        if sender.bare != self.reader:
            raise Forbidden("not you")

    def check_controller(self, sender) -> None:
        raise Forbidden("nobody")

    owner = None

    async def readable(self, sender, fields, categories, nodes=()):
        self.check_reader(sender)
        return fields

    async def controllable(self, sender, parameters, viewing=False, nodes=()):
        (self.check_reader if viewing else self.check_controller)(sender)
        return parameters

    async def may_befriend(self, requester):
        return None


@pytest.fixture
def bare_client(lab, name):
    """A connected client that no Thing wraps."""
    account = lab.account(name("device"))
    client = XmppClient(account.jid, account.password, Endpoint(lab.host, lab.port, Path(lab.ca_file)), timeout=5)
    yield client
    network.run(client.disconnect())


def test_a_sensor_service_serves_on_a_bare_client_asking_only_its_port(bare_client, online, name):
    alice = online(Owner, name("alice"))
    bob = online(Owner, name("bob"))
    service = SensorService(bare_client, OnlyAlice(alice.jid), history_size=10)
    service.sensors.declare("temperature", lambda: 21.5, unit="°C")
    service.attach()
    network.run(bare_client.connect())
    full = bare_client.jid.full

    answer = alice.send_iq(full, READOUT)
    assert [(f.name, f.value, f.unit) for f in sensordata.parse_response(answer).fields] == [
        ("temperature", 21.5, "°C")
    ]
    with pytest.raises(Forbidden):
        bob.send_iq(full, READOUT)
    assert SENSOR_DATA in alice.features(full)


def test_a_detached_service_answers_nothing_and_announces_nothing(bare_client, online, name):
    alice = online(Owner, name("alice"))
    service = SensorService(bare_client, OnlyAlice(alice.jid), history_size=10)
    service.attach()
    network.run(bare_client.connect())
    full = bare_client.jid.full
    assert SENSOR_DATA in alice.features(full)

    service.detach()
    with pytest.raises(StanzaError) as refused:
        alice.send_iq(full, READOUT)
    assert refused.value.condition in ("feature-not-implemented", "service-unavailable")
    newcomer = online(Owner, name("carol"))  # alice keeps what she discovered while the device stays online
    assert SENSOR_DATA not in newcomer.features(full)
