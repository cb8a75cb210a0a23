"""Benchmarks of the lab's thing registry and provisioning, each figure beside an iq ping of the same component.

    .venv/bin/python benchmarks/registry.py [--things 10000] [--searches 200] [--claims 20] [--json]

An ephemeral lab; ``--things`` things are registered over the wire by a few
clients (concentrators, each registering thousands of self-owned nodes, which
are public and searchable at once: the registrations are the spec's own
``<register selfOwned='true'>``, pipelined, not seeded into the store). Then:

* a search with three conditions (``strEq`` MAN, ``strMask`` MODEL, ``numGtEq``
  V), timed as a raw iq from a plain slixmpp stream and through
  ``owner.search``, median and p99, each as a ratio to slixmpp's own XEP-0199
  ping of ``registry.<domain>`` measured in the same run by the same client;
* claim-to-friendship: ``owner.claim(uri)`` until the friendship holds both
  ways, median over ``--claims`` factory-fresh things, as a ratio to the same
  ping's median.

Ratios, not milliseconds, are the figures to compare between machines; nothing
is asserted (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import xml.etree.ElementTree as ET

from timing import percentile, timed

from xiotlab import LabServer, Owner, Thing
from xiotlab.protocol import registry as r
from xiotlab.runtime import network

MANUFACTURERS = 10
MODELS = 50
BATCH = 250  # registrations in flight per client


def tags_of(i: int) -> tuple[r.Tag, ...]:
    return (
        r.Tag("MAN", f"Maker{i % MANUFACTURERS}"),
        r.Tag("MODEL", f"Therm{i % MODELS:02d}"),
        r.Tag("SN", f"{i:08d}"),
        r.Tag("V", round((i % 40) / 10, 1)),
        r.Tag("CLASS", "Thermometer" if i % 3 else "Hygrometer"),
    )


# Three conditions: one manufacturer in ten, models Therm1x of it (two in five of its models), V >= 2.0 (half).
SEARCH = r.Search(
    (
        r.Compare("MAN", r.Comparison.EQ, "Maker3"),
        r.Mask("MODEL", "Therm1*", "*"),
        r.Compare("V", r.Comparison.GT_EQ, 2.0),
    ),
    max_count=100,
)
SEARCH_TEXT = "MAN=Maker3;MODEL~*Therm1*;#V>=2"  # `~` is followed by the wildcard character


def register_all(lab: LabServer, count: int, clients: int) -> dict:
    """Register ``count`` self-owned things, as nodes of ``clients`` concentrators, over the wire."""
    racks = [Owner(f"bench-rack-{i}", lab=lab, timeout=60).start() for i in range(clients)]

    async def one_rack(k: int, rack: Owner) -> None:
        indices = range(k, count, clients)
        for start in range(0, len(indices), BATCH):
            batch = indices[start : start + BATCH]
            await asyncio.gather(
                *(
                    rack.asend_iq(
                        lab.registry,
                        r.build_register(r.Register(tags_of(i), r.NodeAddress(f"n{i}"), self_owned=True)),
                        "set",
                        60,
                    )
                    for i in batch
                )
            )

    async def all_racks() -> None:
        await asyncio.gather(*(one_rack(k, rack) for k, rack in enumerate(racks)))

    start = time.perf_counter()
    network.run(all_racks())
    seconds = time.perf_counter() - start
    for rack in racks:
        rack.stop()
    return {"things": count, "clients": clients, "seconds": round(seconds, 2), "per_second": round(count / seconds)}


def searches(lab: LabServer, rounds: int) -> dict:
    owner = Owner("bench-searcher", lab=lab, timeout=30).start()
    stream = owner._client.stream
    ping = stream.plugin["xep_0199"]
    element = r.build_search(SEARCH)

    async def raw_search() -> ET.Element:
        iq = stream.make_iq_get(ito=lab.registry)
        iq.xml.append(ET.fromstring(ET.tostring(element)))
        return (await iq.send(timeout=30)).xml

    async def run() -> tuple[list[float], list[float], list[float], int, int]:
        answer = await raw_search()  # warm: discovery, caches, the statement
        found = r.parse_found(next(iter(answer)))
        api = await owner.asearch(SEARCH_TEXT)
        pinged = await timed(lambda: ping.send_ping(lab.registry, timeout=10), rounds)
        raw = await timed(raw_search, rounds)
        ours = await timed(lambda: owner.asearch(SEARCH_TEXT), rounds)
        return pinged, raw, ours, len(found.things), len(api)

    pinged, raw, ours, found, found_api = network.run(run())
    owner.stop()
    ms = lambda seconds: round(seconds * 1e3, 2)  # noqa: E731
    ping_p50, ping_p99 = percentile(pinged, 0.5), percentile(pinged, 0.99)
    return {
        "rounds": rounds,
        "found": found,
        "found_by_owner_search": found_api,
        "ping_p50_ms": ms(ping_p50),
        "ping_p99_ms": ms(ping_p99),
        "raw_search_p50_ms": ms(percentile(raw, 0.5)),
        "raw_search_p99_ms": ms(percentile(raw, 0.99)),
        "raw_search_p50_ratio": round(percentile(raw, 0.5) / ping_p50, 2),
        "raw_search_p99_ratio": round(percentile(raw, 0.99) / ping_p99, 2),
        "owner_search_p50_ms": ms(percentile(ours, 0.5)),
        "owner_search_p99_ms": ms(percentile(ours, 0.99)),
        "owner_search_p50_ratio": round(percentile(ours, 0.5) / ping_p50, 2),
        "owner_search_p99_ratio": round(percentile(ours, 0.99) / ping_p99, 2),
    }


def claims(lab: LabServer, count: int) -> dict:
    """``owner.claim(uri)`` until the friendship holds both ways, for ``count`` factory-fresh things."""
    owner = Owner("bench-claimer", lab=lab, timeout=30).start()
    ping = owner._client.stream.plugin["xep_0199"]
    things = []
    for i in range(count):
        thing = Thing(f"bench-fresh-{i}", lab=lab, tags={"MAN": "Fresh", "SN": f"f{i}"}, timeout=30).start()
        deadline = time.monotonic() + 10
        while not thing.registered and time.monotonic() < deadline:
            time.sleep(0.005)
        things.append(thing)
    samples = []
    for thing in things:
        uri = thing.claim_uri
        start = time.perf_counter()
        owner.claim(uri)
        while not (
            thing.jid in owner.roster
            and owner.roster[thing.jid].friend
            and owner.jid in thing.roster
            and thing.roster[owner.jid].friend
        ):
            time.sleep(0.0005)
        samples.append(time.perf_counter() - start)

    async def pings() -> list[float]:
        out = []
        for _ in range(max(50, count)):
            start = time.perf_counter()
            await ping.send_ping(lab.registry, timeout=10)
            out.append(time.perf_counter() - start)
        return out

    pinged = network.run(pings())
    for thing in things:
        thing.stop()
    owner.stop()
    p50, ping_p50 = statistics.median(samples), statistics.median(pinged)
    return {
        "claims": count,
        "claim_to_friendship_p50_ms": round(p50 * 1e3, 2),
        "claim_to_friendship_max_ms": round(max(samples) * 1e3, 2),
        "ping_p50_ms": round(ping_p50 * 1e3, 2),
        "ratio": round(p50 / ping_p50, 2),
    }


def table(results: dict) -> str:
    s, c, reg = results["search"], results["claim"], results["registered"]
    rows = [
        ("figure", "median ms", "p99 ms", "× ping (median)", "× ping (p99)"),
        ("ping registry (xep_0199)", s["ping_p50_ms"], s["ping_p99_ms"], 1, 1),
        ("search, 3 conditions, raw iq", s["raw_search_p50_ms"], s["raw_search_p99_ms"],
         s["raw_search_p50_ratio"], s["raw_search_p99_ratio"]),
        ("search, 3 conditions, owner.search", s["owner_search_p50_ms"], s["owner_search_p99_ms"],
         s["owner_search_p50_ratio"], s["owner_search_p99_ratio"]),
        ("claim until friends (owner.claim)", c["claim_to_friendship_p50_ms"], "-", c["ratio"], "-"),
    ]  # fmt: skip
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    head = (
        f"{reg['things']} things registered by {reg['clients']} clients in {reg['seconds']} s "
        f"({reg['per_second']}/s); the search finds {s['found']} of them; {s['rounds']} searches, "
        f"{c['claims']} claims"
    )
    return head + "\n\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--things", type=int, default=10_000, help="things in the registry (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=4, help="clients registering them (default: %(default)s)")
    parser.add_argument("--searches", type=int, default=200, help="timed searches (default: %(default)s)")
    parser.add_argument("--claims", type=int, default=20, help="timed claims (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with LabServer() as lab:
        results = {
            "python": sys.version.split()[0],
            "registered": register_all(lab, args.things, args.clients),
            "search": searches(lab, args.searches),
            "claim": claims(lab, args.claims),
        }
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, indent=2) if args.json else table(results) + f"\n\ntotal {results['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
