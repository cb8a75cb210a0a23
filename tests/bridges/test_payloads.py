"""MQTT payloads typed by inspection (xiotlab.bridges.payloads): pure, fast, and never raising."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiotlab.bridges.payloads import MAX_FIELDS, MAX_NAME, MAX_PAYLOAD, MAX_TEXT, Value, as_text, type_payload
from xiotlab.protocol.values import Field


def one(payload):
    typed = type_payload(payload)
    assert list(typed.fields) == ["value"], typed
    return typed.fields["value"], typed.kind


@pytest.mark.parametrize(
    ("payload", "value", "kind"),
    [
        (b"21.5", Value(21.5), "number"),
        (b"  -3 ", Value(-3), "integer"),
        (b"+7", Value(7), "integer"),
        (b"1e3", Value(1000.0), "number"),
        (b".5", Value(0.5), "number"),
        (b"9223372036854775807", Value(2**63 - 1), "integer"),
        (b"9223372036854775808", Value(float(2**63)), "number"),
        (b"true", Value(True), "boolean"),
        (b"OFF", Value(False), "boolean"),
        (b"On", Value(True), "boolean"),
        (b"21.5 \xc2\xb0C", Value(21.5, "°C"), "quantity"),
        (b"5kWh", Value(5.0, "kWh"), "quantity"),
        (b"40 %", Value(40.0, "%"), "quantity"),
        (b"3.2 m/s", Value(3.2, "m/s"), "quantity"),
        (b"12 \xc2\xb5g/m\xc2\xb3", Value(12.0, "µg/m³"), "quantity"),
        (b"007", Value("007"), "text"),
        (b"0x1F", Value("0x1F"), "text"),
        (b"1.2.3", Value("1.2.3"), "text"),
        (b"NaN", Value("NaN"), "text"),
        (b"1e999", Value("1e999"), "text"),
        (b"hello world", Value("hello world"), "text"),
        (b"12 dogs and cats", Value("12 dogs and cats"), "text"),
        (b'"quoted"', Value('"quoted"'), "text"),
        (b"{not json", Value("{not json"), "text"),
        (b"[1, 2", Value("[1, 2"), "text"),
    ],
)
def test_scalars(payload, value, kind):
    assert one(payload) == (value, kind)


def test_json_objects_flatten_with_dotted_names_and_indexed_arrays():
    payload = {"temperature": 21.3, "humidity": 40, "wind": {"speed": 3.2, "gust": None}, "levels": [1, True], "s": "4"}
    typed = type_payload(json.dumps(payload).encode())
    assert typed.kind == "json"
    assert typed.fields == {
        "temperature": Value(21.3),
        "humidity": Value(40),
        "wind.speed": Value(3.2),
        "levels.0": Value(1),
        "levels.1": Value(True),
        "s": Value("4"),  # a JSON string stays a string: the device chose its type
    }


def test_json_odd_corners():
    assert type_payload(b"[10, 20]").fields == {"0": Value(10), "1": Value(20)}
    assert type_payload(b"{}").fields == {}
    assert type_payload(b'{"": 1}').fields == {"_": Value(1)}
    assert type_payload(b'{"x": NaN, "y": Infinity}').fields == {"x": Value("NaN"), "y": Value("Infinity")}
    assert type_payload(b'{"big": 1' + b"0" * 30 + b"}").fields == {"big": Value(1e30)}
    deep = b'{"a":' * 40 + b"1" + b"}" * 40
    typed = type_payload(deep)
    assert typed.kind == "json" and len(typed.fields) == 1
    (name,) = typed.fields
    assert name.startswith("a.a.a") and isinstance(typed.fields[name].value, str)


def test_json_nested_past_the_stack_is_text_not_a_crash():
    typed = type_payload(b"[" * 30_000 + b"]" * 30_000)  # within MAX_PAYLOAD, past Python's recursion limit
    assert typed.kind == "text"


def test_many_keys_are_capped_and_counted():
    typed = type_payload(json.dumps({f"k{i}": i for i in range(1000)}).encode())
    assert len(typed.fields) == MAX_FIELDS
    assert typed.dropped == 1000 - MAX_FIELDS


def test_binary_payloads_are_described_not_decoded():
    value, kind = one(bytes(range(256)))
    assert kind == "binary"
    assert value.value == "binary, 256 bytes: 000102030405060708090a0b0c0d0e0f…"
    assert one(b"\xff\xfe")[0].value == "binary, 2 bytes: fffe"
    assert one(b"ok\x00ok")[1] == "binary"  # valid UTF-8, but a NUL is no text


def test_empty_and_oversized_payloads():
    assert type_payload(b"").fields == {} and type_payload(b"").kind == "empty"
    value, kind = one(b"x" * (MAX_PAYLOAD + 1))
    assert kind == "too large" and str(MAX_PAYLOAD + 1) in value.value


def test_long_text_and_names_are_cut():
    value, _ = one(b"y" * 5000)
    assert len(value.value) == MAX_TEXT and value.value.endswith("…")
    typed = type_payload(json.dumps({"k" * 500: 1}).encode())
    (name,) = typed.fields
    assert len(name) == MAX_NAME


def test_text_xml_cannot_carry_is_mended():
    value, kind = one("a\ufffeb".encode())
    assert kind == "text" and value.value == "a\ufffdb"


def test_as_text():
    assert [as_text(v) for v in (True, False, 3, 2.5, "x")] == ["true", "false", "3", "2.5", "x"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_fields_a_readout_can_carry(payload):
    typed = type_payload(payload)
    assert len(typed.fields) <= MAX_FIELDS
    for name, value in typed.fields.items():
        Field(name, value.value, unit=value.unit)  # raises for anything XMPP could not carry


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_gives_fields_a_readout_can_carry(document):
    typed = type_payload(json.dumps(document).encode())
    for name, value in typed.fields.items():
        Field(name, value.value, unit=value.unit)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["°C", "%", "hPa", "m/s", "kWh", "W"]))
def test_quantities_round_trip(number, unit):
    value, kind = one(f"{number!r} {unit}".encode())
    assert kind == "quantity" and value == Value(number, unit)
