"""What crosses the wire: dialects, discovery, strangers and hostile requests, with raw iqs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import Forbidden, StanzaError
from xiotlab.protocol import events, sensordata
from xiotlab.protocol.namespaces import CONTROL, LEGACY_SENSOR_DATA, SENSOR_DATA, SENSOR_DATA_ALIASES

from ..waiting import eventually


@pytest.fixture
def lamp(lab, online, name):
    """A thing with a secret-named field, befriended by its owner; plus a stranger online."""
    alice = online(Owner, name("alice"))
    thing = Thing(name("lamp"), owner=alice.jid, lab=lab, timeout=5)
    thing.sensor("secret_wattage", unit="W")(lambda: 42.0)
    online(thing)
    alice.befriend(thing.jid)
    return alice, thing, online(Owner, name("mallory"))


STRANGER_REQUESTS = [
    ("get", f"<req xmlns='{SENSOR_DATA}' id='1'/>"),
    ("get", f"<req xmlns='{SENSOR_DATA_ALIASES[1]}' id='1'><f n='secret_wattage'/></req>"),
    ("set", f"<cancel xmlns='{SENSOR_DATA}' id='1'/>"),
    ("set", f"<subscribe xmlns='{events.NAMESPACES[0]}' id='1'/>"),
    ("set", f"<unsubscribe xmlns='{events.NAMESPACES[0]}' id='1'/>"),
    ("get", f"<req xmlns='{LEGACY_SENSOR_DATA}' seqnr='1' momentary='true'/>"),
]


@pytest.mark.parametrize(("kind", "xml"), STRANGER_REQUESTS)
def test_strangers_are_refused_and_learn_nothing(lamp, kind, xml):
    _, thing, mallory = lamp
    with pytest.raises(Forbidden) as refused:
        mallory.send_iq(thing.full_jid, xml, kind)
    assert "secret" not in str(refused.value) and "42.0" not in str(refused.value)
    assert len(thing._sensing.subscriptions) == 0


@pytest.mark.parametrize("ns", sensordata.NAMESPACES)
def test_answers_come_in_the_namespace_asked(lamp, ns):
    alice, thing, _ = lamp
    answer = alice.send_iq(thing.full_jid, f"<req xmlns='{ns}' id='7'/>")
    assert answer.tag == f"{{{ns}}}resp"
    response = sensordata.parse_response(answer)
    assert response.namespace == ns and response.fields[0].value == 42.0


def test_discovery_lists_every_dialect(lamp):
    alice, thing, _ = lamp
    info = alice.send_iq(thing.full_jid, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    features = {f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")}
    assert {*sensordata.NAMESPACES, *events.NAMESPACES, LEGACY_SENSOR_DATA} <= features


@pytest.mark.parametrize(
    ("xml", "condition"),
    [
        (f"<req xmlns='{SENSOR_DATA}' id='1' from='yesterday'/>", "bad-request"),
        (f"<req xmlns='{SENSOR_DATA}' id='1'>" + "<f n='x'/>" * 1001 + "</req>", "bad-request"),
        (f"<subscribe xmlns='{events.NAMESPACES[0]}' id='1' minInt='soon'/>", "bad-request"),
        (f"<unsubscribe xmlns='{events.NAMESPACES[0]}' id='no-such-subscription'/>", "item-not-found"),
        (f"<req xmlns='{SENSOR_DATA}' id='1'>" + "<nd id='a'>" * 50 + "</nd>" * 50 + "</req>", None),
    ],
)
def test_hostile_requests_get_errors_and_the_thing_keeps_serving(lamp, xml, condition):
    alice, thing, _ = lamp
    if condition is None:
        alice.send_iq(thing.full_jid, xml)  # deep nesting is read only as deep as the protocol goes
    else:
        with pytest.raises(StanzaError) as error:
            alice.send_iq(thing.full_jid, xml)
        assert error.value.condition == condition
    assert alice.read(thing.jid)["secret_wattage"].value == 42.0


@pytest.mark.parametrize(
    ("kind", "xml"),
    [("get", f"<set xmlns='{CONTROL}'><b n='on' v='true'/></set>"), ("set", f"<getForm xmlns='{CONTROL}'/>")],
)
def test_a_request_in_an_iq_of_the_wrong_type_is_answered_at_once(lamp, kind, xml):
    alice, thing, _ = lamp
    with pytest.raises(StanzaError) as error:
        alice.send_iq(thing.full_jid, xml, kind, timeout=2)
    assert error.value.condition == "bad-request" and "iq of type" in error.value.text


def test_unknown_fields_are_simply_absent(lamp):
    alice, thing, _ = lamp
    assert len(alice.read(thing.jid, fields=["no-such-field"])) == 0


def test_a_flood_of_requests_leaves_the_thing_serving_others(lamp):
    alice, thing, mallory = lamp
    stream = mallory._client.stream
    for i in range(300):
        iq = stream.make_iq_get(ito=thing.full_jid)
        iq.xml.append(ET.fromstring(f"<req xmlns='{SENSOR_DATA}' id='{i}'/>"))
        iq.send().add_done_callback(lambda answer: answer.exception())  # refusals expected, read and dropped
    assert alice.read(thing.jid)["secret_wattage"].value == 42.0
    assert eventually(lambda: thing.online)
