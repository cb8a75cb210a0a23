"""What the benchmarks share: timing calls, percentiles, memory, a thing and its owner, sections in processes.

Imported by the benchmark scripts as a sibling (``python benchmarks/iot.py`` puts this folder first on the path).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from xiotlab import LabServer, Owner, Thing
from xiotlab.runtime import network

FIELDS = ["temperature", "humidity", "pressure"]
"""What a readout benchmark reads: three fields."""


async def timed(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    """Seconds each of ``rounds`` awaits of ``call()`` took, one after the other."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def rss_kb(pid: int | str = "self") -> int:
    """Resident memory of process ``pid`` (this one by default), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pair(thing_lab: LabServer, tag: str, owner_lab: LabServer | None = None) -> tuple[Owner, Thing]:
    """An owner (on ``owner_lab``, default the thing's) and her thing: the three fields of :data:`FIELDS`
    and a ``level`` reported by hand, friends already."""
    owner = Owner(f"bench-owner-{tag}", lab=owner_lab or thing_lab, timeout=30).start()
    thing = Thing(f"bench-thing-{tag}", owner=owner.jid, lab=thing_lab, timeout=30)
    for name, value in zip(FIELDS, (21.5, 40.0, 1013.2), strict=True):
        thing.sensor(name, unit="u")(lambda value=value: value)
    thing.sensor("level", type=float)
    thing.start()
    owner.befriend(thing.jid)
    return owner, thing


def readout_ms(owner: Owner, thing: Thing, rounds: int) -> float:
    """The median round trip of a readout of :data:`FIELDS`, in milliseconds."""

    async def measure():
        await owner.aread(thing.jid)  # warm: discovery, the first readout (and a federation link's set-up)
        return await timed(lambda: owner.aread(thing.jid, FIELDS), rounds)

    return statistics.median(network.run(measure())) * 1e3


def run_sections(
    script: str, doc: str, sections: Sequence[str], run_section: Callable[[str, bool], object], argv: list[str] | None
) -> int:
    """A benchmark script's command line: each section in a fresh process of ``script``, JSON on stdout.

    A section's process starts with an empty heap: what one leaves behind (a thousand clients, a
    hundred thousand readings) must not slow the next one's garbage collections.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--only", default=",".join(sections), help="comma-separated: " + ", ".join(sections))
    parser.add_argument("--section", choices=sections, help=argparse.SUPPRESS)  # one section, in this process
    args = parser.parse_args(argv)
    if args.section:
        print(json.dumps(run_section(args.section, args.quick)))
        return 0
    results: dict = {"python": sys.version.split()[0]}
    for section in args.only.split(","):
        command = [sys.executable, script, "--section", section] + (["--quick"] if args.quick else [])
        results[section] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    print(json.dumps(results, indent=2))
    return 0
