"""The MQTT bridge against real mosquitto and real Prosody: third-party clients in, owners' sets out.

Each test bridges its own topic prefix of one shared broker (retained messages of other tests
stay out of sight); the broker-restart and credentials tests run brokers of their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as paho
import pytest

from tests.waiting import eventually
from xiotlab import Owner
from xiotlab.bridges import MqttBridge
from xiotlab.bridges.mqtt import MAX_FIELDS_PER_NODE
from xiotlab.errors import AuthenticationFailed, CannotConnect, StanzaError
from xiotlab.runtime import network
from xiotlab.server import process
from xiotlab.server.mosquitto import Broker
from xiotlab.sim import SmartPlug, WeatherStation

pytestmark = pytest.mark.integration  # starts mosquitto itself


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with_broker = Broker(tmp_path_factory.mktemp("mqtt")).start()
    yield with_broker
    with_broker.stop()


@pytest.fixture
def prefix():
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def owner(online, name):
    return online(Owner, name("alice"))


@pytest.fixture
def bridged(lab, owner, online, name, broker, prefix):
    """``bridged(**options)``: a bridge of ``prefix/#`` on the shared broker, befriended by ``owner``."""

    def make(**options):
        options.setdefault("broker", broker.url)
        bridge = MqttBridge(name("bridge"), topics=(f"{prefix}/#",), owner=owner.jid, lab=lab, timeout=5, **options)
        online(bridge)
        owner.befriend(bridge.jid)
        return bridge

    return make


def pub(broker, topic, message, *extra):
    subprocess.run(
        ["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-m", message, *extra], check=True, timeout=10
    )


def paho_client(broker):
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"paho-{uuid.uuid4().hex[:6]}")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def latest(bridge, node_id, field="value"):
    node = bridge.find(node_id, source="mqtt")
    if node is None or field not in node.sensors:
        return None
    return node.history(field)[-1].value


def test_mosquitto_pub_json_reaches_an_owners_read_as_fields_of_its_node(bridged, owner, broker, prefix):
    bridge = bridged()
    topic = f"{prefix}/home/garden/weather"
    pub(broker, topic, json.dumps({"temperature": 21.3, "humidity": 40, "wind": {"speed": 3.2}}))
    assert eventually(lambda: latest(bridge, topic, "wind.speed") == 3.2)

    readout = owner.read(bridge.jid, nodes=[topic])
    weather = readout.node(topic)
    assert weather["temperature"].value == 21.3
    assert weather["humidity"].value == 40
    assert weather["wind.speed"].value == 3.2
    assert {(f.node.id, f.node.source) for f in readout} == {(topic, "mqtt")}

    tree = owner.nodes(bridge.jid)
    leaf = tree.find(topic)
    assert leaf.display_name == "weather" and leaf.parent_id == f"{prefix}/home/garden"
    assert [n.id for n in tree.roots()] == [prefix]


def test_a_paho_clients_messages_reach_an_owners_subscription(bridged, owner, broker, prefix):
    bridge = bridged()
    topic = f"{prefix}/kitchen/temperature"
    client = paho_client(broker)
    try:
        client.publish(topic, "20.0 °C").wait_for_publish(5)
        assert eventually(lambda: latest(bridge, topic) == 20.0)
        with owner.subscribe(bridge.jid, nodes=[topic]) as stream:
            client.publish(topic, "22.5 °C").wait_for_publish(5)
            field = None
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                field = stream.get(timeout=1)
                if field is not None and field.value == 22.5:
                    break
            assert field is not None and field.value == 22.5 and field.unit == "°C"
            assert field.node.id == topic and field.node.source == "mqtt"
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_retained_message_is_the_current_value_from_the_start(bridged, owner, broker, prefix):
    topic = f"{prefix}/door"
    pub(broker, topic, "OFF", "-r")
    bridge = bridged()
    assert eventually(lambda: latest(bridge, topic) is False)
    assert owner.read(bridge.jid, nodes=topic).node(topic)["value"].value is False


class Listener:
    """mosquitto_sub on ``topic`` in the background (line-buffered), its output lines collected as they come."""

    def __init__(self, broker, topic):
        self.process = subprocess.Popen(
            ["stdbuf", "-oL", "mosquitto_sub", "-p", str(broker.port), "-t", topic, "-d"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read)
        self.reader.start()
        assert eventually(lambda: any("SUBACK" in line for line in self.lines)), self.lines

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def close(self):
        self.process.terminate()
        self.process.wait(5)
        self.reader.join(5)


def test_an_owners_set_is_published_and_reaches_mosquitto_sub(bridged, owner, broker, prefix):
    bridge = bridged()
    topic = f"{prefix}/plug/set"
    pub(broker, topic, "on")
    assert eventually(lambda: latest(bridge, topic) is True)

    listener = Listener(broker, topic)
    try:
        owner.set(bridge.jid, {"value": "off"}, node=topic)
        assert eventually(lambda: "off" in listener.lines), listener.lines
    finally:
        listener.close()
    assert eventually(lambda: latest(bridge, topic) is False), "the bridge sees what it published, as any client"

    # `retain` in the same set counts whichever comes first: a client subscribing later gets the value.
    owner.set(bridge.jid, {"value": "kept", "retain": True}, node=topic)
    assert eventually(lambda: latest(bridge, topic) == "kept")
    later = subprocess.run(
        ["mosquitto_sub", "-p", str(broker.port), "-t", topic, "-C", "1", "-W", "5"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert later.stdout.strip() == "kept"
    pub(broker, topic, "", "-r")  # clear the retained message


def test_a_declared_topic_takes_a_set_before_any_message_reached_it(bridged, owner, broker, prefix):
    bridge = bridged()
    topic = f"{prefix}/valve/set"
    with pytest.raises(StanzaError):
        owner.set(bridge.jid, {"value": "open"}, node=topic)  # nobody published there: no node yet
    node = bridge.topic(topic)
    assert node.id == topic and bridge.topic(topic) is node
    listener = Listener(broker, topic)
    try:
        owner.set(bridge.jid, {"value": "open"}, node=topic)
        assert eventually(lambda: "open" in listener.lines), listener.lines
    finally:
        listener.close()


def test_a_topic_keeps_a_bounded_number_of_fields(bridged, prefix):
    bridge = bridged()
    topic = f"{prefix}/by-time"
    for n in range(MAX_FIELDS_PER_NODE + 50):  # a device keying its JSON by time: a new name each message
        network.do(bridge._on_message, topic, json.dumps({f"t{n}": n}).encode())
    node = bridge.find(topic)
    assert node is not None and len(node.sensors) == MAX_FIELDS_PER_NODE
    assert bridge.stats["fields_dropped"] >= 50


def test_the_bridge_comes_back_after_a_broker_restart(lab, owner, online, name, tmp_path):
    own = Broker(tmp_path).start()
    try:
        bridge = online(MqttBridge(name("bridge"), broker=own.url, lab=lab, owner=owner.jid, timeout=5))
        pub(own, "room/temp", "20")
        assert eventually(lambda: latest(bridge, "room/temp") == 20)
        own.stop()
        assert eventually(lambda: not bridge.broker_connected)
        own.start()  # the same home: the same port
        assert eventually(lambda: bridge.broker_connected, 15), "the bridge reconnects by itself"
        pub(own, "room/temp", "21")
        assert eventually(lambda: latest(bridge, "room/temp") == 21)
        assert bridge.stats["connections"] == 2
    finally:
        own.stop()


def test_bad_input_becomes_text_or_is_counted_never_lost_or_crashing(bridged, owner, broker, prefix):
    bridge = bridged()
    pub(broker, f"{prefix}/bad/json", '{"temperature": 21.5,')
    client = paho_client(broker)
    try:
        client.publish(f"{prefix}/bad/binary", bytes(range(200))).wait_for_publish(5)
        client.publish(f"{prefix}/bad//empty", "1").wait_for_publish(5)
        client.publish(f"{prefix}/bad/many", json.dumps({f"k{i}": i for i in range(100)})).wait_for_publish(5)
        client.publish(f"{prefix}/bad/after", "fine").wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()
    assert eventually(lambda: latest(bridge, f"{prefix}/bad/after") == "fine")
    assert latest(bridge, f"{prefix}/bad/json") == '{"temperature": 21.5,'
    assert latest(bridge, f"{prefix}/bad/binary").startswith("binary, 200 bytes: 000102")
    assert latest(bridge, f"{prefix}/bad//empty") == 1
    assert bridge.find(f"{prefix}/bad/", source="mqtt").display_name == "(empty)"
    assert bridge.stats["fields_dropped"] == 100 - 64

    # Brokers refuse to publish to topics with wildcards; fed in as if one had passed one on anyway:
    network.do(bridge._on_message, f"{prefix}/odd/+/#", b"3")
    network.do(bridge._on_message, "", b"3")
    assert latest(bridge, f"{prefix}/odd/+/#") == 3
    assert bridge.stats["dropped"] == 1

    readout = owner.read(bridge.jid, nodes=[f"{prefix}/bad/binary", f"{prefix}/bad/json"])
    assert {n.id for n in readout.nodes} == {f"{prefix}/bad/binary", f"{prefix}/bad/json"}


def test_a_node_that_does_not_exist_is_a_clear_error(bridged, owner, prefix):
    bridge = bridged()
    readout = owner.read(bridge.jid, nodes=[f"{prefix}/nowhere"])
    assert readout.errors and f"{prefix}/nowhere" in str(readout.errors[0])
    with pytest.raises(StanzaError, match="nowhere"):
        owner.set(bridge.jid, {"value": "x"}, node=f"{prefix}/nowhere")
    with pytest.raises(KeyError, match="no MQTT topic"):
        bridge.topic_of(f"{prefix}/nowhere")


def test_past_max_nodes_messages_are_counted_not_bridged(bridged, broker, prefix):
    bridge = bridged(max_nodes=12)
    client = paho_client(broker)
    try:
        for i in range(30):
            client.publish(f"{prefix}/many/{i:02d}", str(i)).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()
    assert eventually(lambda: bridge.stats["dropped"] == 20)
    assert len(bridge.nodes) == 12 and bridge.stats["nodes"] == 12


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.timeout(300)
def test_ten_thousand_topics_with_memory_bounded(bridged, broker, prefix):
    bridge = bridged()
    before = _rss_mb()
    client = paho_client(broker)
    try:
        for i in range(10_000):
            client.publish(f"{prefix}/fleet/{i // 100:03d}/{i % 100:02d}", json.dumps({"t": i, "ok": True}))
        client.publish(f"{prefix}/done", "1").wait_for_publish(30)
        assert eventually(lambda: latest(bridge, f"{prefix}/done") == 1, 120)
    finally:
        client.loop_stop()
        client.disconnect()
    assert bridge.stats["messages"] == 10_001
    assert bridge.stats["nodes"] == 1 + 1 + 100 + 10_000 + 1
    grown = _rss_mb() - before
    print(f"10,000 topics: RSS grew {grown:.0f} MB")
    assert grown < 400, f"10,000 one-message topics took {grown:.0f} MB"
    assert latest(bridge, f"{prefix}/fleet/099/99", "t") == 9999


def test_a_broker_that_is_not_there_is_a_clear_error_and_leaves_nothing_running(lab, owner, name):
    before = {t.name for t in threading.enumerate()}
    port = process.free_port("127.0.0.1")
    bridge = MqttBridge(name("bridge"), broker=f"127.0.0.1:{port}", lab=lab, owner=owner.jid, timeout=3)
    with pytest.raises(CannotConnect, match=f"mqtt://127.0.0.1:{port}"):
        bridge.start()
    assert not bridge.online and not bridge.broker_connected

    async def bridge_tasks():
        return [t for t in asyncio.all_tasks() if "_serve" in repr(t.get_coro())]

    assert network.run(bridge_tasks()) == []
    new = {t.name for t in threading.enumerate()} - before
    assert all(n.startswith(("xiotlab-worker", "xiotlab-network")) for n in new), new


def test_credentials_are_used_and_never_shown(lab, owner, name, tmp_path):
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "meter", "s3cret-Pa55"], check=True)
    port = process.free_port("127.0.0.1")
    config = tmp_path / "auth.conf"
    as_root = "user root\n" if os.geteuid() == 0 else ""  # else mosquitto becomes `mosquitto`, who cannot read tmp_path
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n{as_root}")
    server = process.spawn(
        ["mosquitto", "-c", str(config)], log=tmp_path / "auth.log", cwd=tmp_path, tied_to_this_process=True
    )
    try:
        assert process.listening(server, "127.0.0.1", port, 10)
        wrong = MqttBridge(name("bridge"), broker=f"mqtt://127.0.0.1:{port}", lab=lab, username="meter",
                           password="wrong", timeout=3)  # fmt: skip
        with pytest.raises(AuthenticationFailed):
            wrong.start()
        right = MqttBridge(name("bridge"), broker=f"mqtt://meter:s3cret-Pa55@127.0.0.1:{port}", lab=lab,
                           owner=owner.jid, timeout=5)  # fmt: skip
        try:
            right.start()
            assert right.broker_connected
            for shown in (repr(right), right.broker, str(right.stats)):
                assert "s3cret" not in shown
        finally:
            right.stop()
    finally:
        process.stop(server)


def test_simulated_mqtt_devices_show_through_the_bridge(bridged, owner, broker, prefix):
    bridge = bridged()
    station = WeatherStation(f"{prefix}/garden/weather", broker=broker.url, interval=0.2, speed=600, seed=1)
    plug = SmartPlug(f"{prefix}/living/plug", broker=broker.url, interval=0.2)
    with station, plug:
        assert eventually(lambda: latest(bridge, f"{prefix}/garden/weather", "wind.direction") is not None)
        assert eventually(lambda: latest(bridge, f"{prefix}/living/plug", "on") is True)
        plug_set = f"{prefix}/living/plug/set"
        bridge.publish(plug_set, "off")  # the node of the set topic appears with the first message on it
        assert eventually(lambda: latest(bridge, f"{prefix}/living/plug", "on") is False)
        owner.set(bridge.jid, {"value": "on"}, node=plug_set)
        assert eventually(lambda: latest(bridge, f"{prefix}/living/plug", "on") is True)
        assert eventually(lambda: latest(bridge, f"{prefix}/living/plug", "power") > 0)
    assert not station.running and not plug.running


def test_stop_ends_the_mqtt_client_and_leaves_no_task(lab, owner, name, broker):
    bridge = MqttBridge(name("bridge"), broker=broker.url, lab=lab, owner=owner.jid, timeout=5).start()
    assert bridge.broker_connected
    bridge.stop()
    assert not bridge.broker_connected and not bridge.online

    async def leftovers():
        return [t for t in asyncio.all_tasks() if "aiomqtt" in repr(t.get_coro()) or "_serve" in repr(t.get_coro())]

    assert eventually(lambda: network.run(leftovers()) == [])
    bridge.stop()  # twice is fine
