"""Soak: many things reporting for minutes, the lab server killed and restarted in the middle.

    .venv/bin/python benchmarks/soak.py [--things 100] [--rate 10] [--minutes 10] [--down 2]

Things and one owner run in this process on a private lab; each thing reports
a counter ``rate`` times a second and the owner subscribes to all of them.
Halfway through, the server is killed (SIGKILL: no goodbye) and started again
``down`` seconds later. Prints JSON: resident memory at start, before the kill
and at the end; per-thing counts received; values lost outside the recorded
gaps (the counters received after each stream's gap closed must run without a
hole to the end); how long the participants took to come back, measured from
the server's return. A baseline: the same count of readings sent in the same
time without any outage, from the first half.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import time
from pathlib import Path

from xiotlab import LabServer, Owner, Stream, Thing
from xiotlab.runtime.connection import State


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def wait(check, seconds: float) -> float | None:
    """Seconds until ``check()`` held, or None if it did not within ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return round(time.monotonic() - start, 2)
        time.sleep(0.05)
    return None


def counting_thing(lab: LabServer, owner: Owner, index: int, rate: float) -> Thing:
    thing = Thing(f"soak-{index}", owner=owner.jid, lab=lab, timeout=30)
    thing.sensor("n", type=int)
    counts = itertools.count()
    thing.every(1 / rate)(lambda: {"n": next(counts)})
    return thing.start()


def lost_outside_gaps(stream: Stream) -> int:
    """Holes in the counts received after the last gap closed (before any gap, for a stream without one)."""
    received = list(stream.drain())
    if stream.gaps:
        end = stream.gaps[-1].end
        if end is None:
            return -1  # still interrupted: reported separately
        received = [f for f in received if f.timestamp >= end]
    values = [f.value for f in received]
    if not values:
        return -1
    return (values[-1] - values[0] + 1) - len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--things", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="readings a second per thing")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays dead")
    args = parser.parse_args()

    with LabServer() as lab:
        owner = Owner("soak-owner", lab=lab, timeout=30).start()
        things = [counting_thing(lab, owner, i, args.rate) for i in range(args.things)]
        for thing in things:
            owner.befriend(thing.jid)
        streams = [owner.subscribe(thing.jid, "n", buffer=10_000_000) for thing in things]
        start_rss, started = rss_mb(), time.monotonic()
        half = args.minutes * 30
        time.sleep(half)
        first_half = sum(s.count for s in streams)
        before_kill_rss = rss_mb()

        os.kill(lab.pid, signal.SIGKILL)
        wait(lambda: not lab.is_running, 10)
        time.sleep(args.down)
        lab.start()
        everyone = [owner, *things]
        back = wait(lambda: all(p.connection.state is State.ONLINE for p in everyone), 60)
        resubscribed = wait(lambda: not any(s.interrupted for s in streams), 60)

        time.sleep(max(0.0, args.minutes * 60 - (time.monotonic() - started)))
        end_rss = rss_mb()
        lost = [lost_outside_gaps(s) for s in streams]
        expected_half = args.things * args.rate * half
        print(json.dumps({
            "things": args.things, "rate_per_thing": args.rate, "minutes": args.minutes, "server_down_s": args.down,
            "rss_mb": {"start": start_rss, "before_kill": before_kill_rss, "end": end_rss},
            "received_first_half": first_half, "reported_first_half_estimate": int(expected_half),
            "first_half_ratio": round(first_half / expected_half, 3),
            "received_total": sum(s.count for s in streams),
            "all_back_after_restart_s": back, "all_resubscribed_after_restart_s": resubscribed,
            "streams_ended": sum(s.ended for s in streams),
            "streams_with_one_gap": sum(len(s.gaps) == 1 for s in streams),
            "lost_outside_gaps": sum(n for n in lost if n > 0),
            "streams_unreadable": sum(n < 0 for n in lost),
        }, indent=1))  # fmt: skip
        for participant in everyone:
            participant.stop()


if __name__ == "__main__":
    main()
