"""The MQTT bridge's throughput and latency, each beside a plain MQTT subscriber receiving the same messages.

    .venv/bin/python benchmarks/mqtt.py [--messages 2000] [--samples 300] [--json]

An ephemeral lab with its private broker (``LabServer(mqtt=True)``), an owner, and an
:class:`~xiotlab.bridges.MqttBridge` the owner befriended and subscribed to (one node, no
change threshold). A paho-mqtt publisher sends JSON ``{"seq": i, "t": send time}`` to one
topic; a paho-mqtt subscriber on the same broker (its own network thread, as
``mosquitto_sub`` would be) receives the same messages in the same run: it is the baseline.

* throughput: ``--messages`` published as fast as paho sends them; messages per second
  from the first publish to the last arrival, at the owner (bridged into subscription
  events over XMPP) and at the plain subscriber, and their ratio (owner / subscriber);
* latency: ``--samples`` messages 5 ms apart; p50 and p99 from publish to arrival at the owner
  and at the plain subscriber, and their ratios (owner / subscriber).

Ratios, not milliseconds, are the figures to compare between machines; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import paho.mqtt.client as paho

from xiotlab import LabServer, Owner
from xiotlab.bridges import MqttBridge

TOPIC = "bench/meter"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Arrivals:
    """When each sequence number arrived, per receiver."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}
        self.sent: dict[int, float] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.expect = -1

    def arrived(self, seq: int, sent: float) -> None:
        now = time.perf_counter()
        with self.lock:
            self.times.setdefault(seq, now)
            self.sent[seq] = sent
            if seq == self.expect:
                self.done.set()

    def reset(self, expect: int) -> None:
        with self.lock:
            self.times.clear()
            self.sent.clear()
            self.expect = expect
            self.done.clear()


def paho_client(port: int, name: str) -> paho.Client:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=name)
    client.connect("127.0.0.1", port)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with LabServer(mqtt=True) as lab:
        owner = Owner("bench-owner", lab=lab, timeout=30).start()
        bridge = MqttBridge("bench-bridge", lab=lab, owner=owner.jid, topics=("bench/#",), timeout=30).start()
        owner.befriend(bridge.jid)
        port = lab.mqtt_port
        assert port is not None

        at_owner, at_plain = Arrivals(), Arrivals()
        publisher = paho_client(port, "bench-publisher")
        publisher.loop_start()
        publisher.publish(TOPIC, json.dumps({"seq": -1, "t": time.perf_counter()})).wait_for_publish(10)
        deadline = time.monotonic() + 10
        while bridge.find(TOPIC, source="mqtt") is None and time.monotonic() < deadline:
            time.sleep(0.01)

        plain = paho_client(port, "bench-subscriber")

        def on_message(_client, _userdata, message) -> None:
            data = json.loads(message.payload)
            at_plain.arrived(data["seq"], data["t"])

        plain.on_message = on_message
        plain.subscribe(TOPIC)
        plain.loop_start()

        stream = owner.subscribe(bridge.jid, nodes=[TOPIC], buffer=10)

        @stream.on_data
        def on_fields(fields) -> None:
            # A batch may hold several messages' fields: those of one message share its timestamp.
            messages: dict[object, dict[str, object]] = {}
            for f in fields:
                if f.node is not None and f.node.id == TOPIC:
                    messages.setdefault(f.timestamp, {})[f.name] = f.value
            for values in messages.values():
                if "seq" in values and "t" in values:
                    at_owner.arrived(int(values["seq"]), float(values["t"]))  # type: ignore[call-overload]

        time.sleep(0.5)

        # Throughput: a burst.
        n = args.messages
        at_owner.reset(n - 1)
        at_plain.reset(n - 1)
        start = time.perf_counter()
        for i in range(n):
            publisher.publish(TOPIC, json.dumps({"seq": i, "t": time.perf_counter()}))
        at_plain.done.wait(60)
        at_owner.done.wait(120)
        time.sleep(0.2)

        def rate(arrivals: Arrivals) -> tuple[int, float]:
            if not arrivals.times:
                return 0, 0.0
            return len(arrivals.times), len(arrivals.times) / (max(arrivals.times.values()) - start)

        owner_count, owner_rate = rate(at_owner)
        plain_count, plain_rate = rate(at_plain)

        # Latency: a steady pace.
        at_owner.reset(n + args.samples - 1)
        at_plain.reset(n + args.samples - 1)
        for i in range(n, n + args.samples):
            publisher.publish(TOPIC, json.dumps({"seq": i, "t": time.perf_counter()}))
            time.sleep(0.005)
        at_plain.done.wait(30)
        at_owner.done.wait(30)
        time.sleep(0.2)

        def latencies(arrivals: Arrivals) -> list[float]:
            return [arrivals.times[s] - arrivals.sent[s] for s in arrivals.times]

        owner_lat, plain_lat = latencies(at_owner), latencies(at_plain)
        stream.close()
        for client in (plain, publisher):
            client.loop_stop()
            client.disconnect()
        bridge.stop()
        owner.stop()

    ms = lambda seconds: round(seconds * 1e3, 2)  # noqa: E731
    result = {
        "messages": n,
        "owner_received": owner_count,
        "plain_received": plain_count,
        "owner_per_second": round(owner_rate),
        "plain_per_second": round(plain_rate),
        "throughput_ratio": round(owner_rate / plain_rate, 3) if plain_rate else None,
        "samples": args.samples,
        "owner_p50_ms": ms(percentile(owner_lat, 0.5)),
        "owner_p99_ms": ms(percentile(owner_lat, 0.99)),
        "plain_p50_ms": ms(percentile(plain_lat, 0.5)),
        "plain_p99_ms": ms(percentile(plain_lat, 0.99)),
        "p50_ratio": round(percentile(owner_lat, 0.5) / percentile(plain_lat, 0.5), 2),
        "p99_ratio": round(percentile(owner_lat, 0.99) / percentile(plain_lat, 0.99), 2),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{'':28}{'owner (bridge, XMPP)':>22}{'MQTT subscriber':>18}{'ratio':>8}")
    print(
        f"{'messages/s (burst of ' + str(n) + ')':28}{result['owner_per_second']:>22}"
        f"{result['plain_per_second']:>18}{result['throughput_ratio']:>8}"
    )
    print(f"{'received':28}{owner_count:>22}{plain_count:>18}")
    print(f"{'p50 latency ms':28}{result['owner_p50_ms']:>22}{result['plain_p50_ms']:>18}{result['p50_ratio']:>8}")
    print(f"{'p99 latency ms':28}{result['owner_p99_ms']:>22}{result['plain_p99_ms']:>18}{result['p99_ratio']:>8}")


if __name__ == "__main__":
    main()
