"""Legacy sensor data (``urn:xmpp:iot:sensordata``) with slixmpp 1.17's own ``xep_0323`` plugin as the peer.

A third-party implementation on the real lab server, no mocks: the plugin as
a device read by an xiotlab ``Owner``, and as a client reading an xiotlab
``Thing``. The plugin clients run on xiotlab's network loop (slixmpp is not
thread-safe) with ``threaded=False``, so the plugin's device side answers on
the loop instead of sending from worker threads (such sends can sit in
slixmpp's queue until the loop wakes).
"""

from __future__ import annotations

import datetime as dt

import pytest
import slixmpp
from slixmpp.plugins.xep_0323.device import Device

from xiotlab import Owner, Thing
from xiotlab.errors import StanzaError, TimedOut
from xiotlab.protocol.namespaces import LEGACY_SENSOR_DATA, SENSOR_DATA
from xiotlab.protocol.values import Category, NodeRef, ValueType

from ..waiting import eventually
from . import plugin_peers
from .plugin_peers import WAIT

pytestmark = [
    pytest.mark.integration,
    # The plugin's own timer thread calls Event.isSet(); not ours to fix.
    pytest.mark.filterwarnings("ignore:isSet:DeprecationWarning"),
]

DEVICE_TIME = "2026-01-02T03:04:05"  # the plugin's stamps are naive local time
ENDS = ("done", "failure", "rejected", "cancelled")  # callback results after which nothing more comes


# --- plugin peers ---------------------------------------------------------------------------------


class PluginPeer(plugin_peers.PluginPeer):
    """A connected slixmpp client with ``xep_0030`` and ``xep_0323``, on the xiotlab network loop."""

    plugin_name = "xep_0323"

    def __init__(self, xmpp: slixmpp.ClientXMPP) -> None:
        super().__init__(xmpp)
        self.results: list[dict] = []  # what request_data's callback was given, in order

    def request(self, to: str, **options) -> str:
        """Start a readout of ``to`` (a full JID) with ``request_data``; returns its seqnr."""
        return self.call_quietly(self.plugin.request_data, self.full_jid, to, self._record, **options)

    def results_until_end(self) -> list[dict]:
        """The callback's results once one that ends a readout came (waits at most WAIT seconds)."""
        assert eventually(lambda: any(r["result"] in ENDS for r in self.results), WAIT), (
            f"the readout did not end within {WAIT:g} s; the callback got {self.results}"
        )
        return list(self.results)

    def _record(self, **result) -> None:  # request_data's callback, on the network thread
        self.results.append(result)


@pytest.fixture
def plugin_peer(lab, name):
    """``plugin_peer(device=None, prefix=...)`` -> a connected PluginPeer; all leave after the test."""
    with plugin_peers.plugin_peers(lab, name) as start:

        def connect(device: Device | None = None, prefix: str = "plugin") -> PluginPeer:
            def register(xmpp):
                if device is not None:
                    xmpp.plugin["xep_0323"].register_node(device.nodeId, device, commTimeout=5)

            # threaded=False: the device side answers on the loop, not from worker threads.
            plugins = {"xep_0030": {}, "xep_0323": {"threaded": False}}
            return start(prefix, plugins, PluginPeer, register)

        yield connect


def make_device(node_id: str = "meter-1") -> Device:
    """A plugin device with a numeric field with unit, a string and a boolean."""
    device = Device(node_id)
    device._add_field(name="temperature", typename="numeric", unit="°C")
    device._add_field(name="label", typename="string")
    device._add_field(name="on", typename="boolean")
    device._add_field_momentary_data("temperature", "21.5")  # the plugin writes values as given: strings
    device._add_field_momentary_data("label", "kitchen <north> & co")
    device._add_field_momentary_data("on", "true")
    device._set_momentary_timestamp(DEVICE_TIME)
    return device


class UnpluggedDevice(Device):
    """A plugin device whose readout fails (``result="error"``, which the plugin sends as ``<failure>``)."""

    def request_fields(self, fields, flags, session, callback):
        callback(session, result="error", nodeId=self.nodeId, timestamp_block=None, error_msg="sensor unplugged")


def make_thing(lab, name, **options) -> Thing:
    """An xiotlab thing with a quantity with unit, a string and a boolean sensor."""
    thing = Thing(name("thermo"), lab=lab, timeout=5, **options)
    thing.sensor("temperature", unit="°C", decimals=1)(lambda: 21.46)
    thing.sensor("label", type=str)(lambda: "kitchen <north> & co")
    thing.sensor("on")(lambda: True)
    return thing


def disco_features(owner: Owner, full_jid: str) -> set[str]:
    info = owner.send_iq(full_jid, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    return {f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")}


def befriended_device(online, name, plugin_peer, device: Device) -> tuple[PluginPeer, Owner]:
    """A plugin device and an xiotlab owner, friends (the plugin accepts friend requests by default)."""
    peer = plugin_peer(device, prefix="plugindev")
    alice = online(Owner, name("alice"))
    alice.befriend(peer.jid)
    assert eventually(lambda: alice.roster[peer.jid].online, WAIT)
    return peer, alice


# --- the plugin as a device, read by an xiotlab owner ------------------------------------------------


@pytest.fixture
def device_and_owner(online, name, plugin_peer):
    return befriended_device(online, name, plugin_peer, make_device())


def test_plugin_device_advertises_only_the_legacy_namespace(device_and_owner):
    device, alice = device_and_owner
    features = disco_features(alice, device.full_jid)
    assert LEGACY_SENSOR_DATA in features and SENSOR_DATA not in features


def test_owner_reads_a_plugin_device(device_and_owner):
    device, alice = device_and_owner
    for _ in range(2):  # the plugin ends its session each time; a second readout works the same
        readout = alice.read(device.jid)
        assert readout.namespace == LEGACY_SENSOR_DATA and not readout.errors
        assert sorted(readout.names) == ["label", "on", "temperature"]
        temperature, label, on = readout["temperature"], readout["label"], readout["on"]
        assert (temperature.type, temperature.value, temperature.unit) == (ValueType.QUANTITY, 21.5, "°C")
        assert (label.type, label.value, label.unit) == (ValueType.STRING, "kitchen <north> & co", None)
        assert (on.type, on.value, on.unit) == (ValueType.BOOLEAN, True, None)
        local = dt.datetime.strptime(DEVICE_TIME, "%Y-%m-%dT%H:%M:%S").astimezone()
        for field in readout:
            assert field.timestamp == local, field.name
            assert field.node == NodeRef("meter-1") and field.categories == Category.MOMENTARY, field.name


def test_owner_reads_one_field_of_a_plugin_device(device_and_owner):
    device, alice = device_and_owner
    readout = alice.read(device.jid, fields="temperature")
    assert readout.names == ["temperature"] and readout["temperature"].value == 21.5


def test_a_plugin_device_refusing_a_readout_is_an_error_at_once(device_and_owner):
    device, alice = device_and_owner
    with pytest.raises(StanzaError) as refused:  # the plugin rejects unknown fields
        alice.read(device.jid, fields="no-such-field")
    assert not isinstance(refused.value, TimedOut)
    assert "Invalid field" in str(refused.value), "the device's own reason, from its <rejected>"
    assert alice.read(device.jid)["on"].value is True  # and serves the next readout


def test_a_failing_plugin_device_reports_its_error(online, name, plugin_peer):
    device, alice = befriended_device(online, name, plugin_peer, UnpluggedDevice("probe-7"))
    readout = alice.read(device.jid)
    assert len(readout) == 0
    [error] = readout.errors
    assert error.message == "sensor unplugged" and error.node == NodeRef("probe-7")


# --- the plugin as a client, reading an xiotlab thing --------------------------------------------------


@pytest.fixture
def thing_and_reader(lab, online, name, plugin_peer) -> tuple[Thing, PluginPeer]:
    """An xiotlab thing that accepts anyone, and a plugin client that befriended it."""
    thing = online(make_thing(lab, name, policy="accept"))
    reader = plugin_peer()
    reader.befriend(thing.jid)
    assert eventually(
        lambda: thing.roster.get(reader.jid) is not None and thing.roster[reader.jid].subscription in ("from", "both"),
        WAIT,
    )
    return thing, reader


def test_plugin_client_reads_a_thing(thing_and_reader):
    thing, reader = thing_and_reader
    seqnr = reader.request(thing.full_jid, flags={"momentary": "true"})
    results = reader.results_until_end()
    kinds = [r["result"] for r in results]
    # One "fields" callback per node and timestamp: each sensor function stamps its own value.
    assert kinds[0] == "accepted" and kinds[-1] == "done" and set(kinds[1:-1]) == {"fields"}, results
    assert all(str(r["from_jid"]) == thing.full_jid for r in results)
    fields = {f["name"]: f for r in results[1:-1] for f in r["fields"]}
    flags = {"momentary": "true", "automaticReadout": "true"}
    assert fields == {
        "temperature": {"name": "temperature", "typename": "numeric", "value": "21.5", "unit": "°C", "flags": flags},
        "label": {"name": "label", "typename": "string", "value": "kitchen <north> & co", "flags": flags},
        "on": {"name": "on", "typename": "boolean", "value": "true", "flags": flags},
    }
    for r in results[1:-1]:
        assert r["nodeId"] == ""  # a plain device
        stamp = dt.datetime.fromisoformat(r["timestamp"])
        assert abs(stamp - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=WAIT)
    assert seqnr not in reader.plugin.sessions  # the plugin closed the session on done
    assert not reader.iq_errors


def test_plugin_stranger_is_rejected_and_learns_nothing(lab, online, name, plugin_peer):
    alice = online(Owner, name("alice"))
    thing = online(make_thing(lab, name, owner=alice.jid))
    stranger = plugin_peer(prefix="stranger")
    seqnr = stranger.request(thing.full_jid, flags={"momentary": "true"})
    assert eventually(lambda: stranger.iq_errors, WAIT), "the thing did not answer the stranger"
    [error] = stranger.iq_errors
    assert str(error["from"]) == thing.full_jid and error["error"]["condition"] == "forbidden"
    assert "21.5" not in str(error) and "temperature" not in str(error)
    # The plugin hears of a refusal only through <rejected>, beside the standard error.
    results = stranger.results_until_end()
    assert [r["result"] for r in results] == ["rejected"], results
    assert "friend" in results[0]["error_msg"] and seqnr not in stranger.plugin.sessions


def test_plugin_client_gets_a_bad_request_rejected_with_the_reason(thing_and_reader):
    thing, reader = thing_and_reader
    reader.request(thing.full_jid, flags={"momentary": "true", "from": "yesterday"})
    results = reader.results_until_end()
    assert [r["result"] for r in results] == ["rejected"], results
    assert "yesterday" in results[0]["error_msg"]
    assert reader.iq_errors[0]["error"]["condition"] == "bad-request"


def plugin_time(when: dt.datetime) -> str:
    """A time as the plugin writes and reads it: naive local time, to the second."""
    return when.astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def test_plugin_client_schedules_a_readout_for_later(thing_and_reader):
    thing, reader = thing_and_reader
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).replace(microsecond=0)
    reader.request(thing.full_jid, flags={"momentary": "true", "when": plugin_time(when)})
    results = reader.results_until_end()
    kinds = [r["result"] for r in results]
    # XEP-0323: accepted queued, then <started> when the readout begins, then the fields.
    assert kinds[:2] == ["queued", "started"] and kinds[-1] == "done" and set(kinds[2:-1]) == {"fields"}, results
    for r in results[2:-1]:
        assert dt.datetime.fromisoformat(r["timestamp"]) >= when  # read at its time, not when asked
    assert not reader.iq_errors


def test_plugin_client_cancels_a_scheduled_readout(thing_and_reader):
    thing, reader = thing_and_reader
    when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    seqnr = reader.request(thing.full_jid, flags={"momentary": "true", "when": plugin_time(when)})
    assert eventually(lambda: [r["result"] for r in reader.results] == ["queued"], WAIT)
    reader.call_quietly(reader.plugin.cancel_request, seqnr)
    results = reader.results_until_end()
    assert [r["result"] for r in results] == ["queued", "cancelled"], results
    assert len(thing._sensing.schedule) == 0
