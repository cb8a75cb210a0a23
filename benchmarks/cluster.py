"""Benchmarks of a lab on a two-node ejabberd cluster, each figure beside the same on one server.

    .venv/bin/python benchmarks/cluster.py [--quick] [--only readout,events,fleet]

Prints JSON. The readout round trip and the event throughput are measured with the thing on
node 1 and its owner on node 2 (every stanza crosses Erlang distribution), and in the same run
with both on a one-node ejabberd lab: the ratio is cluster / one server. The fleet section
spreads things over the two nodes (half on each) and reports how long until all are online and
the resident memory of each node's Erlang VM. Targets are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import sys
import time

from iot import xiotlab_readings
from timing import pair, readout_ms, rss_kb, run_sections

from xiotlab import LabServer, Owner, Thing
from xiotlab.runtime import network


def events_per_second(owner: Owner, thing: Thing, count: int) -> float:
    """Readings reported flat out by the thing, as received by the owner's stream, per second."""
    return xiotlab_readings(owner, thing, count, None)["per_second"]


def compare(measure, cluster: LabServer, single: LabServer, tag: str) -> tuple[float, float, float]:
    """``measure(owner, thing)`` across the cluster's nodes, on one cluster node, and on one server."""
    across = measure(*pair(cluster.node(1), f"{tag}-across", cluster.node(2)))
    same = measure(*pair(cluster.node(1), f"{tag}-same"))
    one = measure(*pair(single, f"{tag}-single"))
    return across, same, one


def readout_section(cluster: LabServer, single: LabServer, quick: bool) -> dict:
    rounds = 50 if quick else 500
    across, same, one = compare(lambda o, t: readout_ms(o, t, rounds), cluster, single, "readout")
    return {
        "rounds": rounds,
        "across_nodes_median_ms": round(across, 3),
        "same_cluster_node_median_ms": round(same, 3),
        "one_server_median_ms": round(one, 3),
        "ratio_across_nodes_to_one_server": round(across / one, 2),
        "target_ratio_at_most": 1.5,
    }


def events_section(cluster: LabServer, single: LabServer, quick: bool) -> dict:
    count = 2_000 if quick else 20_000
    across, same, one = compare(lambda o, t: events_per_second(o, t, count), cluster, single, "events")
    return {
        "readings": count,
        "across_nodes_per_second": round(across),
        "same_cluster_node_per_second": round(same),
        "one_server_per_second": round(one),
        "ratio_across_nodes_to_one_server": round(across / one, 2),
        "target_ratio_at_least": 0.7,
    }


def fleet_section(cluster: LabServer, size: int) -> dict:
    before = {pid: rss_kb(pid) for pid in cluster.node_pids()}
    start = time.perf_counter()
    credentials = [cluster.account(f"fleet-{size}-{i}") for i in range(size)]
    accounts_s = time.perf_counter() - start
    nodes = [cluster.node(1), cluster.node(2)]
    things = [Thing(c.jid, lab=nodes[i % 2], timeout=120, policy="accept") for i, c in enumerate(credentials)]
    for thing in things:
        thing.sensor("temperature", unit="°C")(lambda: 20.0)

    async def all_online():
        await asyncio.gather(*(t.astart() for t in things))

    start = time.perf_counter()
    network.run(all_online())
    online_s = time.perf_counter() - start
    after = {pid: rss_kb(pid) for pid in cluster.node_pids()}
    online = sum(t.online for t in things)

    async def all_offline():
        await asyncio.gather(*(t.astop() for t in things))

    network.run(all_offline())
    return {
        "things": size,
        "online": online,
        "seconds_until_all_online": round(online_s, 2),
        "account_creation_seconds": round(accounts_s, 2),
        "node_rss_mb_before": [round(kb / 1024, 1) for kb in before.values()],
        "node_rss_mb_with_fleet": [round(kb / 1024, 1) for kb in after.values()],
        "node_kb_per_connected_thing": [round((after[p] - before[p]) / (size / 2), 1) for p in after],
    }


SECTIONS = ("readout", "events", "fleet")


def run_section(section: str, quick: bool) -> object:
    """One section, in this process, against a cluster (and a one-node lab) of its own."""
    with LabServer(engine="ejabberd", nodes=2) as cluster:
        if section == "fleet":
            return fleet_section(cluster, 200 if quick else 2_000)
        with LabServer(engine="ejabberd") as single:
            if section == "readout":
                return readout_section(cluster, single, quick)
            return events_section(cluster, single, quick)


def main(argv: list[str] | None = None) -> int:
    return run_sections(__file__, __doc__, SECTIONS, run_section, argv)


if __name__ == "__main__":
    sys.exit(main())
