"""Benchmarks across a federation link: the same readout and events, thing and owner on two labs.

    .venv/bin/python benchmarks/federation.py [--quick] [--addresses 127.0.0.12,127.0.0.13]

Prints JSON. Two federating labs (``a.bench.test`` and ``b.bench.test``, each on a loopback
address of its own, trusting each other) run in this process. Each figure is measured twice in
the same run: thing and owner on one server (lab A), then the thing on lab A and its owner on
lab B, every stanza crossing the server-to-server link; the ratio is federated / one server.
The pieces are benchmarks/iot.py's (the readout timing, the event stream). Targets are printed
beside the ratios, never asserted (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import sys

from iot import xiotlab_readings
from timing import pair, percentile, readout_ms

from xiotlab import LabServer, Owner, Thing


def events(owner: Owner, thing: Thing, count: int) -> dict:
    """Readings reported flat out and received by the owner's stream: rate and latency."""
    got = xiotlab_readings(owner, thing, count, None)
    return {
        "per_second": got["per_second"],
        "p50_ms": percentile(got["latencies"], 0.5) * 1e3,
        "received": got["received"],
    }


def measure(a: LabServer, b: LabServer, rounds: int, count: int) -> dict:
    figures = {}
    for where, owner_lab in (("one_server", a), ("federated", b)):
        owner, thing = pair(a, where.replace("_", "-"), owner_lab)
        try:
            figures[where] = {
                "readout_median_ms": readout_ms(owner, thing, rounds),
                "events": events(owner, thing, count),
            }
        finally:
            owner.stop()
            thing.stop()
    local, remote = figures["one_server"], figures["federated"]
    return {
        "readout": {
            "rounds": rounds,
            "one_server_median_ms": round(local["readout_median_ms"], 3),
            "federated_median_ms": round(remote["readout_median_ms"], 3),
            "ratio": round(remote["readout_median_ms"] / local["readout_median_ms"], 2),
            "target_ratio_at_most": 2.5,  # two servers relay each way instead of one
        },
        "events": {
            "count": count,
            "one_server_per_second": round(local["events"]["per_second"]),
            "federated_per_second": round(remote["events"]["per_second"]),
            "ratio": round(remote["events"]["per_second"] / local["events"]["per_second"], 2),
            "target_ratio_at_least": 0.5,
            "one_server_p50_ms": round(local["events"]["p50_ms"], 2),
            "federated_p50_ms": round(remote["events"]["p50_ms"], 2),
            "received": [local["events"]["received"], remote["events"]["received"]],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument(
        "--addresses", default="127.0.0.12,127.0.0.13", help="the two labs' addresses (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    first, second = args.addresses.split(",")
    with (
        LabServer(domain="a.bench.test", host=first, federation=True, services=False) as a,
        LabServer(domain="b.bench.test", host=second, federation=True, services=False) as b,
    ):
        a.trust(b.ca_file, domain=b.domain, address=b.host)
        b.trust(a.ca_file, domain=a.domain, address=a.host)
        rounds, count = (50, 2_000) if args.quick else (500, 20_000)
        results = {"python": sys.version.split()[0], **measure(a, b, rounds, count)}
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
