"""Chat commands as a person types them, and the lines a thing answers: pure text, no network."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiotlab.protocol import chat
from xiotlab.protocol.parameters import ControlParameter, ParameterType
from xiotlab.protocol.values import Category, Field, ReadoutError, ValueType

NOON = dt.datetime(2024, 5, 1, 14, 2, 3, tzinfo=dt.UTC)
MOMENTARY = Category.MOMENTARY


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("help", chat.Help()),
        ("  HELP ", chat.Help()),
        ("hi", chat.Help()),
        ("read", chat.Read()),
        ("Read temperature", chat.Read(("temperature",))),
        ("read temperature, humidity temperature", chat.Read(("temperature", "humidity"))),
        ("set on=true", chat.Set((("on", "true"),))),
        ("set brightness = 40  on=false", chat.Set((("brightness", "40"), ("on", "false")))),
        ('set label="living room"', chat.Set((("label", "living room"),))),
        ("set label=", chat.Set((("label", ""),))),
    ],
)
def test_commands_are_read_as_people_type_them(text, command):
    assert chat.parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("make coffee", "unknown command 'make'; type help"),
        ("set", "set what? type set NAME=VALUE"),
        ("set on", "'on' is not NAME=VALUE; type set NAME=VALUE"),
        ("set =1", "'=1' is not NAME=VALUE; type set NAME=VALUE"),
        ('set label="open', 'a quote is not closed; type set NAME=VALUE, or set NAME="a value with spaces"'),
        ("x" * 1001, "that is too long for a command (1001 characters); type help"),
    ],
)
def test_what_is_not_a_command_gets_a_line_saying_what_to_type(text, answer):
    with pytest.raises(chat.ChatError) as refused:
        chat.parse_command(text)
    assert str(refused.value) == answer


@given(st.text(max_size=300))
def test_any_text_is_a_command_or_a_one_line_answer(text):
    try:
        chat.parse_command(text)
    except chat.ChatError as refused:
        assert "\n" not in str(refused) and len(str(refused)) < 200


def test_a_field_is_one_short_line():
    field = Field(
        "temperature", 21.46, type=ValueType.QUANTITY, unit="°C", decimals=1, timestamp=NOON, categories=MOMENTARY
    )
    assert chat.format_field(field, today=NOON.date()) == "temperature: 21.5 °C (momentary, 14:02:03 UTC)"
    yesterday = NOON.date() + dt.timedelta(days=1)
    assert chat.format_field(field, today=yesterday) == "temperature: 21.5 °C (momentary, 2024-05-01 14:02:03 UTC)"
    status = Field("on", True, timestamp=NOON, categories=Category.STATUS | Category.IDENTITY)
    assert chat.format_field(status, today=NOON.date()) == "on: true (status, identity, 14:02:03 UTC)"


def test_a_readout_names_what_has_no_value_and_the_errors():
    field = Field("humidity", 40, type=ValueType.QUANTITY, unit="%", decimals=0, timestamp=NOON, categories=MOMENTARY)
    text = chat.format_readout([field], [ReadoutError("Reading 'door' failed")], ["humidity", "power"], NOON.date())
    assert text.splitlines() == [
        "humidity: 40 % (momentary, 14:02:03 UTC)",
        "power: no value yet",
        "error: Reading 'door' failed",
    ]


def test_unknown_names_come_with_a_guess_and_the_list():
    fields = ["temperature", "humidity"]
    assert chat.unknown("field", "temprature", fields) == (
        "unknown field 'temprature' (did you mean 'temperature'?); fields: temperature, humidity"
    )
    assert chat.unknown("control", "x", []) == "unknown control 'x'; controls: (none)"


def test_help_lists_fields_and_controls_with_their_limits():
    brightness = ControlParameter("brightness", ParameterType.DOUBLE, min=0.0, max=100.0, value=50.0)
    text = chat.format_help("lamp@lab", ["power"], [brightness])
    assert "read FIELD" in text and "fields: power" in text
    assert "controls:\n  brightness: double 0.0..100.0 = 50.0" in text
    assert chat.format_set([brightness]) == "done: brightness = 50.0"
