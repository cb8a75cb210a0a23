"""MQTT payloads typed by inspection: what a foreign device published becomes named, typed fields.

Pure: bytes in, :class:`Typed` out, no network. The rules, in order:

====================================  =====================================================
payload                               fields
====================================  =====================================================
empty (a retained message cleared)    none (``kind="empty"``)
over :data:`MAX_PAYLOAD` bytes        ``value``: ``"(N bytes, too large to show)"``
not UTF-8, or with control characters ``value``: ``"binary, N bytes: 0a1b2c…"`` (the first 16 in hex)
``true``/``false``/``on``/``off``     ``value``: a bool (any case: Tasmota and Zigbee2MQTT say ON/OFF)
an integer (``42``, ``-7``)           ``value``: an int (a long past 32 bits; past 64 bits a float)
a decimal number (``21.5``, ``1e3``)  ``value``: a float
a number and a unit (``21.5 °C``)     ``value``: the number, with the unit (a quantity)
a JSON object or array                one field per leaf: keys joined with dots
                                      (``wind.speed``), array items by index (``levels.0``);
                                      JSON strings stay strings, ``null`` leaves no field
anything else                         ``value``: the text, stripped
====================================  =====================================================

A number with leading zeros (``007``) stays text: it is an identifier more often than a
count. Non-finite numbers (``NaN``, ``1e999``) stay text: a reading that is no number. Text
that XML cannot carry is mended (U+FFFD), as XMPP would refuse it.

Bounded: at most :data:`MAX_FIELDS` fields a payload (the rest are counted in
``Typed.dropped``), names of at most :data:`MAX_NAME` characters, strings of at most
:data:`MAX_TEXT` (cut, ending in ``…``), and :data:`MAX_PAYLOAD` bytes looked into at all.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterator

MAX_PAYLOAD = 64 * 1024
"""Bytes of one payload that are parsed; a larger payload is only measured."""
MAX_FIELDS = 64
"""Fields one payload may give; a JSON document with more keeps the first ones."""
MAX_TEXT = 1024
"""Characters of a string value kept; a longer one is cut and ends in ``…``."""
MAX_NAME = 128
"""Characters of a field name (a dotted JSON path) kept."""
MAX_DEPTH = 16
"""JSON nesting followed; a deeper object or array becomes one field holding its JSON text."""
VALUE = "value"
"""The field of a payload that is one value (anything but a JSON object or array)."""

Scalar = bool | int | float | str

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # in text, a sign of binary data
_INTEGER = re.compile(r"[+-]?(?:0|[1-9]\d*)")
_DECIMAL = re.compile(r"[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# A number, optional spaces, a unit: a letter or a unit sign first, no spaces within (°C, %, m/s, kWh, µg/m³).
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
    r"\s*(?P<unit>(?:[^\W\d_]|[°%‰$€£'\"])\S{0,15})"
)
_BOOLEANS = {"true": True, "false": False, "on": True, "off": False}
_INT32 = 2**31
_INT64 = 2**63


@dataclasses.dataclass(frozen=True)
class Value:
    """One typed value: a bool, int, float or str, and the unit of a number that had one."""

    value: Scalar
    unit: str | None = None


@dataclasses.dataclass(frozen=True)
class Typed:
    """What a payload says: its fields by name, what kind of payload it was, and fields left out.

    ``kind``: ``"empty"``, ``"boolean"``, ``"integer"``, ``"number"``, ``"quantity"``, ``"json"``,
    ``"text"``, ``"binary"`` or ``"too large"``. ``dropped``: fields beyond :data:`MAX_FIELDS`.
    """

    fields: dict[str, Value]
    kind: str
    dropped: int = 0


def type_payload(payload: bytes | bytearray | memoryview | str) -> Typed:
    """The fields of an MQTT payload, typed by inspection (see the module's table). Never raises."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    size = len(payload)
    if size == 0:
        return Typed({}, "empty")
    if size > MAX_PAYLOAD:
        return Typed({VALUE: Value(f"({size} bytes, too large to show)")}, "too large")
    data = bytes(payload)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _binary(data)
    if _CONTROL.search(text):
        return _binary(data)
    text = text.strip()
    if text[:1] in ("{", "["):
        fields, dropped = _json_fields(text)
        if fields is not None:
            return Typed(fields, "json", dropped)
    value, kind = scalar(text)
    return Typed({VALUE: value}, kind)


def scalar(text: str) -> tuple[Value, str]:
    """One value from plain text, and its kind: boolean, integer, number, quantity or text."""
    boolean = _BOOLEANS.get(text.lower())
    if boolean is not None:
        return Value(boolean), "boolean"
    if _INTEGER.fullmatch(text):
        number = _integer(int(text))
        return Value(number), "integer" if isinstance(number, int) else "number"
    if text[:2] in ("0x", "0X"):
        return Value(_text(text)), "text"  # hexadecimal: an identifier or a register, not 0 in the unit x…
    if _DECIMAL.fullmatch(text):
        decimal = float(text)
        if math.isfinite(decimal):
            return Value(decimal), "number"
    else:
        match = _QUANTITY.fullmatch(text)
        if match:
            quantity = float(match["number"])
            if math.isfinite(quantity):
                return Value(quantity, clean(match["unit"])), "quantity"
    return Value(_text(text)), "text"


def clean(text: str) -> str:
    """``text`` with every character XML cannot carry replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def _text(text: str) -> str:
    text = clean(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _binary(data: bytes) -> Typed:
    head = data[:16].hex()
    return Typed({VALUE: Value(f"binary, {len(data)} bytes: {head}{'…' if len(data) > 16 else ''}")}, "binary")


def _integer(number: int) -> int | float:
    """An int that fits 64 bits, else its nearest float (a reading that large is a measure, not a count)."""
    return number if -_INT64 <= number < _INT64 else float(number)


def _json_fields(text: str) -> tuple[dict[str, Value] | None, int]:
    """The leaves of a JSON object or array as fields, and how many were left out; None if not JSON."""
    try:
        document = json.loads(text, parse_constant=str)  # NaN, Infinity: text, not numbers
    except (ValueError, RecursionError):  # malformed, digits past Python's limit, nesting past the stack
        return None, 0
    if not isinstance(document, (dict, list)):
        return None, 0
    fields: dict[str, Value] = {}
    dropped = 0
    for name, value in _leaves(document, "", 0):
        if len(fields) >= MAX_FIELDS and name not in fields:
            dropped += 1
            continue
        fields[name] = value
    return fields, dropped


def _leaves(node: object, path: str, depth: int) -> Iterator[tuple[str, Value]]:
    if isinstance(node, (dict, list)) and depth >= MAX_DEPTH:
        yield _name(path), Value(_text(json.dumps(node, ensure_ascii=False)))
        return
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _leaves(child, f"{path}.{key or '_'}" if path else (key or "_"), depth + 1)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _leaves(child, f"{path}.{index}" if path else str(index), depth + 1)
    elif node is None:
        return
    elif isinstance(node, bool):
        yield _name(path), Value(node)
    elif isinstance(node, int):
        yield _name(path), Value(_integer(node))
    elif isinstance(node, float):
        yield _name(path), Value(node) if math.isfinite(node) else Value(repr(node))
    else:
        yield _name(path), Value(_text(str(node)))


def _name(path: str) -> str:
    path = clean(path) or VALUE
    return path if len(path) <= MAX_NAME else path[: MAX_NAME - 1] + "…"


def as_text(value: object) -> str:
    """The text a value is published as: ``true``/``false`` for a bool, else ``str(value)``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
