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

import asyncio
import gc
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath
from timing import pair, percentile, rss_kb, run_sections, timed

from xiotlab import LabServer, Owner, Thing
from xiotlab.runtime import network
from xiotlab.runtime.xmpp import tls_context

# --- readout round trip ----------------------------------------------------------


def readout(lab: LabServer, rounds: int) -> dict:
    owner, thing = pair(lab, "readout")
    ping = owner._client.stream.plugin["xep_0199"]  # the baseline: slixmpp's own ping, same two clients

    async def both():
        await owner.aread(thing.jid)  # warm: discovery, first readout
        read, pinged = [], []
        # Taken turn about, so that whatever else the machine does weighs on both alike.
        for _ in range(rounds):
            read += await timed(lambda: owner.aread(thing.jid, ["temperature", "humidity", "pressure"]), 1)
            pinged += await timed(lambda: ping.send_ping(thing.full_jid, timeout=10), 1)
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
        "target_ratio_at_most": 1.15,
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
jid, password, host, port, ca_file, owner, channels = sys.stdin.readline().split()
names = ["level"] if channels == "1" else [f"ch{c}" for c in range(int(channels))]
thing = Thing(jid, password, host=host, port=int(port), ca_file=ca_file, owner=owner, timeout=30)
for name in names:
    thing.sensor(name, type=float)
thing.start()
print("online", flush=True)
count = int(sys.stdin.readline()) // len(names)
for i in range(count):
    value = float(i)
    thing.report({name: value for name in names})
sys.stdin.readline()  # stay online until the parent has everything
thing.stop()
"""


def readings_from_another_process(lab: LabServer, count: int, channels: int = 1) -> dict:
    """The thing in a process of its own, as a thing in another kernel would be.

    ``channels`` > 1: each report carries that many fields (a vibration sensor's axes, say).
    """
    tag = f"process-{channels}"
    owner = Owner(f"bench-owner-{tag}", lab=lab, timeout=30).start()
    credentials = lab.account(f"bench-thing-{tag}")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD_THING], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        # Secrets go through the pipe, never the command line.
        child.stdin.write(
            f"{credentials.jid} {credentials.password} {lab.host} {lab.port} {lab.ca_file} {owner.jid} {channels}\n"
        )
        child.stdin.flush()
        assert child.stdout.readline().strip() == "online"
        owner.befriend(credentials.jid)
        stream = owner.subscribe(credentials.jid, buffer=count + 10)
        start = time.perf_counter()
        child.stdin.write(f"{count}\n")
        child.stdin.flush()
        deadline = start + 120
        while stream.count < count and time.perf_counter() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        received = stream.count
        lost = stream.dropped
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        owner.stop()
    return {"per_second": received / elapsed, "received": received, "dropped": lost}


def slow_consumer(owner: Owner, thing: Thing, buffers: tuple[int, int]) -> dict:
    """Memory a stream nobody reads holds, filled to its buffer and beyond (the oldest go).

    Counted by tracemalloc (Python's own allocations), not resident memory: freed memory that the
    allocator keeps for later would hide what the buffer holds. Two buffer sizes fed the same readings,
    so that what both runs hold alike (the traces, bounded by their own limits) drops out of the figure.
    """
    held = {}
    small, large = buffers
    sent = 3 * large  # the same for both: all but what each buffer keeps is alike
    for buffer in buffers:
        gc.collect()
        tracemalloc.start()
        stream = owner.subscribe(thing.jid, "level", buffer=buffer)
        for i in range(sent):
            thing.report(level=float(i))
        deadline = time.perf_counter() + 120
        while stream.count < sent and time.perf_counter() < deadline:
            time.sleep(0.01)
        gc.collect()
        held[buffer] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        kept, dropped = len(stream.drain()), stream.dropped
        stream.close()
    return {
        "buffer": large,
        "readings_sent": sent,
        "kept": kept,
        "dropped": dropped,
        "memory_per_1000_buffered_kb": round((held[large] - held[small]) / ((large - small) / 1000) / 1024, 1),
    }


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
    channels = readings_from_another_process(lab, count, channels=10)
    memory = slow_consumer(owner, thing, (min(count, 20_000) // 4, min(count, 20_000)))
    thing.stop()
    owner.stop()
    ms = lambda seconds: round(seconds * 1e3, 2)  # noqa: E731
    ratio = lambda ours, raw: round(ours["per_second"] / raw["per_second"], 2)  # noqa: E731
    return {
        "flat_out": {
            "readings": count,
            "raw_slixmpp_messages_per_second": round(baseline["per_second"]),
            "thing_in_another_process_readings_per_second": round(apart["per_second"]),
            "thing_in_another_process_ratio": ratio(apart, baseline),
            "thing_in_another_process_dropped": apart["dropped"],
            "target_readings_per_second_at_least": 100_000,
            "ten_fields_a_report_readings_per_second": round(channels["per_second"]),
            "ten_fields_a_report_ratio": ratio(channels, baseline),
            "same_process_readings_per_second": round(ours["per_second"]),
            "same_process_ratio": ratio(ours, baseline),
            "same_process_target_at_least": 60_000,
            "dropped": ours["dropped"] + channels["dropped"],
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
            "target_p50_ms_at_most": 5,
            "target_p99_ms_at_most": 20,
        },
        "slow_consumer": memory,
    }


# --- a fleet of things ---------------------------------------------------------------


STARTING_AT_ONCE = 200  # things logging in at the same time: the rest wait their turn


async def bounded(calls, limit: int = STARTING_AT_ONCE) -> None:
    """Await every coroutine of ``calls``, at most ``limit`` at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(call):
        async with gate:
            await call

    await asyncio.gather(*(one(call) for call in calls))


def raw_logins(lab: LabServer, credentials: list) -> dict:
    """Baseline: plain slixmpp clients logging in (TLS, SCRAM, bind), as many as the fleet, same limit."""
    gc.collect()
    before = rss_kb() * 1024
    clients = []

    async def login(credential):
        client = slixmpp.ClientXMPP(
            credential.jid, credential.password, loop=network.loop, ssl_context=tls_context(lab.ca_file)
        )
        client.enable_plaintext = False
        online = asyncio.get_running_loop().create_future()
        client.add_event_handler("session_start", lambda _: online.done() or online.set_result(None))
        client.connect(lab.host, lab.port)
        await asyncio.wait_for(online, 60)
        clients.append(client)

    start = time.perf_counter()
    network.run(bounded(login(c) for c in credentials))
    seconds = time.perf_counter() - start
    gc.collect()
    per_client = (rss_kb() * 1024 - before) / len(credentials)

    async def leave():
        await asyncio.gather(*(c.disconnect() for c in clients))
        senders = [c._run_out_filters for c in clients if c._run_out_filters is not None]  # slixmpp leaves them
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    network.run(leave())
    return {"seconds": seconds, "kb_each": per_client / 1024}


def fleet(lab: LabServer, size: int, asked: int = 20) -> dict:
    start = time.perf_counter()
    credentials = [lab.account(f"fleet-{size}-{i}") for i in range(size)]
    accounts_s = time.perf_counter() - start
    baseline = raw_logins(lab, credentials)
    gc.collect()
    before = rss_kb() * 1024
    things = [
        Thing(c.jid, c.password, host=lab.host, port=lab.port, ca_file=lab.ca_file, timeout=60, policy="accept")
        for c in credentials
    ]
    for i, thing in enumerate(things):
        thing.sensor("temperature", unit="°C")(lambda i=i: 20.0 + i % 5)

    start = time.perf_counter()
    network.run(bounded(t.astart() for t in things))
    online_s = time.perf_counter() - start
    gc.collect()
    per_thing = (rss_kb() * 1024 - before) / size
    online = sum(t.online for t in things)
    answered = asked_and_answered(lab, things[:: max(1, size // asked)][:asked])
    network.run(bounded(t.astop() for t in things))
    return {
        "things": size,
        "online": online,
        "seconds_until_all_online": round(online_s, 2),
        "raw_slixmpp_logins_seconds": round(baseline["seconds"], 2),
        "ratio": round(online_s / baseline["seconds"], 2),
        "target_seconds_for_1000_at_most": 8,
        "resident_memory_per_thing_kb": round(per_thing / 1024, 1),
        "raw_slixmpp_client_kb": round(baseline["kb_each"], 1),
        "target_kb_per_thing_at_most": 300,
        "read_after_start": answered,
        "account_creation_seconds": round(accounts_s, 2),
    }


def asked_and_answered(lab: LabServer, things: list[Thing]) -> str:
    """An owner befriends some of the fleet and reads each: how many answered, of how many asked."""
    owner = Owner("fleet-owner", lab=lab, timeout=60).start()
    answered = 0
    for thing in things:
        try:
            owner.befriend(thing.jid)
            answered += owner.read(thing.jid)["temperature"].value is not None
        except Exception as error:  # a figure, not a test: say what failed
            print(f"{thing.jid}: {error}", file=sys.stderr)
    owner.stop()
    return f"{answered}/{len(things)}"


SECTIONS = ("fleet", "readout", "events")


def run_section(section: str, quick: bool) -> object:
    """One section, in this process, against a lab of its own."""
    with LabServer() as lab:
        if section == "fleet":
            return [fleet(lab, n) for n in ((20,) if quick else (100, 1000, 5000))]
        if section == "readout":
            return readout(lab, 50 if quick else 500)
        return event_figures(lab, 5_000 if quick else 100_000, 1 if quick else 5)


def main(argv: list[str] | None = None) -> int:
    return run_sections(__file__, __doc__, SECTIONS, run_section, argv)


if __name__ == "__main__":
    sys.exit(main())
