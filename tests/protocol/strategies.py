"""Hypothesis strategies for the sensor data model, shared by the protocol tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from hypothesis import strategies as st

from xiotlab.protocol.values import UTC, Category, Duration, Field, NodeRef, QoS, ReadoutError, ValueType

# XML-legal text, with the tab and newline that attribute escaping must preserve.
xml_chars = st.one_of(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"), st.sampled_from("\t\n")
)
text = st.text(xml_chars, max_size=20)
names = st.text(xml_chars, min_size=1, max_size=20)

offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
aware_datetimes = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=offsets)
utc_datetimes = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)).map(
    lambda d: d.replace(tzinfo=UTC)
)
times = st.times(timezones=st.one_of(st.none(), offsets))
durations = st.builds(
    Duration,
    years=st.integers(0, 9999),
    months=st.integers(0, 9999),
    days=st.integers(0, 99999),
    hours=st.integers(0, 99999),
    minutes=st.integers(0, 99999),
    seconds=st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False),
    negative=st.booleans(),
)
categories = st.sets(st.sampled_from(list(Category.ALL))).map(lambda s: _combine(s, Category(0)))
qos_flags = st.sets(st.sampled_from(list(QoS))).map(lambda s: _combine(s, QoS(0)))
nodes = st.builds(NodeRef, names, st.none() | text, st.none() | text)
NO_NODE = st.none()
"""The default of :func:`fields`: fields about no node."""
localizations = st.sampled_from([None, "1", "2||5", "1,3", "2||5,3", "1,1|Stat", "1,1|Stat,3"])


def _combine(flags, empty):
    for flag in flags:
        empty |= flag
    return empty


_values = {
    ValueType.QUANTITY: st.floats(allow_nan=True, allow_infinity=True),
    ValueType.BOOLEAN: st.booleans(),
    ValueType.INTEGER: st.integers(-(2**31), 2**31 - 1),
    ValueType.LONG: st.integers(-(2**63), 2**63 - 1),
    ValueType.STRING: text,
    ValueType.ENUM: text,
    ValueType.DATE: st.dates(),
    ValueType.TIME: times,
    ValueType.DATETIME: aware_datetimes,
    ValueType.DURATION: durations,
}


def values_of(vtype: ValueType):
    """Python values of one type."""
    return _values[vtype]


@st.composite
def fields(draw, vtype: ValueType | None = None, node=NO_NODE):
    """Fields of one type, or of any type when ``vtype`` is None."""
    vtype = vtype or draw(st.sampled_from(list(ValueType)))
    extra = {}
    if vtype is ValueType.QUANTITY:
        extra = {"unit": draw(st.none() | text), "decimals": draw(st.none() | st.integers(0, 20))}
    elif vtype is ValueType.ENUM:
        extra = {"enum_type": draw(text)}
    return Field(
        name=draw(names),
        value=draw(values_of(vtype)),
        type=vtype,
        timestamp=draw(utc_datetimes),
        categories=draw(categories),
        qos=draw(qos_flags),
        writable=draw(st.booleans()),
        node=draw(node),
        localization_namespace=draw(st.none() | text),
        localization=draw(localizations),
        **extra,
    )


errors = st.builds(ReadoutError, text.filter(lambda s: "\r" not in s), utc_datetimes)


def expected_after_round_trip(field: Field, parsed_decimals: int | None) -> Field:
    """What a field should read back as: quantities come back with the decimals they were written with."""
    if field.type is not ValueType.QUANTITY:
        return field
    value = float(field.lexical_value.replace("INF", "inf").replace("NaN", "nan"))
    return dataclasses.replace(field, value=value, decimals=parsed_decimals)


def same_field(a: Field, b: Field) -> bool:
    """Field equality that treats NaN as equal to NaN and checks datetime offsets too."""
    if a.type is ValueType.QUANTITY and math.isnan(a.value) and math.isnan(b.value):
        a = dataclasses.replace(a, value=0.0)
        b = dataclasses.replace(b, value=0.0)
    if a.type is ValueType.DATETIME and a.value.utcoffset() != b.value.utcoffset():
        return False
    if a.type is ValueType.TIME and a.value.utcoffset() != b.value.utcoffset():
        return False
    return a == b
