"""Legacy sensor data (``urn:xmpp:iot:sensordata``) with slixmpp 1.17's own ``xep_0323`` plugin as the peer.

A third-party implementation on the real lab server, no mocks: the plugin as
a device read by an xiotlab ``Owner``, and as a client reading an xiotlab
``Thing``. The plugin clients run on xiotlab's network loop (slixmpp is not
thread-safe) with ``threaded=False``, so the plugin's device side answers on
the loop instead of sending from worker threads (such sends can sit in
slixmpp's queue until the loop wakes).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest
import slixmpp
from slixmpp.plugins.xep_0323.device import Device
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from xiotlab import Owner, Thing
from xiotlab.errors import StanzaError, TimedOut
from xiotlab.protocol.namespaces import LEGACY_SENSOR_DATA, SENSOR_DATA
from xiotlab.protocol.values import Category, NodeRef, ValueType
from xiotlab.runtime import network

from .test_friendship import eventually

pytestmark = [
    pytest.mark.integration,
    # The plugin's own timer thread calls Event.isSet(); not ours to fix.
    pytest.mark.filterwarnings("ignore:isSet:DeprecationWarning"),
]

WAIT = 10.0  # the longest any single wait here may take
DEVICE_TIME = "2026-01-02T03:04:05"  # the plugin's stamps are naive local time
ENDS = ("done", "failure", "rejected", "cancelled")  # callback results after which nothing more comes


# --- plugin peers ---------------------------------------------------------------------------------


class PluginPeer:
    """A connected slixmpp client with ``xep_0030`` and ``xep_0323``, on the xiotlab network loop."""

    def __init__(self, xmpp: slixmpp.ClientXMPP) -> None:
        self.xmpp = xmpp
        self.results: list[dict] = []  # what request_data's callback was given, in order
        self.iq_errors: list[slixmpp.Iq] = []  # every iq error that reached it, for the plugin or not
        xmpp.register_handler(Callback("test: iq errors", StanzaPath("iq@type=error"), self.iq_errors.append))

    @property
    def jid(self) -> str:
        return self.xmpp.boundjid.bare

    @property
    def full_jid(self) -> str:
        return self.xmpp.boundjid.full

    @property
    def plugin(self):
        return self.xmpp.plugin["xep_0323"]

    def befriend(self, jid: str) -> None:
        """Send a friend request; the peer accepts the one coming back on its own (auto_authorize)."""
        network.run(self._on_loop(self.xmpp.send_presence_subscription, pto=jid))

    def request(self, to: str, **options) -> str:
        """Start a readout of ``to`` (a full JID) with ``request_data``; returns its seqnr."""
        return network.run(self._on_loop(self._request_data, to, options))

    def _request_data(self, to: str, options: dict) -> str:
        # request_data drops the future of its iq: an error answer would be logged as
        # "Future exception was never retrieved". The plugin reads errors by its own handler.
        make_iq = self.xmpp.Iq

        def quiet_iq(*args, **kwargs):
            iq = make_iq(*args, **kwargs)
            send = iq.send
            iq.send = lambda *a, **k: _retrieved(send(*a, **k))
            return iq

        self.xmpp.Iq = quiet_iq
        try:
            return self.plugin.request_data(self.full_jid, to, self._record, **options)
        finally:
            del self.xmpp.Iq

    def results_until_end(self) -> list[dict]:
        """The callback's results once one that ends a readout came (waits at most WAIT seconds)."""
        assert eventually(lambda: any(r["result"] in ENDS for r in self.results), WAIT), (
            f"the readout did not end within {WAIT:g} s; the callback got {self.results}"
        )
        return list(self.results)

    def _record(self, **result) -> None:  # request_data's callback, on the network thread
        self.results.append(result)

    @staticmethod
    async def _on_loop(fn, *args, **kwargs):
        return fn(*args, **kwargs)


def _retrieved(future: asyncio.Future) -> asyncio.Future:
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return future


async def _connect(lab, name: str, device: Device | None) -> PluginPeer:
    account = lab.account(name)
    xmpp = slixmpp.ClientXMPP(account.jid, account.password, loop=asyncio.get_running_loop())
    xmpp.enable_direct_tls = False
    xmpp.ca_certs = str(lab.ca_file)
    xmpp.register_plugin("xep_0030")
    xmpp.register_plugin("xep_0323", pconfig={"threaded": False})
    if device is not None:
        xmpp.plugin["xep_0323"].register_node(device.nodeId, device, commTimeout=5)
    peer = PluginPeer(xmpp)
    outcome = asyncio.get_running_loop().create_future()

    def settle(failure):
        if not outcome.done():
            outcome.set_result(failure)

    xmpp.add_event_handler("session_start", lambda _: settle(None))
    xmpp.add_event_handler("failed_auth", lambda _: settle("authentication failed"))
    xmpp.add_event_handler("connection_failed", lambda e: settle(f"connection failed: {e}"))
    xmpp.connect(lab.host, lab.port)
    try:
        failure = await asyncio.wait_for(outcome, WAIT)
        if failure is None:
            await xmpp.get_roster(timeout=WAIT)
            xmpp.send_presence()
            return peer
    except asyncio.TimeoutError:
        failure = f"not online within {WAIT:g} s"
    await _disconnect(xmpp)
    raise AssertionError(f"plugin peer {account.jid}: {failure}")


async def _disconnect(xmpp: slixmpp.ClientXMPP) -> None:
    try:
        await asyncio.wait_for(xmpp.disconnect(wait=1.0), WAIT / 2)
    except asyncio.TimeoutError:
        xmpp.abort()
    xmpp.cancel_connection_attempt()
    sender = xmpp._run_out_filters  # slixmpp leaves its send loop pending after a disconnect
    if sender is not None and not sender.done():
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


@pytest.fixture
def plugin_peer(lab, name):
    """``plugin_peer(device=None, prefix=...)`` -> a connected PluginPeer; all leave after the test."""
    peers: list[PluginPeer] = []

    def connect(device: Device | None = None, prefix: str = "plugin") -> PluginPeer:
        peer = network.run(_connect(lab, name(prefix), device))
        peers.append(peer)
        return peer

    yield connect
    for peer in peers:
        network.run(_disconnect(peer.xmpp))


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
    assert eventually(lambda: thing.roster.get(reader.jid) is not None
                      and thing.roster[reader.jid].subscription in ("from", "both"), WAIT)
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
        assert abs(stamp - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=WAIT)
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
