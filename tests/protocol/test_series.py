"""Runs of values in one field element (xiotlab's extension, urn:xiotlab:iot:series:1)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol import sensordata as sd
from xiotlab.protocol import series
from xiotlab.protocol.namespaces import SENSOR_DATA
from xiotlab.protocol.values import UTC, Field, NodeRef, ValueType

from . import strategies as S
from .schema import assert_valid
from .test_sensordata import wire, without_loc

STAMP = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SERIES = f"{{{series.NAMESPACE}}}s"


def stream(name="level", count=10, step_us=250, **extra) -> list[Field]:
    return [
        Field(name, 0.5 * i, timestamp=STAMP + dt.timedelta(microseconds=step_us * i), **extra) for i in range(count)
    ]


@st.composite
def runs(draw, node=S.NO_NODE):
    """Fields of a few columns, each with several values at arbitrary times, interleaved."""
    columns = draw(st.lists(S.fields(node=node), min_size=1, max_size=3))
    fields = []
    for template in columns:
        count = draw(st.integers(1, 3 * series.MIN_RUN))
        for _ in range(count):
            value = draw(S.values_of(template.type))
            fields.append(dataclasses.replace(template, value=value, timestamp=draw(S.utc_datetimes)))
    return draw(st.permutations(fields))


def assert_same(got, expected):
    """The same fields in the same order (NaN equal to NaN)."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert S.same_field(a, b), (a, b)


def value_text(element: ET.Element) -> list:
    return json.loads(element.find(f".//{SERIES}").text)


@st.composite
def streams(draw):
    """What a live stream reports: rows of values of a few fields, one row per moment, later moments later."""
    columns = draw(st.lists(S.fields(node=st.none()), min_size=1, max_size=3, unique_by=lambda f: f.name))
    start = draw(S.utc_datetimes.filter(lambda t: t.year < 9000))
    steps = draw(st.lists(st.integers(1, 10**9), min_size=series.MIN_RUN, max_size=3 * series.MIN_RUN))
    fields, moment = [], start
    for step in steps:
        moment += dt.timedelta(microseconds=step)
        for template in columns:
            fields.append(dataclasses.replace(template, value=draw(S.values_of(template.type)), timestamp=moment))
    return fields


# --- the same fields as the plain form ----------------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(streams(), st.sampled_from(sd.NAMESPACES))
def test_a_live_stream_travels_as_runs_and_reads_back_exactly_as_the_plain_form(fields, ns):
    element = wire(sd.build_response("r", fields, ns=ns, series=True))
    assert element.find(f".//{SERIES}") is not None
    plain = sd.parse_response(wire(sd.build_response("r", fields, ns=ns))).fields
    assert_same(sd.parse_response(element).fields, plain)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(runs(node=st.none() | S.nodes), st.sampled_from(sd.NAMESPACES))
def test_runs_read_back_as_the_plain_form_does(fields, ns):
    if any(f.node for f in fields) and not all(f.node for f in fields):
        fields = [f for f in fields if f.node is None]  # one response holds a device's fields or nodes'
    plain = sd.parse_response(wire(sd.build_response("r", fields, ns=ns))).fields
    packed = sd.parse_response(wire(sd.build_response("r", fields, ns=ns, series=True))).fields
    assert_same(packed, plain)


def test_a_long_run_is_one_element_whose_first_value_any_reader_understands():
    fields = stream(count=10, unit="mm", decimals=2)
    element = wire(sd.build_response("s1", fields, series=True))
    (q,) = element.iter(f"{{{SENSOR_DATA}}}q")
    assert (q.get("n"), q.get("v"), q.get("u")) == ("level", "0.00", "mm")
    offsets, values = value_text(element)
    assert offsets == [250 * i for i in range(1, 10)]
    assert values == [0.5 * i for i in range(1, 10)]
    assert element.find(f".//{SERIES}").get("d") == "2"
    assert sd.parse_response(element).fields == sd.parse_response(wire(sd.build_response("s1", fields))).fields
    # Whoever ignores the extension reads the first value, as the specification means <x> to be read.
    q.remove(q.find(f"{{{SENSOR_DATA}}}x"))
    assert sd.parse_response(element).fields == (fields[0],)


def test_values_out_of_time_order_or_repeated_at_one_time_go_plain_so_that_their_order_survives():
    backwards = list(reversed(stream(count=8)))
    same_moment = [Field(name, float(i), timestamp=STAMP) for i in range(4) for name in ("a", "b")]
    for fields in (backwards, same_moment):
        element = wire(sd.build_response("r", fields, series=True))
        assert element.find(f".//{SERIES}") is None
        assert_same(sd.parse_response(element).fields, sd.parse_response(wire(sd.build_response("r", fields))).fields)


def test_short_runs_stay_in_the_plain_form():
    fields = stream(count=series.MIN_RUN - 1)
    element = wire(sd.build_response("s1", fields, series=True))
    assert element.find(f".//{SERIES}") is None
    assert len(list(element.iter(f"{{{SENSOR_DATA}}}q"))) == series.MIN_RUN - 1


def test_fixed_decimals_round_the_values_as_the_plain_form_does():
    fields = [Field("t", 21.456 + i, unit="°C", decimals=1, timestamp=STAMP) for i in range(8)]
    packed = sd.parse_response(wire(sd.build_response("r", fields, series=True))).fields
    plain = sd.parse_response(wire(sd.build_response("r", fields))).fields
    assert packed == plain
    assert [f.value for f in packed] == [round(21.456 + i, 1) for i in range(8)]
    assert {f.decimals for f in packed} == {1}


def test_values_reported_together_keep_their_order_in_time():
    stamps = [STAMP + dt.timedelta(milliseconds=i) for i in range(6)]
    fields = [Field(f"ch{c}", float(i * 10 + c), timestamp=t) for i, t in enumerate(stamps) for c in range(3)]
    packed = sd.parse_response(wire(sd.build_response("r", fields, series=True))).fields
    assert [(f.name, f.timestamp) for f in packed] == [(f.name, f.timestamp) for f in fields]


def test_each_node_keeps_its_runs():
    a, b = NodeRef("a"), NodeRef("b")
    fields = [Field("v", float(i), timestamp=STAMP + dt.timedelta(seconds=i), node=n) for i in range(5) for n in (a, b)]
    packed = sd.parse_response(wire(sd.build_response("r", fields, series=True))).fields
    assert [(f.node, f.value) for f in packed] == [(n, float(i)) for n in (a, b) for i in range(5)]


@pytest.mark.parametrize("vtype", list(ValueType))
@given(data=st.data())
def test_every_value_type_validates_against_the_schemas(nfi_schema, vtype, data):
    template = data.draw(S.fields(vtype, node=st.none()))
    values = data.draw(st.lists(S.values_of(vtype), min_size=series.MIN_RUN, max_size=series.MIN_RUN + 3))
    fields = [dataclasses.replace(template, value=v) for v in values]
    element = sd.build_response("1", fields, series=True)
    assert element.find(f".//{SERIES}") is not None
    assert_valid(nfi_schema, without_loc(element))


# --- what a hostile sender cannot do ------------------------------------------------------------------


def tampered(text: str, d: str | None = None) -> ET.Element:
    element = wire(sd.build_response("r", stream(count=6), series=True))
    run = element.find(f".//{SERIES}")
    run.text = text
    if d is not None:
        run.set("d", d)
    return element


@pytest.mark.parametrize(
    ("text", "d", "says"),
    [
        ("not json", None, "not [[offsets], [values]]"),
        ("[[1,2],[1.0]]", None, "2 offsets but 1 values"),
        ("[[1.5],[1.0]]", None, "not a whole number of microseconds"),
        ('[[1],["1.0"]]', None, "is not a number"),
        ("[[1],[true]]", None, "is not a number"),
        ("[[100000000000000000000],[1.0]]", None, "beyond any date"),
        ("[[1],[1.0]]", "x", "not a number of decimals"),
        ("[[1],[1.0]]", "999", "not a number of decimals"),
        ("[" * 100_000 + "]" * 100_000, None, "not [[offsets], [values]]"),
        ("{}", None, "not [[offsets], [values]]"),
    ],
)
def test_a_broken_run_is_a_protocol_error_that_names_the_field(text, d, says):
    with pytest.raises(ProtocolError, match="level") as caught:
        sd.parse_response(tampered(text, d))
    assert says in str(caught.value)


def test_a_run_cannot_carry_more_than_a_response_may_hold():
    count = sd.MAX_RESPONSE_ITEMS
    text = json.dumps([list(range(count)), [1.0] * count])
    with pytest.raises(ProtocolError, match="more than"):
        sd.parse_response(tampered(text))


@pytest.mark.parametrize(
    ("vtype", "raw", "says"),
    [
        (ValueType.INTEGER, 2**31, "whole number"),
        (ValueType.LONG, 1.5, "whole number"),
        (ValueType.BOOLEAN, 1, "true or false"),
        (ValueType.STRING, "\x00", "XML"),
        (ValueType.DATETIME, "yesterday", "xs:dateTime"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(vtype, raw, says):
    value = {ValueType.INTEGER: 1, ValueType.LONG: 1, ValueType.BOOLEAN: True, ValueType.STRING: "a"}.get(vtype, STAMP)
    head = Field("f", value, type=vtype, timestamp=STAMP)
    element = wire(sd.build_response("r", [head] * series.MIN_RUN, series=True))
    element.find(f".//{SERIES}").text = json.dumps([[1], [raw]])
    with pytest.raises(ProtocolError, match=says):
        sd.parse_response(element)


def test_special_doubles_survive():
    fields = [Field("x", v, timestamp=STAMP) for v in (math.inf, -math.inf, math.nan, 1e-05, 1e300, 2.5)]
    packed = sd.parse_response(wire(sd.build_response("r", fields, series=True))).fields
    plain = sd.parse_response(wire(sd.build_response("r", fields))).fields
    assert_same(packed, plain)
