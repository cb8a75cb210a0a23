"""Micro-benchmark of the sensor data protocol layer, per field.

A live event stream carries tens of thousands of readings a second through
one process that both builds (thing side) and parses (owner side) them, so
what matters is the cost per field. This script times, for a ``<resp>`` of
``--fields`` float quantity fields (category MOMENTARY, QoS
AUTOMATIC_READOUT, unit and decimals set):

* ``field``: ``Field(...)`` construction (the public, validating constructor);
* ``build``: ``events.build_event`` of those fields;
* ``tostring``: ``ET.tostring`` of the built element;
* ``parse``: ``events.parse_event`` of the serialized XML, read back;
* ``fromstring``: ``ET.fromstring`` of that XML, the baseline: the cost of
  merely getting the elements, measured in the same run so that ratios can be
  compared across machines;
* ``runs_build``, ``runs_tostring``, ``runs_parse``: the same three steps for the
  event written as runs of values (xiotlab's extension, ``protocol/series.py``),
  what a thing sends an owner that reads them (the fields here are ten runs).

Two layouts are timed: every field with its own timestamp (one ``<ts>`` per
field, what a live stream of readings looks like) and all fields sharing one
timestamp (a readout). Times are the best of ``--repeat`` runs, in µs per
field, with garbage collection off as :mod:`timeit` does; ``*_ratio`` is
each time divided by ``fromstring``.

Run from the project root: ``.venv/bin/python benchmarks/protocol_fields.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import timeit
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xiotlab.protocol import events
from xiotlab.protocol.values import UTC, Category, Field, QoS
from xiotlab.runtime.wire import element_text

START = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def field_arguments(count: int, distinct_stamps: bool) -> list[tuple[str, float, dt.datetime]]:
    """Name, value and timestamp of each field; made beforehand so that only Field() is timed."""
    return [
        (f"Temperature{i % 10}", 20.0 + i / 100, START + dt.timedelta(milliseconds=i) if distinct_stamps else START)
        for i in range(count)
    ]


def make_fields(arguments: list[tuple[str, float, dt.datetime]]) -> list[Field]:
    return [
        Field(
            name,
            value,
            timestamp=stamp,
            unit="°C",
            decimals=2,
            categories=Category.MOMENTARY,
            qos=QoS.AUTOMATIC_READOUT,
        )
        for name, value, stamp in arguments
    ]


def best(func, count: int, repeat: int) -> float:
    """Best time of one call, in µs per field."""
    number = 1
    times = timeit.repeat(func, number=number, repeat=repeat)
    return min(times) / number / count * 1e6


def scenario(count: int, repeat: int, distinct_stamps: bool) -> dict[str, float]:
    arguments = field_arguments(count, distinct_stamps)
    fields = make_fields(arguments)
    element = events.build_event("sub-1", fields)
    xml = ET.tostring(element, encoding="unicode")
    parsed_element = ET.fromstring(xml)
    assert len(events.parse_event(parsed_element).fields) == count

    runs = events.build_event("sub-1", fields, series=True)
    runs_element = ET.fromstring(element_text(runs))
    assert events.parse_event(runs_element).fields == events.parse_event(parsed_element).fields or not distinct_stamps
    results = {
        "field": best(lambda: make_fields(arguments), count, repeat),
        "build": best(lambda: events.build_event("sub-1", fields), count, repeat),
        "tostring": best(lambda: ET.tostring(element, encoding="unicode"), count, repeat),
        "parse": best(lambda: events.parse_event(parsed_element), count, repeat),
        "runs_build": best(lambda: events.build_event("sub-1", fields, series=True), count, repeat),
        "runs_tostring": best(lambda: element_text(runs), count, repeat),
        "runs_parse": best(lambda: events.parse_event(runs_element), count, repeat),
        "fromstring": best(lambda: ET.fromstring(xml), count, repeat),
    }
    baseline = results["fromstring"]
    ratios = {f"{name}_ratio": value / baseline for name, value in results.items() if name != "fromstring"}
    return {name: round(value, 3) for name, value in {**results, **ratios}.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fields", type=int, default=1000, help="fields per <resp> (default 1000)")
    parser.add_argument("--repeat", type=int, default=30, help="runs to take the best of (default 30)")
    args = parser.parse_args()
    report = {
        "unit": "µs per field",
        "fields": args.fields,
        "python": sys.version.split()[0],
        "one_timestamp_per_field": scenario(args.fields, args.repeat, distinct_stamps=True),
        "one_shared_timestamp": scenario(args.fields, args.repeat, distinct_stamps=False),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
