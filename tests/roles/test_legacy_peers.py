"""Legacy sensor data (``urn:xmpp:iot:sensordata``) with slixmpp 1.17's own ``xep_0323`` plugin as the peer.

A third-party implementation on a real lab server, no mocks: the plugin as a
device read by an xiotlab ``Owner``, and as a client reading an xiotlab
``Thing``. The plugin clients run on xiotlab's network loop (slixmpp is not
thread-safe) with ``threaded=False``: the plugin's worker threads would send
from outside the loop, and such sends can sit in slixmpp's queue for seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading

import pytest
import slixmpp
from slixmpp.plugins.xep_0323.device import Device
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from xiotlab import Owner, Thing
from xiotlab.errors import StanzaError
from xiotlab.protocol.namespaces import LEGACY_SENSOR_DATA, SENSOR_DATA
from xiotlab.protocol.values import Category, NodeRef, ValueType
from xiotlab.runtime import network

from .test_friendship import eventually

pytestmark = pytest.mark.integration

import os
THREADED = bool(os.environ.get("THREADED"))
WAIT = 10.0  # the longest any single wait here may take
DEVICE_TIME = "2026-01-02T03:04:05"  # the plugin's stamps are naive local time


# --- plugin peers ---------------------------------------------------------------------------------


class PluginPeer:
    """A slixmpp client with ``xep_0030`` and ``xep_0323``, on the xiotlab network loop."""

    def __init__(self, xmpp: slixmpp.ClientXMPP) -> None:
        self.xmpp = xmpp
        self.results: list[dict] = []  # what request_data's callback was given, in order
        self.iq_errors: list[slixmpp.Iq] = []
        self._changed = threading.Condition()

    @property
    def jid(self) -> str:
        return self.xmpp.boundjid.bare

    @property
    def full_jid(self) -> str:
        return self.xmpp.boundjid.full

    @property
    def plugin(self):
        return self.xmpp.plugin["xep_0323"]

    def _record(self, **result) -> None:  # request_data's callback, on the network thread
        self.results.append(result)

    def request(self, to: str, **kwargs) -> str:
        """Start a readout of ``to`` (a full JID); returns the seqnr. Results land in ``results``."""
        return network.run(self._request(to, kwargs))

    async def _request(self, to: str, kwargs: dict) -> str:
        return self.plugin.request_data(self.full_jid, to, self._record, **kwargs)

    def results_until(self, *ends: str) -> list[dict]:
        """The callback's results once one of ``ends`` came (at most WAIT seconds)."""
        assert eventually(lambda: any(r["result"] in ends for r in self.results), WAIT), (
            f"no {' or '.join(ends)} within {WAIT:g} s; got {self.results}"
        )
        return list(self.results)

    def befriend(self, jid: str) -> None:
        """Send a friend request (the peer accepts theirs on its own: auto_authorize)."""
        network.run(self._subscribe(jid))

    async def _subscribe(self, jid: str) -> None:
        self.xmpp.send_presence_subscription(pto=jid)


async def _connect(lab, name: str, device: Device | None) -> PluginPeer:
    account = lab.account(name)
    xmpp = slixmpp.ClientXMPP(account.jid, account.password, loop=asyncio.get_running_loop())
    xmpp.enable_direct_tls = False
    xmpp.ca_certs = str(lab.ca_file)
    xmpp.register_plugin("xep_0030")
    xmpp.register_plugin("xep_0323", pconfig={"threaded": THREADED})
    if device is not None:
        xmpp.plugin["xep_0323"].register_node(device.nodeId, device, commTimeout=5)
    peer = PluginPeer(xmpp)
    # Every iq error that reaches the peer, whether or not the plugin hands it to a callback.
    xmpp.register_handler(Callback("test: iq errors", StanzaPath("iq@type=error"), peer.iq_errors.append))
    outcome = asyncio.get_running_loop().create_future()

    def settle(result):
        if not outcome.done():
            outcome.set_result(result)

    xmpp.add_event_handler("session_start", lambda _: settle(None))
    xmpp.add_event_handler("failed_auth", lambda _: settle("authentication failed"))
    xmpp.add_event_handler("connection_failed", lambda e: settle(f"connection failed: {e}"))
    xmpp.connect(lab.host, lab.port)
    try:
        failure = await asyncio.wait_for(outcome, WAIT)
    except asyncio.TimeoutError:
        failure = f"not online within {WAIT:g} s"
    if failure is not None:
        await _disconnect(xmpp)
        raise AssertionError(f"plugin peer {account.jid}: {failure}")
    await xmpp.get_roster(timeout=WAIT)
    xmpp.send_presence()
    return peer


async def _disconnect(xmpp: slixmpp.ClientXMPP) -> None:
    try:
        await asyncio.wait_for(xmpp.disconnect(wait=1.0), WAIT / 2)
    except asyncio.TimeoutError:
        xmpp.abort()
    xmpp.cancel_connection_attempt()
    sender = xmpp._run_out_filters
    if sender is not None and not sender.done():
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


@pytest.fixture
def plugin_peer(lab, name):
    """``plugin_peer(device=None)`` -> a connected PluginPeer; all are disconnected after the test."""
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
    device._add_field_momentary_data("temperature", "21.5")
    device._add_field_momentary_data("label", "kitchen <north> & co")
    device._add_field_momentary_data("on", "true")
    device._set_momentary_timestamp(DEVICE_TIME)
    return device


def disco_features(owner: Owner, full_jid: str) -> set[str]:
    info = owner.send_iq(full_jid, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    return {f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")}


# --- the plugin as a device, read by an xiotlab owner ------------------------------------------------


@pytest.fixture
def device_and_owner(online, name, plugin_peer):
    """A plugin device and an xiotlab owner, friends (the plugin accepts friend requests by default)."""
    device = plugin_peer(make_device(), prefix="plugindev")
    alice = online(Owner, name("alice"))
    alice.befriend(device.jid)
    assert eventually(lambda: alice.roster[device.jid].online, WAIT)
    return device, alice


def test_plugin_device_advertises_only_the_legacy_namespace(device_and_owner):
    device, alice = device_and_owner
    features = disco_features(alice, device.full_jid)
    assert LEGACY_SENSOR_DATA in features and SENSOR_DATA not in features


def test_owner_reads_a_plugin_device(device_and_owner):
    device, alice = device_and_owner
    readout = alice.read(device.jid)
    assert readout.namespace == LEGACY_SENSOR_DATA
    assert sorted(readout.names) == ["label", "on", "temperature"]
    temperature, label, on = readout["temperature"], readout["label"], readout["on"]
    assert (temperature.type, temperature.value, temperature.unit) == (ValueType.QUANTITY, 21.5, "°C")
    assert (label.type, label.value, label.unit) == (ValueType.STRING, "kitchen <north> & co", None)
    assert (on.type, on.value) == (ValueType.BOOLEAN, True)
    local = dt.datetime.strptime(DEVICE_TIME, "%Y-%m-%dT%H:%M:%S").astimezone()
    for field in readout:
        assert field.timestamp == local, field.name
        assert field.node == NodeRef("meter-1") and field.categories == Category.MOMENTARY, field.name
    assert not readout.errors


def test_owner_reads_one_field_of_a_plugin_device(device_and_owner):
    device, alice = device_and_owner
    assert alice.read(device.jid, fields="temperature").names == ["temperature"]


# --- the plugin as a client, reading an xiotlab thing --------------------------------------------------


def make_thing(lab, name, **options) -> Thing:
    thing = Thing(name("thermo"), lab=lab, timeout=5, **options)

    @thing.sensor("temperature", unit="°C", decimals=1)
    def temperature():
        return 21.46

    thing.sensor("label", type=str)(lambda: "kitchen <north> & co")
    thing.sensor("on")(lambda: True)
    return thing


def test_plugin_client_reads_a_thing(lab, online, name, plugin_peer):
    thing = online(make_thing(lab, name, policy="accept"))
    reader = plugin_peer()
    reader.befriend(thing.jid)
    assert eventually(lambda: thing.roster.get(reader.jid) is not None
                      and thing.roster[reader.jid].subscription in ("from", "both"), WAIT)
    seqnr = reader.request(thing.full_jid, flags={"momentary": "true"})
    results = reader.results_until("done", "failure", "rejected")
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


def test_plugin_stranger_gets_an_error_and_no_data(lab, online, name, plugin_peer):
    alice = online(Owner, name("alice"))
    thing = online(make_thing(lab, name, owner=alice.jid))
    stranger = plugin_peer(prefix="stranger")
    stranger.request(thing.full_jid, flags={"momentary": "true"})
    assert eventually(lambda: stranger.iq_errors, WAIT), "the thing did not answer the stranger"
    error = stranger.iq_errors[0]
    assert str(error["from"]) == thing.full_jid and error["error"]["condition"] == "forbidden"
    assert "21.5" not in str(error) and "temperature" not in str(error)
    assert not [r for r in stranger.results if r["result"] in ("accepted", "fields", "done")]


def test_probe_rejection(device_and_owner):
    device, alice = device_and_owner
    try:
        alice.read(device.jid, fields="nope")
    except Exception as e:
        print("RAISED", type(e), repr(e))
    print([e.xml for e in alice.trace if e.direction == "in"][-1:])


def test_probe_timing(device_and_owner):
    import time
    device, alice = device_and_owner
    for i in range(5):
        t = time.monotonic()
        try:
            alice.read(device.jid)
        except Exception as e:
            print("FAILED", e)
            for entry in alice.trace:
                print(entry.direction, entry.xml[:400])
            raise
        print("read took", round(time.monotonic() - t, 3))
