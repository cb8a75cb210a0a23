"""Typed values: lexical forms, Duration, Field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol.values import (
    CATEGORY_ATTRIBUTES,
    LOCAL,
    MAX_DECIMALS,
    QOS_ATTRIBUTES,
    UTC,
    Category,
    Duration,
    Field,
    NodeRef,
    QoS,
    ValueType,
    format_datetime,
    format_double,
    format_time,
    format_value,
    infer_type,
    parse_boolean,
    parse_date,
    parse_datetime,
    parse_double,
    parse_integer,
    parse_time,
    parse_value,
)

from . import strategies as S

# --- every type survives its lexical form ------------------------------------------------------


@pytest.mark.parametrize("vtype", [t for t in ValueType if t is not ValueType.QUANTITY])
@given(data=st.data())
def test_every_value_type_round_trips_through_its_lexical_form(vtype, data):
    value = data.draw(S.values_of(vtype))
    parsed, decimals = parse_value(vtype, format_value(vtype, value))
    assert parsed == value
    assert decimals is None
    if vtype in (ValueType.DATETIME, ValueType.TIME):
        assert parsed.utcoffset() == value.utcoffset()


@given(st.floats(allow_nan=False), st.none() | st.integers(0, 30))
def test_quantities_round_trip_with_their_decimals(value, decimals):
    text = format_double(value, decimals)
    parsed, parsed_decimals = parse_double(text)
    if decimals is None:
        assert parsed == value  # repr() is exact
    else:
        assert parsed == float(f"{value:.{decimals}f}")
        if math.isfinite(value) and "e" not in text:
            assert parsed_decimals == decimals


@pytest.mark.parametrize(
    "text, value, decimals",
    [
        ("12.3", 12.3, 1),
        ("12.30", 12.3, 2),
        ("12", 12.0, 0),
        ("-.5", -0.5, 1),
        ("1.5E-3", 0.0015, 4),
        ("1.25e1", 12.5, 1),
        ("1e+16", 1e16, 0),
        (" 7.0 ", 7.0, 1),
        ("1e-99999999999999", 0.0, MAX_DECIMALS),
    ],
)
def test_decimals_are_read_from_the_lexical_form(text, value, decimals):
    assert parse_double(text) == (value, decimals)


def test_special_doubles_use_the_xml_schema_spelling():
    assert format_double(math.inf) == "INF"
    assert format_double(-math.inf, 2) == "-INF"
    assert format_double(math.nan) == "NaN"
    assert parse_double("-INF") == (-math.inf, None)
    assert math.isnan(parse_double("NaN")[0])
    with pytest.raises(ProtocolError):
        parse_double("inf")
    assert parse_double("inf", lenient=True) == (math.inf, None)


@pytest.mark.parametrize(
    "parse, text, hint",
    [
        (parse_double, "12,3", "decimal number"),
        (parse_double, "1_000", "decimal number"),
        (parse_double, "0x10", "decimal number"),
        (parse_double, "", "decimal number"),
        (lambda t: parse_integer(t, bits=32), "2147483648", "-2147483648..2147483647"),
        (lambda t: parse_integer(t, bits=64), "9223372036854775808", "..9223372036854775807"),
        (lambda t: parse_integer(t, bits=32), "1.0", "decimal digits"),
        (lambda t: parse_integer(t, bits=32), "\u0661\u0662", "decimal digits"),  # Arabic-Indic digits
        (lambda t: parse_integer(t, bits=32), "9" * 5000, "-2147483648..2147483647"),
        (parse_boolean, "yes", "true, false, 1 or 0"),
        (parse_boolean, "True", "true, false, 1 or 0"),
        (parse_datetime, "2017-09-22 15:22:33Z", "ISO 8601"),
        (parse_datetime, "2017-13-01T00:00:00Z", "month"),
        (parse_datetime, "2017-02-30T00:00:00Z", "day"),
        (parse_datetime, "2017-01-01T25:00:00Z", "hour"),
        (parse_datetime, "2017-01-01T24:00:01Z", "24:00:00"),
        (parse_datetime, "2017-01-01T00:00:00+15:00", "-14:00..+14:00"),
        (parse_datetime, "0000-01-01T00:00:00Z", "0001..9999"),
        (parse_datetime, "-0044-03-15T00:00:00Z", "0001..9999"),
        (parse_datetime, "10000-01-01T00:00:00Z", "0001..9999"),
        (parse_datetime, "2017-1-1T00:00:00Z", "ISO 8601"),
        (parse_date, "2017-02-29", "day"),
        (parse_date, "20170101", "ISO 8601"),
        (parse_time, "12:60:00", "minute"),
        (parse_time, "7:00:00", "time of day"),
        (Duration.parse, "P", "at least one component"),
        (Duration.parse, "PT", "at least one component"),
        (Duration.parse, "P1DT", "after T"),
        (Duration.parse, "P-1D", "ISO 8601 duration"),
        (Duration.parse, "1D", "ISO 8601 duration"),
        (Duration.parse, "PT1H1D", "ISO 8601 duration"),
        (Duration.parse, "P1234567890123456789012Y", "18 digits"),
    ],
)
def test_bad_lexical_forms_raise_protocol_error_naming_text_and_remedy(parse, text, hint):
    with pytest.raises(ProtocolError) as caught:
        parse(text)
    message = str(caught.value)
    assert hint in message
    assert repr(text[:60]) in message


def test_error_messages_cut_hostile_text_short():
    with pytest.raises(ProtocolError) as caught:
        parse_datetime("x" * 1_000_000)
    assert len(str(caught.value)) < 300
    assert "1000000 characters" in str(caught.value)


def test_integers_accept_sign_leading_zeros_and_surrounding_whitespace():
    assert parse_integer("+0000000000000000000000042") == 42
    assert parse_integer(" -7\n") == -7
    assert parse_integer("-9223372036854775808", bits=64) == -(2**63)


def test_booleans_lenient_accepts_python_spelling_only_when_asked():
    assert parse_boolean("1") is True and parse_boolean(" false ") is False
    assert parse_boolean("True", lenient=True) is True
    assert parse_boolean("FALSE", lenient=True) is False


# --- date and time ------------------------------------------------------------------------------


def test_zone_less_wire_timestamps_are_utc_by_default_and_local_on_request():
    assert parse_datetime("2018-07-18T15:19:57.732") == dt.datetime(2018, 7, 18, 15, 19, 57, 732000, tzinfo=UTC)
    local = parse_datetime("2018-07-18T15:19:57", naive_tz=LOCAL)
    assert local == dt.datetime(2018, 7, 18, 15, 19, 57).astimezone(UTC)


def test_offsets_are_kept_and_24_00_is_the_next_day():
    value = parse_datetime("2017-12-31T24:00:00-05:00")
    assert value == dt.datetime(2018, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert format_datetime(value) == "2018-01-01T00:00:00-05:00"
    assert parse_time("24:00:00") == dt.time(0)


def test_fractions_beyond_microseconds_are_truncated_not_rounded():
    assert parse_datetime("2017-01-01T23:59:59.9999999Z").day == 1
    assert parse_time("12:00:00.1234567").microsecond == 123456


def test_format_datetime_writes_unrepresentable_offsets_in_utc():
    odd = dt.timezone(dt.timedelta(hours=1, seconds=30))
    assert format_datetime(dt.datetime(2020, 1, 1, 12, tzinfo=odd)) == "2020-01-01T10:59:30Z"
    assert format_datetime(dt.datetime(5, 6, 7, 8, 9, 10, 120000, tzinfo=UTC)) == "0005-06-07T08:09:10.12Z"
    with pytest.raises(ValueError, match="whole minutes"):
        format_time(dt.time(1, tzinfo=odd))


def test_dates_drop_their_zone():
    assert parse_date("2020-02-29+05:00") == dt.date(2020, 2, 29)


# --- Duration -------------------------------------------------------------------------------------


@given(S.durations)
def test_durations_round_trip(duration):
    assert Duration.parse(str(duration)) == duration


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("P1Y2M3DT4H5M6.7S", "P1Y2M3DT4H5M6.7S"),
        ("-PT0S", "-PT0S"),
        ("P0Y", "PT0S"),
        ("PT1.S", "PT1S"),
        ("PT.50S", "PT0.5S"),
        ("PT1M", "PT1M"),
        ("P1M", "P1M"),
    ],
)
def test_duration_canonical_forms(text, canonical):
    assert str(Duration.parse(text)) == canonical


def test_duration_seconds_are_exact_decimals():
    assert Duration(seconds=0.1).seconds == decimal.Decimal("0.1")
    assert str(Duration(seconds="1.50")) == "PT1.5S"


@given(st.timedeltas(min_value=dt.timedelta(days=-(10**6)), max_value=dt.timedelta(days=10**6)))
def test_timedeltas_convert_both_ways(delta):
    assert Duration.from_timedelta(delta).to_timedelta() == delta


def test_durations_with_months_refuse_a_timedelta_but_move_datetimes_on_the_calendar():
    month = Duration(months=1)
    with pytest.raises(ValueError, match="add_to"):
        month.to_timedelta()
    assert month.add_to(dt.datetime(2024, 1, 31)) == dt.datetime(2024, 2, 29)
    assert Duration(years=1, negative=True).add_to(dt.datetime(2024, 2, 29)) == dt.datetime(2023, 2, 28)
    assert Duration.parse("-P1MT1H").add_to(dt.datetime(2024, 3, 1, 0, 30)) == dt.datetime(2024, 1, 31, 23, 30)


@pytest.mark.parametrize(
    "kwargs",
    [{"days": -1}, {"hours": 1.5}, {"seconds": -1}, {"seconds": math.inf}, {"seconds": "abc"}, {"years": True}],
)
def test_duration_refuses_impossible_parts(kwargs):
    with pytest.raises((ValueError, TypeError)):
        Duration(**kwargs)


# --- flags ------------------------------------------------------------------------------------------


def test_category_and_qos_wire_names_are_the_specifications():
    assert [CATEGORY_ATTRIBUTES[c] for c in Category.ALL] == ["m", "p", "s", "c", "i", "h"]
    assert [QOS_ATTRIBUTES[q] for q in QoS] == [
        "ms",
        "pr",
        "ae",
        "me",
        "mr",
        "ar",
        "of",
        "w",
        "er",
        "so",
        "iv",
        "eos",
        "pf",
        "ic",
    ]
    assert Category.HISTORICAL.attribute == "h"
    assert QoS.END_OF_SERIES.attribute == "eos"
    with pytest.raises(ValueError, match="iterate"):
        _ = (Category.MOMENTARY | Category.PEAK).attribute


# --- Field -----------------------------------------------------------------------------------------


class Mode(enum.Enum):
    AUTO = 1
    MANUAL = 2


@pytest.mark.parametrize(
    "value, vtype",
    [
        (True, ValueType.BOOLEAN),
        (7, ValueType.INTEGER),
        (2**31, ValueType.LONG),
        (-(2**31) - 1, ValueType.LONG),
        (1.5, ValueType.QUANTITY),
        ("x", ValueType.STRING),
        (Mode.AUTO, ValueType.ENUM),
        (dt.datetime(2020, 1, 1, tzinfo=UTC), ValueType.DATETIME),
        (dt.date(2020, 1, 1), ValueType.DATE),
        (dt.time(1, 2), ValueType.TIME),
        (dt.timedelta(seconds=3), ValueType.DURATION),
        (Duration(days=1), ValueType.DURATION),
    ],
)
def test_infer_type(value, vtype):
    assert infer_type(value) is vtype
    assert Field("f", value).type is vtype


def test_infer_type_refuses_what_cannot_be_sent():
    with pytest.raises(ValueError, match="64 bits"):
        infer_type(2**63)
    with pytest.raises(TypeError, match="list"):
        infer_type([1])


def test_field_coerces_values_to_their_canonical_python_type():
    assert Field("t", 3, type=ValueType.QUANTITY).value == 3.0
    assert isinstance(Field("t", 3, type=ValueType.QUANTITY).value, float)
    assert Field("up", dt.timedelta(minutes=90)).value == Duration(hours=1, minutes=30)
    enum_field = Field("mode", Mode.MANUAL)
    assert (enum_field.value, enum_field.enum_type) == ("MANUAL", "Mode")
    assert Field("mode", "Auto", enum_type="Modes").type is ValueType.ENUM


def test_naive_python_datetimes_are_local_time():
    naive = dt.datetime(2020, 6, 1, 12, 0)
    field = Field("t", 1.0, timestamp=naive)
    assert field.timestamp == naive.astimezone(UTC)
    assert field.timestamp.tzinfo is UTC
    assert Field("dt", naive).value == naive.astimezone()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"value": "x", "unit": "m"}, "only apply to quantities"),
        ({"value": 1, "decimals": 2}, "only apply to quantities"),
        ({"value": 1.0, "decimals": -1}, "decimals"),
        ({"value": 1.0, "decimals": MAX_DECIMALS + 1}, "decimals"),
        ({"value": "x", "type": ValueType.ENUM}, "enum_type"),
        ({"value": "x", "type": ValueType.STRING, "enum_type": "T"}, "only applies to enum"),
        ({"value": 1, "enum_type": "T"}, "only applies to enum"),
        ({"value": True, "type": ValueType.QUANTITY}, "must be a float"),
        ({"value": 1.5, "type": ValueType.INTEGER}, "must be an int"),
        ({"value": 2**31, "type": ValueType.INTEGER}, "outside"),
        ({"value": dt.datetime(2020, 1, 1), "type": ValueType.DATE}, ".date()"),
        ({"value": "a\x00b"}, "U+0000"),
        ({"value": "ok", "unit": None, "localization": "x"}, "list of steps"),
        ({"value": 1, "categories": 1}, "Category"),
    ],
)
def test_field_refuses_values_the_wire_cannot_carry(kwargs, message):
    with pytest.raises((ValueError, TypeError)) as caught:
        Field("f", **kwargs)
    assert message in str(caught.value)


def test_field_name_must_be_xml_text():
    with pytest.raises(ValueError, match=r"U\+001B"):
        Field("bad\x1bname", 1)


def test_field_repr_reads_like_the_reading():
    field = Field(
        "Temperature",
        12.3,
        unit="°C",
        decimals=1,
        timestamp=dt.datetime(2017, 9, 22, 15, 22, 33, tzinfo=UTC),
        categories=Category.MOMENTARY,
        qos=QoS.AUTOMATIC_READOUT,
        node=NodeRef("N1"),
    )
    assert repr(field) == (
        "<Field Temperature = 12.3 °C [quantity, momentary, automatic readout, node N1, 2017-09-22T15:22:33Z]>"
    )


def test_fields_are_values():
    stamp = dt.datetime(2020, 1, 1, tzinfo=UTC)
    a = Field("x", 1.0, timestamp=stamp)
    assert a == Field("x", 1, type=ValueType.QUANTITY, timestamp=stamp)
    assert hash(a) == hash(dataclasses.replace(a))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.value = 2.0  # type: ignore[misc]
