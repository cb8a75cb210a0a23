"""Benchmarks of the IoT protocols against a private lab server, each figure beside a baseline.

    .venv/bin/python benchmarks/iot.py [--quick] [--only readout,events,fleet]

Prints JSON. Every figure is measured in the same run as its baseline, raw
slixmpp between the same clients on the same server, and reported as a ratio
to it; targets are printed beside them, never asserted (shared machines are
noisy). Thing and owner share one process and so one network thread, which
pays for both ends of every exchange; the flat-out event figure is also given
with the thing in a process of its own, as things in other kernels are.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath
from timing import percentile, timed

from xiotlab import LabServer, Owner, Thing
from xiotlab.runtime import network


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def pair(lab: LabServer, tag: str) -> tuple[Owner, Thing]:
    owner = Owner(f"bench-owner-{tag}", lab=lab, timeout=30).start()
    thing = Thing(f"bench-thing-{tag}", owner=owner.jid, lab=lab, timeout=30)
    for name, value in (("temperature", 21.5), ("humidity", 40.0), ("pressure", 1013.2)):
        thing.sensor(name, unit="u")(lambda value=value: value)
    thing.sensor("level", type=float)
    thing.start()
    owner.befriend(thing.jid)
    return owner, thing


# --- readout round trip ----------------------------------------------------------


def readout(lab: LabServer, rounds: int) -> dict:
    owner, thing = pair(lab, "readout")
    ping = owner._client.stream.plugin["xep_0199"]  # the baseline: slixmpp's own ping, same two clients

    async def both():
        await owner.aread(thing.jid)  # warm: discovery, first readout
        read = await timed(lambda: owner.aread(thing.jid, ["temperature", "humidity", "pressure"]), rounds)
        pinged = await timed(lambda: ping.send_ping(thing.full_jid, timeout=10), rounds)
        return read, pinged

    read, pinged = network.run(both())
    blocking = []
    for _ in range(rounds):
        start = time.perf_counter()
        owner.read(thing.jid, ["temperature", "humidity", "pressure"])
        blocking.append(time.perf_counter() - start)
    thing.stop()
    owner.stop()
    read_ms, ping_ms = statistics.median(read) * 1e3, statistics.median(pinged) * 1e3
    return {
        "rounds": rounds,
        "read_3_fields_median_ms": round(read_ms, 3),
        "raw_slixmpp_ping_median_ms": round(ping_ms, 3),
        "ratio": round(read_ms / ping_ms, 2),
        "target_ratio_at_most": 1.3,
        "blocking_read_from_another_thread_median_ms": round(statistics.median(blocking) * 1e3, 3),
    }


# --- event throughput and latency ----------------------------------------------------


def raw_messages(owner: Owner, thing: Thing, count: int, rate: float | None) -> dict:
    """Baseline: plain slixmpp messages from the thing's client to the owner's, one reading each."""
    received: list[float] = []
    done = threading.Event()
    sent_at: dict[str, float] = {}

    def on_message(message):
        received.append(time.perf_counter() - sent_at[message["id"]])
        if len(received) == count:
            done.set()

    owner_stream = owner._client.stream
    handler = Callback("bench raw", MatchXPath("{jabber:client}message/{urn:xiotlab:bench}r"), on_message)
    owner_stream.register_handler(handler)
    thing_stream = thing._client.stream

    async def send_all():
        interval = None if rate is None else 1 / rate
        start = time.perf_counter()
        for i in range(count):
            if interval is not None:
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            message = thing_stream.make_message(mto=owner.full_jid, mtype="headline")
            message["id"] = str(i)
            payload = message.xml.makeelement("{urn:xiotlab:bench}r", {"v": str(float(i))})
            message.xml.append(payload)
            sent_at[str(i)] = time.perf_counter()
            message.send()
            if i % 200 == 0:
                await asyncio.sleep(0)  # let the loop send and receive meanwhile

    start = time.perf_counter()
    network.run(send_all())
    done.wait(120)
    elapsed = time.perf_counter() - start
    owner_stream.remove_handler("bench raw")
    return {"per_second": len(received) / elapsed, "latencies": received}


def xiotlab_readings(owner: Owner, thing: Thing, count: int, rate: float | None) -> dict:
    """Readings reported by the thing (from a cell-like thread) as received by the owner's stream."""
    stream = owner.subscribe(thing.jid, "level", buffer=count + 10)
    latencies: list[float] = []
    stream.on_data(lambda batch: latencies.extend(time.time() - f.timestamp.timestamp() for f in batch))
    interval = None if rate is None else 1 / rate
    start = time.perf_counter()
    for i in range(count):
        if interval is not None:
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        thing.report(level=float(i))
    deadline = time.perf_counter() + 120
    while stream.count < count and time.perf_counter() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    stream.close()
    return {
        "per_second": stream.count / elapsed,
        "latencies": latencies,
        "received": stream.count,
        "dropped": stream.dropped,
    }


_CHILD_THING = """
import sys, time
from xiotlab import Thing
jid, password, host, port, ca_file, owner = sys.stdin.readline().split()
thing = Thing(jid, password, host=host, port=int(port), ca_file=ca_file, owner=owner, timeout=30)
thing.sensor("level", type=float)
thing.start()
print("online", flush=True)
count = int(sys.stdin.readline())
for i in range(count):
    thing.report(level=float(i))
sys.stdin.readline()  # stay online until the parent has everything
thing.stop()
"""


def readings_from_another_process(lab: LabServer, count: int) -> dict:
    """The thing in a process of its own, as a thing in another kernel would be."""
    owner = Owner("bench-owner-process", lab=lab, timeout=30).start()
    credentials = lab.account("bench-thing-process")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD_THING], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        # Secrets go through the pipe, never the command line.
        child.stdin.write(f"{credentials.jid} {credentials.password} {lab.host} {lab.port} {lab.ca_file} {owner.jid}\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "online"
        owner.befriend(credentials.jid)
        stream = owner.subscribe(credentials.jid, "level", buffer=count + 10)
        start = time.perf_counter()
        child.stdin.write(f"{count}\n")
        child.stdin.flush()
        deadline = start + 120
        while stream.count < count and time.perf_counter() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        received = stream.count
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        owner.stop()
    return {"per_second": received / elapsed, "received": received}


def event_figures(lab: LabServer, count: int, steady_seconds: float) -> dict:
    owner, thing = pair(lab, "events")
    # Steady first, while the heap is small: a full collection of a large heap is the
    # longest pause a reading can meet, and the flat-out runs leave one behind.
    steady = 5000
    steady_count = int(steady * steady_seconds)
    raw_steady = raw_messages(owner, thing, steady_count, steady)
    ours_steady = xiotlab_readings(owner, thing, steady_count, steady)
    baseline = raw_messages(owner, thing, count, None)
    ours = xiotlab_readings(owner, thing, count, None)
    apart = readings_from_another_process(lab, count)
    thing.stop()
    owner.stop()
    ms = lambda seconds: round(seconds * 1e3, 2)  # noqa: E731
    return {
        "flat_out": {
            "readings": count,
            "readings_per_second": round(ours["per_second"]),
            "raw_slixmpp_messages_per_second": round(baseline["per_second"]),
            "ratio": round(ours["per_second"] / baseline["per_second"], 2),
            "thing_in_another_process_readings_per_second": round(apart["per_second"]),
            "thing_in_another_process_ratio": round(apart["per_second"] / baseline["per_second"], 2),
            "target_readings_per_second_at_least": 50_000,
            "dropped": ours["dropped"],
        },
        "steady_5000_per_second": {
            "seconds": steady_seconds,
            "received": ours_steady["received"],
            "p50_ms": ms(percentile(ours_steady["latencies"], 0.5)),
            "p99_ms": ms(percentile(ours_steady["latencies"], 0.99)),
            "raw_slixmpp_p50_ms": ms(percentile(raw_steady["latencies"], 0.5)),
            "raw_slixmpp_p99_ms": ms(percentile(raw_steady["latencies"], 0.99)),
            "p99_ratio": round(
                percentile(ours_steady["latencies"], 0.99) / percentile(raw_steady["latencies"], 0.99), 2
            ),
            "target_p99_ms_at_most": 100,
        },
    }


# --- a fleet of things ---------------------------------------------------------------


def fleet(lab: LabServer, size: int) -> dict:
    start = time.perf_counter()
    credentials = [lab.account(f"fleet-{size}-{i}") for i in range(size)]
    accounts_s = time.perf_counter() - start
    gc.collect()
    before = rss_bytes()
    things = [
        Thing(c.jid, c.password, host=lab.host, port=lab.port, ca_file=lab.ca_file, timeout=60, policy="accept")
        for c in credentials
    ]
    for i, thing in enumerate(things):
        thing.sensor("temperature", unit="°C")(lambda i=i: 20.0 + i % 5)

    async def all_online():
        await asyncio.gather(*(t.astart() for t in things))

    start = time.perf_counter()
    network.run(all_online())
    online_s = time.perf_counter() - start
    gc.collect()
    per_thing = (rss_bytes() - before) / size
    online = sum(t.online for t in things)

    async def all_offline():
        await asyncio.gather(*(t.astop() for t in things))

    network.run(all_offline())
    return {
        "things": size,
        "online": online,
        "seconds_until_all_online": round(online_s, 2),
        "target_seconds_for_1000_at_most": 30,
        "resident_memory_per_thing_kb": round(per_thing / 1024, 1),
        "target_kb_per_thing_at_most": 1024,
        "account_creation_seconds": round(accounts_s, 2),
    }


SECTIONS = ("fleet", "readout", "events")


def run_section(section: str, quick: bool) -> object:
    """One section, in this process, against a lab of its own."""
    with LabServer() as lab:
        if section == "fleet":
            return [fleet(lab, n) for n in ((20,) if quick else (100, 1000))]
        if section == "readout":
            return readout(lab, 50 if quick else 500)
        return event_figures(lab, 5_000 if quick else 100_000, 1 if quick else 5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--section", choices=SECTIONS, help=argparse.SUPPRESS)  # one section, in this process
    args = parser.parse_args(argv)
    if args.section:
        print(json.dumps(run_section(args.section, args.quick)))
        return 0
    results: dict = {"python": sys.version.split()[0]}
    for section in args.only.split(","):
        # Each section in a fresh process: what one leaves on the heap (a thousand clients,
        # a hundred thousand readings) must not slow the next one's collections.
        command = [sys.executable, __file__, "--section", section] + (["--quick"] if args.quick else [])
        results[section] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
