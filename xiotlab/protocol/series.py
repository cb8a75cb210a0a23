"""Runs of one field's values in one field element: xiotlab's extension of sensor data, ``urn:xiotlab:iot:series:1``.

The specification gives every field element an ``<x>`` child "to extend the
annotation of the field using custom features". A thing streaming thousands
of values a second sends most of them as runs: many values of one field
(same name, node, type, unit, flags) in one message. Written as the
specification's own elements, every value is an element that the server
parses and writes again (Prosody spends about 27 µs of CPU on each), which
caps a stream at a few tens of thousands of values a second whatever the
two ends do. Here the first value of a run is an ordinary field element,
which any reader understands, and the others ride in its ``<x>``::

    <ts v="2026-12-01T10:00:00.000100Z">
      <q n="level" v="1.25" u="mm" m="true">
        <x><s xmlns="urn:xiotlab:iot:series:1">[[100,200,300],[1.5,1.75,2.0]]</s></x>
      </q>
    </ts>

The text is JSON: microseconds after the field's own timestamp, then the
values, as JSON numbers (Python's ``NaN`` and ``Infinity`` included) or
booleans for numeric and boolean fields, as their XML lexical forms for the
others (strings, dates, times, durations, enumerations). A quantity written
with a fixed number of decimals says so (``d="2"``), and its values are
rounded as the plain form would round them. A reader that knows the
extension gets exactly the fields the plain form would have given; one that
does not gets the first value of each run only. So a thing sends runs only to those that announce
:data:`NAMESPACE` in service discovery, and only when a field has at least
:data:`MIN_RUN` values in one message: a slow stream, the kind a lesson
watches, stays in the plain form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import xml.etree.ElementTree as ET

from ..errors import ProtocolError
from .namespaces import XIOTLAB_SERIES
from .values import MAX_DECIMALS, Field, ValueType, parse_double, parse_value

NAMESPACE = XIOTLAB_SERIES
MIN_RUN = 4
"""Fewest values of one field in one message that travel as a run."""

_SERIES_TAG = f"{{{NAMESPACE}}}s"
_MICROSECOND = dt.timedelta(microseconds=1)
# Sent as JSON numbers or booleans, and checked on arrival as Field checks any value (coerce_value).
_CHECKED = {
    ValueType.INTEGER: "a whole number that fits",
    ValueType.LONG: "a whole number that fits",
    ValueType.BOOLEAN: "true or false",
}


def _column(field: Field) -> tuple:
    """What every value of one run shares: all of a field but its value and timestamp.

    Flags by identity (each combination of an enum.Flag is one object), as hashing them runs Python code.
    """
    return (
        field.name, field.node, field.type, field.unit, field.decimals, field.enum_type, id(field.categories),
        id(field.qos), field.writable, field.localization_namespace, field.localization,
    )  # fmt: skip


def gather(fields: list[Field]) -> tuple[list[Field], dict[int, list[Field]]]:
    """Split ``fields`` into those written as elements and the runs hanging off some of them.

    Returns the fields to write, in order (each run's first value where it came), and the
    rest of each run by the ``id`` of its first value. A field with fewer than
    :data:`MIN_RUN` values in ``fields`` is left alone.
    """
    keys = [_column(f) for f in fields]
    runs: dict[tuple, list[Field]] = {}
    for key, field in zip(keys, fields, strict=True):
        runs.setdefault(key, []).append(field)
    long = {key for key, run in runs.items() if len(run) >= MIN_RUN}
    if not long:
        return fields, {}
    started: set[tuple] = set()
    kept: list[Field] = []
    tails: dict[int, list[Field]] = {}
    for key, field in zip(keys, fields, strict=True):
        if key not in long:
            kept.append(field)
        elif key not in started:  # its first value: the rest of the run hangs off it
            started.add(key)
            tails[id(field)] = runs[key][1:]
            kept.append(field)
    return kept, tails


def build(head: Field, tail: list[Field], ns: str) -> ET.Element:
    """The ``<x>`` element (in sensor data namespace ``ns``) carrying ``tail``, the rest of ``head``'s run."""
    base = head.timestamp
    offsets: dict[dt.datetime, int] = {}
    times = []
    for field in tail:
        stamp = field.timestamp
        offset = offsets.get(stamp)
        if offset is None:
            offset = offsets[stamp] = (stamp - base) // _MICROSECOND
        times.append(offset)
    vtype, decimals = head.type, head.decimals
    if vtype is ValueType.QUANTITY and decimals is not None:
        values: list = [round(f.value, decimals) for f in tail]  # type: ignore[arg-type]  # a quantity: a float
    elif vtype is ValueType.QUANTITY or vtype in _CHECKED:
        values = [f.value for f in tail]
    else:
        values = [f.lexical_value for f in tail]
    x = ET.Element(f"{{{ns}}}x")
    series = ET.SubElement(x, _SERIES_TAG)
    if vtype is ValueType.QUANTITY and decimals is not None:
        series.set("d", str(decimals))
    series.text = json.dumps([times, values], separators=(",", ":"))
    return x


def find(element: ET.Element, ns: str) -> ET.Element | None:
    """The run's ``<s>`` in field element ``element`` (of sensor data namespace ``ns``), if it carries one."""
    if not len(element):
        return None
    x = element.find(f"{{{ns}}}x")
    return None if x is None else x.find(_SERIES_TAG)


def read(series: ET.Element, head: Field, room: int) -> list[Field]:
    """The fields of run ``series`` after ``head``, its first; at most ``room`` of them (else ProtocolError)."""
    try:
        times, values = json.loads(series.text or "")
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise _bad(head, f"its text is not [[offsets], [values]] ({type(exc).__name__})") from None
    if type(times) is not list or type(values) is not list:
        raise _bad(head, "its text is not [[offsets], [values]] (two arrays)")
    count = len(times)
    if count != len(values):
        raise _bad(head, f"{count} offsets but {len(values)} values")
    if count > room:
        raise ProtocolError(
            f"A run of field {head.name!r} carries {count} values, more than the {room} a response may still hold."
        )
    stamps = _timestamps(head, times)
    vtype = head.type
    if vtype is ValueType.QUANTITY:
        fixed = _fixed_decimals(series, head)
        return [
            head.with_value(value, stamp, decimals=decimals)
            for value, decimals, stamp in (
                (*_quantity(head, raw, fixed), stamp) for raw, stamp in zip(values, stamps, strict=True)
            )
        ]
    if vtype in _CHECKED:
        return [_checked(head, raw, stamp) for raw, stamp in zip(values, stamps, strict=True)]
    return [_lexical(head, raw, stamp) for raw, stamp in zip(values, stamps, strict=True)]


def _timestamps(head: Field, times: list) -> list[dt.datetime]:
    base = head.timestamp
    known: dict[int, dt.datetime] = {}
    stamps = []
    for offset in times:
        if type(offset) is not int:
            raise _bad(head, f"offset {offset!r} is not a whole number of microseconds")
        stamp = known.get(offset)
        if stamp is None:
            try:
                stamp = known[offset] = base + offset * _MICROSECOND
            except OverflowError:
                raise _bad(head, f"offset {offset} µs lies beyond any date") from None
        stamps.append(stamp)
    return stamps


def _bad(head: Field, why: str) -> ProtocolError:
    return ProtocolError(f"The run of values of field {head.name!r} cannot be read: {why}.")


def _fixed_decimals(series: ET.Element, head: Field) -> int | None:
    text = series.get("d")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_DECIMALS):
        raise _bad(head, f"d={text!r} is not a number of decimals (0 to {MAX_DECIMALS})")
    return int(text)


def _quantity(head: Field, raw: object, fixed: int | None) -> tuple[float, int | None]:
    if type(raw) is float:
        value = raw
    elif type(raw) is int:
        try:
            value = float(raw)
        except OverflowError:
            raise _bad(head, f"{raw} is beyond what a double holds") from None
    else:
        raise _bad(head, f"{raw!r} is not a number")
    if fixed is None or value - value != 0.0:  # INF, -INF and NaN show no decimals, fixed or not
        return value, _decimals_shown(value)
    return round(value, fixed), fixed  # as the plain form, which writes exactly that many, would give it


def _decimals_shown(value: float) -> int | None:
    """The decimals that the plain form's lexical value (``repr``) shows, as :func:`parse_double` counts them."""
    if math.isinf(value) or math.isnan(value):
        return None
    text = repr(value)
    if "e" in text:
        return parse_double(text)[1]
    return min(len(text) - text.index(".") - 1, MAX_DECIMALS)


def _checked(head: Field, raw: object, stamp: dt.datetime) -> Field:
    """A whole number or a boolean: ``head`` with it, checked (type, range) as any field value is."""
    try:
        return head.with_value(raw, stamp)
    except (TypeError, ValueError) as exc:
        raise _bad(head, f"{raw!r} is not {_CHECKED[head.type]} ({exc})") from None


def _lexical(head: Field, raw: object, stamp: dt.datetime) -> Field:
    """A string, enumeration, date, time or duration value: the validating path, texts checked."""
    if type(raw) is not str:
        raise _bad(head, f"{raw!r} is not the lexical form of a {head.type.value}")
    try:
        value = parse_value(head.type, raw)[0]
    except ValueError as exc:
        raise _bad(head, str(exc)) from None
    return dataclasses.replace(head, value=value, timestamp=stamp)
