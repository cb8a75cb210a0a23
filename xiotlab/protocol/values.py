"""Typed values, shared by every dialect: sensor data, events, control, and the legacy ones.

A :class:`Field` is one reported value: a name, a Python value of one of the
ten :class:`ValueType` kinds, a timestamp and the annotations the wire carries
(unit, decimals, :class:`Category`, :class:`QoS`, ...). The dialect modules
(:mod:`.sensordata`, :mod:`.events`, :mod:`.legacy_sensordata`) only decide
element and attribute names; the lexical forms of the values live here, in
one place, as ``parse_*``/``format_*`` pairs, with :func:`coerce_value`,
:func:`format_value` and :func:`parse_value` as the entry points by type.

Control parameters map onto the same types (:class:`~.parameters.ParameterType`
is a value type with limits: its DOUBLE is QUANTITY, its INT is INTEGER);
only their color (:func:`parse_color`, :func:`format_color`) has no sensor
data counterpart.

Python value of each type:

==========  ===========================  ==================================
ValueType   Python                       wire (XML Schema)
==========  ===========================  ==================================
QUANTITY    float (+ unit, decimals)     xs:double
BOOLEAN     bool                         xs:boolean
INTEGER     int, 32 bits                 xs:int
LONG        int, 64 bits                 xs:long
STRING      str                          xs:string
ENUM        str (+ enum_type)            xs:string
DATE        datetime.date                xs:date (zone dropped)
TIME        datetime.time (zone kept)    xs:time
DATETIME    aware datetime.datetime      xs:dateTime
DURATION    :class:`Duration`            xs:duration
==========  ===========================  ==================================

Time zones: a naive *Python* datetime handed to xiotlab is local time (the
Python convention, and what ``datetime.now()`` returns). A timestamp on the
wire without a zone is read as UTC by default: the neuro-foundation examples
mix zoned and unzoned stamps and the reference implementation writes UTC.
Parsers of the legacy dialect pass ``naive_tz=LOCAL`` instead, see there.

Every ``parse_*`` raises :class:`~xiotlab.errors.ProtocolError` on a bad
lexical form and nothing else; constructors raise ``ValueError``/``TypeError``
for values that can not be put on the wire.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import re
from typing import Any, TypeGuard, Union

from ..errors import ProtocolError

__all__ = [
    "UTC", "LOCAL", "ValueType", "Category", "QoS", "CATEGORY_ATTRIBUTES", "QOS_ATTRIBUTES", "Duration", "NodeRef",
    "Field", "ReadoutError", "FieldValue", "MAX_DECIMALS", "PYTHON_TYPES",
    "infer_type", "check_xml_text", "check_localization", "coerce_value", "as_utc",
    # lexical forms, in parse/format pairs
    "parse_boolean", "format_boolean", "parse_integer", "format_integer", "parse_double", "format_double",
    "parse_datetime", "format_datetime", "parse_date", "format_date", "parse_time", "format_time",
    "parse_duration", "format_duration", "parse_color", "format_color", "parse_value", "format_value",
]  # fmt: skip

UTC = dt.UTC
"""The UTC zone; every :attr:`Field.timestamp` is expressed in it."""

LOCAL = None
"""Pass as ``naive_tz`` to read zone-less wire timestamps as this machine's local time."""

MAX_DECIMALS = 340
"""Largest number of decimals a quantity may carry.

Enough for the smallest double (4.9e-324) with all its digits; a hostile
``1e-999999`` is clamped to it instead of producing megabytes of zeros.
"""

_INT32_RANGE = (-(2**31), 2**31 - 1)
_INT64_RANGE = (-(2**63), 2**63 - 1)


# --- enumerations -------------------------------------------------------------


class ValueType(enum.Enum):
    """The kind of value a field carries; the value is the XEP-0323 name of the kind."""

    QUANTITY = "quantity"
    BOOLEAN = "boolean"
    INTEGER = "int"
    LONG = "long"
    STRING = "string"
    ENUM = "enum"
    DATE = "date"
    TIME = "time"
    DATETIME = "dateTime"
    DURATION = "duration"

    def __repr__(self) -> str:
        return f"ValueType.{self.name}"

    @property
    def xsd(self) -> str:
        """The XML Schema type of the lexical form, such as ``xs:double``."""
        return _XSD[self]


_XSD = {
    ValueType.QUANTITY: "xs:double",
    ValueType.BOOLEAN: "xs:boolean",
    ValueType.INTEGER: "xs:int",
    ValueType.LONG: "xs:long",
    ValueType.STRING: "xs:string",
    ValueType.ENUM: "xs:string",
    ValueType.DATE: "xs:date",
    ValueType.TIME: "xs:time",
    ValueType.DATETIME: "xs:dateTime",
    ValueType.DURATION: "xs:duration",
}


# Looked up once for hot paths: finding an enum member by attribute costs about 50 ns.
_QUANTITY = ValueType.QUANTITY
_ENUM = ValueType.ENUM
_TEXT_TYPES = frozenset({ValueType.STRING, ValueType.ENUM})


class Category(enum.Flag):
    """Field categories (combinable); also what a request or subscription asks for.

    ``Category.ALL`` is every category; on the wire it becomes ``all="true"``
    in requests. The short wire attribute of a single member is
    :attr:`attribute`.
    """

    MOMENTARY = enum.auto()
    PEAK = enum.auto()
    STATUS = enum.auto()
    COMPUTED = enum.auto()
    IDENTITY = enum.auto()
    HISTORICAL = enum.auto()
    ALL = MOMENTARY | PEAK | STATUS | COMPUTED | IDENTITY | HISTORICAL

    @property
    def attribute(self) -> str:
        """The neuro-foundation attribute name of this single category (``m``, ``p``, ...)."""
        return _single_attribute(self, CATEGORY_ATTRIBUTES)


class QoS(enum.Flag):
    """Quality-of-service flags of a field, every one the specification defines."""

    MISSING = enum.auto()
    IN_PROGRESS = enum.auto()
    AUTOMATIC_ESTIMATE = enum.auto()
    MANUAL_ESTIMATE = enum.auto()
    MANUAL_READOUT = enum.auto()
    AUTOMATIC_READOUT = enum.auto()
    TIME_OFFSET = enum.auto()
    WARNING = enum.auto()
    ERROR = enum.auto()
    SIGNED = enum.auto()
    INVOICED = enum.auto()
    END_OF_SERIES = enum.auto()
    POWER_FAILURE = enum.auto()
    INVOICE_CONFIRMED = enum.auto()

    @property
    def attribute(self) -> str:
        """The neuro-foundation attribute name of this single flag (``ms``, ``ar``, ...)."""
        return _single_attribute(self, QOS_ATTRIBUTES)


CATEGORY_ATTRIBUTES: dict[Category, str] = {
    Category.MOMENTARY: "m",
    Category.PEAK: "p",
    Category.STATUS: "s",
    Category.COMPUTED: "c",
    Category.IDENTITY: "i",
    Category.HISTORICAL: "h",
}
"""Category → attribute name in ``urn:nfi:iot:sd:1.0`` (and its aliases)."""

QOS_ATTRIBUTES: dict[QoS, str] = {
    QoS.MISSING: "ms",
    QoS.IN_PROGRESS: "pr",
    QoS.AUTOMATIC_ESTIMATE: "ae",
    QoS.MANUAL_ESTIMATE: "me",
    QoS.MANUAL_READOUT: "mr",
    QoS.AUTOMATIC_READOUT: "ar",
    QoS.TIME_OFFSET: "of",
    QoS.WARNING: "w",
    QoS.ERROR: "er",
    QoS.SIGNED: "so",
    QoS.INVOICED: "iv",
    QoS.END_OF_SERIES: "eos",
    QoS.POWER_FAILURE: "pf",
    QoS.INVOICE_CONFIRMED: "ic",
}
"""QoS flag → attribute name in ``urn:nfi:iot:sd:1.0`` (and its aliases)."""


def _single_attribute(flag: enum.Flag, table: dict) -> str:
    try:
        return table[flag]
    except KeyError:
        raise ValueError(f"{flag!r} is not a single flag; iterate over it to get one attribute per member") from None


def _member_label(flag: enum.Flag) -> str:
    """``automatic readout`` for ``QoS.AUTOMATIC_READOUT``: a single member in words, for reprs.

    ``enum.Flag.name`` is ``None`` only for a combination without a name of
    its own, which iterating over flags never yields; its value stands in then.
    """
    return (flag.name or str(flag.value)).lower().replace("_", " ")


# --- small helpers --------------------------------------------------------------

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_SPACE = " \t\n\r"


def check_xml_text(text: object, what: str) -> str:
    """Return ``text`` if it is a str XML can carry, else raise ``TypeError``/``ValueError``.

    ElementTree serializes control characters and lone surrogates without
    complaint, and the receiving server then drops the whole stream; this
    check stops such text where it is made.
    """
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    bad = _XML_ILLEGAL.search(text)
    if bad:
        raise ValueError(
            f"{what} contains the character U+{ord(bad.group()):04X}, which XML cannot carry; remove or replace it"
        )
    return text


def _is_xml_text(text: object) -> TypeGuard[str]:
    """Whether :func:`check_xml_text` accepts ``text``.

    Hot paths test with this and call ``check_xml_text`` only to raise, so
    that its error message is composed only when there is an error.
    """
    return isinstance(text, str) and _XML_ILLEGAL.search(text) is None


def _quote(text: str, limit: int = 60) -> str:
    """The offending text for an error message, cut short: hostile input can be megabytes."""
    if len(text) > limit:
        return repr(text[:limit]) + f"... ({len(text)} characters)"
    return repr(text)


def _bad(kind: str, text: str, where: str, hint: str) -> ProtocolError:
    place = f" in {where}" if where else ""
    return ProtocolError(f"bad {kind} {_quote(text)}{place}: {hint}")


def _collapse(text: str) -> str:
    # Every XML Schema type but xs:string collapses surrounding whitespace.
    return text.strip(_XML_SPACE)


def _groups(pattern: re.Pattern, kind: str, text: str, where: str, hint: str) -> tuple:
    """The groups of ``pattern`` matching the collapsed ``text``, else the error of a bad ``kind``."""
    match = pattern.fullmatch(_collapse(text))
    if not match:
        raise _bad(kind, text, where, hint)
    return match.groups()


# --- xs:boolean -------------------------------------------------------------------


def parse_boolean(text: str, where: str = "", *, lenient: bool = False) -> bool:
    """Read an xs:boolean (``true``, ``false``, ``1``, ``0``).

    ``lenient`` also accepts any letter case (``True``), which Python peers
    produce with ``str(True)``.
    """
    word = _collapse(text)
    if lenient:
        word = word.lower()
    if word in ("true", "1"):
        return True
    if word in ("false", "0"):
        return False
    raise _bad("xs:boolean", text, where, "use true, false, 1 or 0")


def format_boolean(value: bool) -> str:
    """Write an xs:boolean as ``true`` or ``false``."""
    return "true" if value else "false"


# --- xs:int / xs:long -------------------------------------------------------------

_INTEGER = re.compile(r"([+-]?)0*([0-9]+)")


def parse_integer(text: str, where: str = "", *, bits: int = 32) -> int:
    """Read an xs:int (``bits=32``) or xs:long (``bits=64``), range-checked."""
    kind = "xs:int" if bits == 32 else "xs:long"
    match = _INTEGER.fullmatch(_collapse(text))
    if not match:
        raise _bad(kind, text, where, "use decimal digits with an optional sign, such as -42")
    sign, digits = match.groups()
    low, high = _INT32_RANGE if bits == 32 else _INT64_RANGE
    # The length test comes first: int() of a huge digit string is slow, and refused past 4300 digits.
    if len(digits) > 20 or not low <= (value := int(sign + digits)) <= high:
        raise _bad(kind, text, where, f"the value must lie in {low}..{high}")
    return value


def format_integer(value: int) -> str:
    """Write an xs:int or xs:long."""
    return str(int(value))


# --- xs:double ----------------------------------------------------------------------

_DOUBLE = re.compile(r"[+-]?([0-9]+(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_PLAIN_DOUBLE = re.compile(r"-?[0-9]+(?:\.([0-9]*))?")  # 12, -12.30: how nearly every value is written
_SPECIAL_DOUBLES = {"INF": math.inf, "+INF": math.inf, "-INF": -math.inf, "NaN": math.nan}
_PYTHON_SPECIALS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def parse_double(text: str, where: str = "", *, lenient: bool = False) -> tuple[float, int | None]:
    """Read an xs:double; return the value and the number of decimals its lexical form shows.

    ``"12.30"`` gives ``(12.3, 2)``, ``"1.5e-3"`` gives ``(0.0015, 4)``,
    ``"INF"`` gives ``(inf, None)``. ``lenient`` also accepts Python's
    ``inf``/``nan`` spellings, which Python peers produce with ``str(float)``.
    """
    word = _collapse(text)
    plain = _PLAIN_DOUBLE.fullmatch(word)
    if plain:  # a shortcut for the common form, whose decimals are the digits after the point
        return float(word), min(len(plain.group(1) or ""), MAX_DECIMALS)
    if word in _SPECIAL_DOUBLES:
        return _SPECIAL_DOUBLES[word], None
    if lenient and word.lower() in _PYTHON_SPECIALS:
        return _PYTHON_SPECIALS[word.lower()], None
    match = _DOUBLE.fullmatch(word)
    if not match:
        raise _bad("xs:double", text, where, "use a decimal number such as 12.3 or 1.5E-3, or INF, -INF, NaN")
    _, fraction, bare_fraction, exponent = match.groups()
    fraction = fraction if fraction is not None else (bare_fraction or "")
    if exponent is None:
        decimals = len(fraction)
    elif len(exponent.lstrip("+-").lstrip("0")) > 6:
        # Absurd exponents: the value is 0 or infinite anyway, and int() of them is costly.
        decimals = MAX_DECIMALS if exponent.startswith("-") else 0
    else:
        decimals = max(0, len(fraction) - int(exponent))
    return float(word), min(decimals, MAX_DECIMALS)


def format_double(value: float, decimals: int | None = None) -> str:
    """Write an xs:double, with exactly ``decimals`` decimals when given."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    if decimals is None:
        return repr(value)
    return f"{value:.{decimals}f}"


# --- xs:dateTime / xs:date / xs:time --------------------------------------------------

_ZONE = r"(Z|[+-][0-9]{2}:[0-9]{2})?"
_DATETIME = re.compile(r"(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?" + _ZONE)
_DATE = re.compile(r"(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})" + _ZONE)
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?" + _ZONE)


def _zone(text: str | None, kind: str, raw: str, where: str) -> dt.tzinfo | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59 or hours > 14 or (hours == 14 and minutes):
        raise _bad(kind, raw, where, "a time zone offset must lie within -14:00..+14:00")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-offset if text[0] == "-" else offset)


def _micro(fraction: str | None) -> int:
    # Python keeps microseconds; further digits are cut, not rounded, so 59.9999999 stays in its second.
    return int((fraction or "")[:6].ljust(6, "0"))


def _year(text: str, kind: str, raw: str, where: str) -> int:
    if text.startswith("-") or len(text) > 4 or text == "0000":
        raise _bad(kind, raw, where, "the year must lie in 0001..9999, the years Python can represent")
    return int(text)


def parse_datetime(text: str, where: str = "", *, naive_tz: dt.tzinfo | None = UTC) -> dt.datetime:
    """Read an xs:dateTime into an aware datetime, keeping the offset it was written with.

    A stamp without zone is taken to be in ``naive_tz`` (UTC by default; pass
    :data:`LOCAL` for this machine's local time). ``24:00:00`` is the first
    instant of the next day, as XML Schema defines.
    """
    kind = "xs:dateTime"
    word = _collapse(text)
    match = _DATETIME.fullmatch(word)
    if not match:
        raise _bad(kind, text, where, "use an ISO 8601 timestamp such as 2017-09-22T15:22:33Z")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = _zone(zone, kind, text, where)
    number_of_year = _year(year, kind, text, where)
    if tz is UTC and hour != "24" and (fraction is None or len(fraction) in (3, 6)):
        # What peers write, xiotlab and the reference implementation included; C's fromisoformat
        # reads exactly this form (Python 3.11+) several times faster than the code below.
        try:
            return dt.datetime.fromisoformat(word)
        except ValueError:
            pass  # no such day or time of day: the code below says why
    try:
        end_of_day = hour == "24"
        if end_of_day and (minute != "00" or second != "00" or (fraction or "0").strip("0")):
            raise ValueError("24 as hour is only allowed as 24:00:00")
        value = dt.datetime(
            number_of_year,
            int(month),
            int(day),
            0 if end_of_day else int(hour),
            int(minute),
            int(second),
            _micro(fraction),
        )
        if end_of_day:
            value += dt.timedelta(days=1)
        if tz is None:
            return value.astimezone(UTC) if naive_tz is LOCAL else value.replace(tzinfo=naive_tz)
        return value.replace(tzinfo=tz)
    except (ValueError, OverflowError) as exc:
        raise _bad(kind, text, where, f"{exc}; use a real date and time of day") from None


def format_datetime(value: dt.datetime) -> str:
    """Write an aware datetime as xs:dateTime, in its own offset (``Z`` for UTC).

    Offsets XML Schema cannot express (seconds, beyond ±14:00) are written in
    UTC instead. A naive datetime is taken as local time.
    """
    if type(value) is dt.datetime and value.tzinfo is UTC:
        # Every Field and ReadoutError timestamp is in UTC: C's isoformat writes the same digits
        # faster. Its "+00:00" becomes "Z" and trailing zeros of microseconds go, as in _clock.
        text = value.isoformat()[:-6]
        return (text.rstrip("0") if value.microsecond else text) + "Z"
    offset = value.utcoffset()
    if offset is None or offset % dt.timedelta(minutes=1) or abs(offset) > dt.timedelta(hours=14):
        value, offset = value.astimezone(UTC), dt.timedelta(0)
    clock = _clock(value.hour, value.minute, value.second, value.microsecond)
    return f"{format_date(value.date())}T{clock}{_offset(offset)}"


def parse_date(text: str, where: str = "") -> dt.date:
    """Read an xs:date; a time zone, if written, is checked and then dropped."""
    kind = "xs:date"
    year, month, day, zone = _groups(_DATE, kind, text, where, "use an ISO 8601 date such as 2017-09-22")
    _zone(zone, kind, text, where)
    number_of_year = _year(year, kind, text, where)
    try:
        return dt.date(number_of_year, int(month), int(day))
    except ValueError as exc:
        raise _bad(kind, text, where, f"{exc}; use a real calendar date") from None


def format_date(value: dt.date) -> str:
    """Write an xs:date."""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def parse_time(text: str, where: str = "") -> dt.time:
    """Read an xs:time; a written zone makes an aware time, ``24:00:00`` is midnight."""
    kind = "xs:time"
    hour, minute, second, fraction, zone = _groups(
        _TIME, kind, text, where, "use a time of day such as 15:22:33 or 15:22:33.5+02:00"
    )
    tz = _zone(zone, kind, text, where)
    if hour == "24" and minute == "00" and second == "00" and not (fraction or "0").strip("0"):
        hour = "00"
    try:
        return dt.time(int(hour), int(minute), int(second), _micro(fraction), tzinfo=tz)
    except ValueError as exc:
        raise _bad(kind, text, where, f"{exc}; use a real time of day") from None


def format_time(value: dt.time) -> str:
    """Write an xs:time, with its zone when it has one."""
    clock = _clock(value.hour, value.minute, value.second, value.microsecond)
    offset = value.utcoffset()
    if offset is None:
        return clock
    if offset % dt.timedelta(minutes=1) or abs(offset) > dt.timedelta(hours=14):
        raise ValueError(
            f"the time zone offset {offset} of {value} cannot be written in XML; use whole minutes within ±14:00"
        )
    return clock + _offset(offset)


def _clock(hour: int, minute: int, second: int, microsecond: int) -> str:
    text = f"{hour:02d}:{minute:02d}:{second:02d}"
    if microsecond:
        text += f".{microsecond:06d}".rstrip("0")
    return text


def _offset(offset: dt.timedelta) -> str:
    if not offset:
        return "Z"
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(offset) // dt.timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# --- xs:duration ----------------------------------------------------------------------

_DURATION = re.compile(
    r"(-)?P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?"
    r"(T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]*)?|\.[0-9]+)S)?)?"
)
_MAX_COMPONENT_DIGITS = 18


@dataclasses.dataclass(frozen=True, repr=False)
class Duration:
    """An xs:duration: years, months, days, hours, minutes, seconds and a sign.

    Calendar parts are kept apart because a month has no fixed length:
    ``P1M`` added to 31 January is 29 February in a leap year. Seconds are a
    :class:`decimal.Decimal` (ints, floats and strings are accepted) so that
    ``PT0.1S`` survives a round trip exactly.

    ``str(d)`` is the lexical form; :meth:`parse` reads one; :meth:`add_to`
    applies a duration to a datetime; :meth:`to_timedelta` converts one
    without calendar parts.
    """

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: decimal.Decimal = decimal.Decimal(0)
    negative: bool = False

    def __post_init__(self) -> None:
        for name in ("years", "months", "days", "hours", "minutes"):
            part = getattr(self, name)
            if isinstance(part, bool) or not isinstance(part, int) or part < 0:
                raise ValueError(f"Duration.{name} must be an int >= 0, not {part!r}; put the sign in negative=True")
        seconds = self.seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, decimal.Decimal, str)):
            raise TypeError(f"Duration.seconds must be a number, not {type(seconds).__name__}")
        try:
            # repr() of a float is its shortest exact spelling: 0.1 stays 0.1, not 0.1000000000000000055...
            seconds = decimal.Decimal(repr(seconds) if isinstance(seconds, float) else seconds)
        except decimal.InvalidOperation:
            raise ValueError(f"Duration.seconds {seconds!r} is not a number") from None
        if not seconds.is_finite() or seconds < 0:
            raise ValueError(f"Duration.seconds must be finite and >= 0, not {seconds}; put the sign in negative=True")
        object.__setattr__(self, "seconds", seconds)
        object.__setattr__(self, "negative", bool(self.negative))

    @classmethod
    def parse(cls, text: str, where: str = "") -> Duration:
        """Read an xs:duration such as ``P1Y2M3DT4H5M6.7S`` or ``-PT30S``."""
        kind = "xs:duration"
        sign, y, mo, d, time_part, h, mi, s = _groups(
            _DURATION, kind, text, where, "use an ISO 8601 duration such as PT1M30S or P1D"
        )
        if all(p is None for p in (y, mo, d, h, mi, s)) or time_part == "T":
            raise _bad(kind, text, where, "name at least one component, and put one after T (PT0S is zero)")
        parts = [y, mo, d, h, mi, s]
        if any(p is not None and len(p.split(".")[0].lstrip("0")) > _MAX_COMPONENT_DIGITS for p in parts):
            raise _bad(kind, text, where, f"components are limited to {_MAX_COMPONENT_DIGITS} digits")
        y, mo, d, h, mi = (int(p) if p else 0 for p in parts[:5])
        return cls(y, mo, d, h, mi, decimal.Decimal(s) if s else decimal.Decimal(0), negative=bool(sign))

    def __str__(self) -> str:
        date = "".join(f"{n}{u}" for n, u in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if n)
        seconds = _plain_decimal(self.seconds) if self.seconds else ""
        time = "".join(f"{n}{u}" for n, u in ((self.hours, "H"), (self.minutes, "M"), (seconds, "S")) if n)
        if not date and not time:
            time = "0S"
        return ("-" if self.negative else "") + "P" + date + ("T" + time if time else "")

    def __repr__(self) -> str:
        return f"Duration({str(self)!r})"

    @classmethod
    def from_timedelta(cls, value: dt.timedelta) -> Duration:
        """Express a timedelta in days, hours, minutes and seconds."""
        negative = value < dt.timedelta(0)
        value = abs(value)
        seconds = value.seconds
        fraction = decimal.Decimal(value.microseconds) / 1_000_000
        return cls(
            days=value.days,
            hours=seconds // 3600,
            minutes=seconds // 60 % 60,
            seconds=(seconds % 60) + fraction,
            negative=negative,
        )

    def to_timedelta(self) -> dt.timedelta:
        """This duration as a timedelta; ``ValueError`` if it has years or months.

        Use :meth:`add_to` for those: their length depends on the date.
        """
        if self.years or self.months:
            raise ValueError(f"{self} has years or months, whose length depends on the date; use add_to(a_datetime)")
        micro = int((self.seconds * 1_000_000).to_integral_value(decimal.ROUND_HALF_EVEN))
        delta = dt.timedelta(days=self.days, hours=self.hours, minutes=self.minutes, microseconds=micro)
        return -delta if self.negative else delta

    def add_to(self, when: dt.datetime) -> dt.datetime:
        """``when`` moved by this duration, months on the calendar (day clamped to the month's end)."""
        sign = -1 if self.negative else 1
        month_index = when.year * 12 + (when.month - 1) + sign * (self.years * 12 + self.months)
        year, month = divmod(month_index, 12)
        month += 1
        day = min(when.day, _days_in_month(year, month))
        moved = when.replace(year=year, month=month, day=day)
        rest = dataclasses.replace(self, years=0, months=0)
        return moved + rest.to_timedelta()


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def _plain_decimal(value: decimal.Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_duration(text: str, where: str = "") -> Duration:
    """Read an xs:duration (same as :meth:`Duration.parse`)."""
    return Duration.parse(text, where)


def format_duration(value: Duration) -> str:
    """Write an xs:duration (same as ``str(value)``)."""
    return str(value)


# --- colors (control parameters only) -------------------------------------------------

_COLOR = re.compile(r"[0-9a-fA-F]{6}([0-9a-fA-F]{2})?")
_COLOR_HINT = "use 6 or 8 hexadecimal digits (RRGGBB or RRGGBBAA)"


def parse_color(text: str, where: str = "") -> str:
    """Read a color, ``RRGGBB`` or ``RRGGBBAA`` in hexadecimal (XEP-0331's ``xdc:Color``/``xdc:ColorAlpha``).

    Sensor data has no color type; control parameters do.
    """
    word = _collapse(text)
    if not _COLOR.fullmatch(word):
        raise _bad("color", text, where, _COLOR_HINT)
    return word


def format_color(value: str) -> str:
    """Write a color given as ``RRGGBB`` or ``RRGGBBAA``; ``TypeError``/``ValueError`` for anything else."""
    if not isinstance(value, str):
        raise TypeError(f"a color must be a str such as '3399FF', not {type(value).__name__}")
    if not _COLOR.fullmatch(value.strip(_XML_SPACE)):
        raise ValueError(f"{_quote(value)} is not a color: {_COLOR_HINT}")
    return value.strip(_XML_SPACE)


# --- the data model -----------------------------------------------------------------


FieldValue = Union[float, bool, int, str, dt.date, dt.time, dt.datetime, "Duration"]
"""The Python types a :class:`Field` value can have."""


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def as_utc(value: dt.datetime, what: str = "a timestamp") -> dt.datetime:
    """``value`` in UTC (naive means local time); ``TypeError``/``ValueError`` naming ``what`` otherwise."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{what} must be a datetime.datetime, not {type(value).__name__}")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"{what} {value} cannot be expressed in UTC: {exc}") from None


def _optional_text(value: object, what: str) -> str | None:
    return None if value is None else check_xml_text(value, what)


def _check_field_text(value: object, what: str, name: str) -> None:
    """Refuse an optional text of field ``name`` XML cannot carry; the message is composed only then."""
    if value is not None and not _is_xml_text(value):
        check_xml_text(value, f"{what} of field {name!r}")


def _is_utc(value: object) -> bool:
    """Whether ``value`` is a datetime in UTC, one that :func:`as_utc` would return unchanged."""
    return type(value) is dt.datetime and value.tzinfo is UTC


@dataclasses.dataclass(frozen=True)
class NodeRef:
    """A node inside a concentrator: node id, optionally scoped by source and partition.

    The legacy dialect's ``cacheType`` travels in :attr:`partition`, the third
    and last scoping part there.
    """

    id: str
    source: str | None = None
    partition: str | None = None

    def __post_init__(self) -> None:
        check_xml_text(self.id, "node id")
        _optional_text(self.source, "node source")
        _optional_text(self.partition, "node partition")

    def names(self, node: NodeRef | None) -> bool:
        """Whether this reference, perhaps without source or partition, names ``node``."""
        return (
            node is not None
            and node.id == self.id
            and self.source in (None, node.source)
            and self.partition in (None, node.partition)
        )


def infer_type(value: object) -> ValueType:
    """The :class:`ValueType` a Python value is sent as.

    bool → BOOLEAN, int → INTEGER if it fits 32 bits else LONG, float →
    QUANTITY, str → STRING, :class:`enum.Enum` → ENUM, datetime → DATETIME,
    date → DATE, time → TIME, :class:`Duration`/timedelta → DURATION.
    """
    if isinstance(value, bool):
        return ValueType.BOOLEAN
    if isinstance(value, enum.Enum):  # before int and str: IntEnum and StrEnum members are enum values
        return ValueType.ENUM
    if isinstance(value, int):
        if _INT32_RANGE[0] <= value <= _INT32_RANGE[1]:
            return ValueType.INTEGER
        if _INT64_RANGE[0] <= value <= _INT64_RANGE[1]:
            return ValueType.LONG
        raise ValueError(f"{value} does not fit in 64 bits; send it as a float or a string")
    if isinstance(value, float):
        return ValueType.QUANTITY
    if isinstance(value, str):
        return ValueType.STRING
    if isinstance(value, dt.datetime):
        return ValueType.DATETIME
    if isinstance(value, dt.date):
        return ValueType.DATE
    if isinstance(value, dt.time):
        return ValueType.TIME
    if isinstance(value, (Duration, dt.timedelta)):
        return ValueType.DURATION
    raise TypeError(
        f"cannot send a {type(value).__name__} as a field value; use a number, bool, str, enum member, "
        "date, time, datetime, timedelta or Duration"
    )


PYTHON_TYPES: dict[type, ValueType] = {
    bool: ValueType.BOOLEAN,
    int: ValueType.INTEGER,
    float: ValueType.QUANTITY,
    str: ValueType.STRING,
    dt.datetime: ValueType.DATETIME,
    dt.date: ValueType.DATE,
    dt.time: ValueType.TIME,
    dt.timedelta: ValueType.DURATION,
    Duration: ValueType.DURATION,
}
"""The value type of each Python type, for declaring a value by its type; order matters (bool is an int,
datetime a date). :func:`infer_type` goes further: it looks at the value (an int past 32 bits is a LONG)."""


def _what(vtype: ValueType, name: str | None) -> str:
    """How error messages name the value of a field, or a bare value; composed only when raising."""
    if name is None:
        return f"an {vtype.xsd} value"
    return f"the value of field {name!r} ({vtype.value})"


def _wrong(vtype: ValueType, name: str | None, value: object, expected: str) -> TypeError:
    return TypeError(f"{_what(vtype, name)} must be {expected}, not {type(value).__name__} {value!r}")


def coerce_value(vtype: ValueType, value: object, name: str | None = None) -> FieldValue:
    """The canonical Python value of type ``vtype`` (see the module table), or ``TypeError``/``ValueError``.

    Ints become floats for quantities, enum members their names for
    enumerations, timedeltas :class:`Duration`; a naive datetime is local
    time and becomes aware. Errors name the field ``name`` when given.
    """
    if vtype is ValueType.QUANTITY:
        if type(value) is float:  # the common case; float() would return it unchanged
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(vtype, name, value, "a float")
        return float(value)
    if vtype is ValueType.BOOLEAN:
        if not isinstance(value, bool):
            raise _wrong(vtype, name, value, "a bool")
        return value
    if vtype in (ValueType.INTEGER, ValueType.LONG):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(vtype, name, value, "an int")
        low, high = _INT32_RANGE if vtype is ValueType.INTEGER else _INT64_RANGE
        if not low <= value <= high:
            instead = "use ValueType.LONG or QUANTITY" if name is not None else "use a long or a double"
            raise ValueError(f"{_what(vtype, name)} {value} is outside {low}..{high}; {instead}")
        return int(value)
    if vtype is ValueType.STRING or vtype is ValueType.ENUM:
        if vtype is ValueType.ENUM and isinstance(value, enum.Enum):
            value = value.name
        return value if _is_xml_text(value) else check_xml_text(value, _what(vtype, name))
    if vtype is ValueType.DATETIME:
        if not isinstance(value, dt.datetime):
            raise _wrong(vtype, name, value, "a datetime.datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.astimezone()  # naive Python datetimes are local time
        return value
    if vtype is ValueType.DATE:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise _wrong(vtype, name, value, "a datetime.date (call .date() on a datetime)")
        return value
    if vtype is ValueType.TIME:
        if not isinstance(value, dt.time):
            raise _wrong(vtype, name, value, "a datetime.time")
        format_time(value)  # refuses offsets XML cannot write
        return value
    if vtype is ValueType.DURATION:
        if isinstance(value, dt.timedelta):
            return Duration.from_timedelta(value)
        if not isinstance(value, Duration):
            raise _wrong(vtype, name, value, "a Duration or datetime.timedelta")
        return value
    raise TypeError(f"type must be a ValueType, not {vtype!r}")


_SAME = object()  # with_value: keep this attribute as it is


def _is_decimals(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_DECIMALS


@dataclasses.dataclass(frozen=True, repr=False)
class Field:
    """One reported sensor value with its annotations.

    Only ``name`` and ``value`` are needed: ``type`` is inferred from the
    value (see :func:`infer_type`; a str given with an ``enum_type`` is an
    enum value), ``timestamp`` defaults to now.

    Attributes:
        name: the field name (``n``), unlocalized.
        value: the Python value, see the module table.
        type: its :class:`ValueType`.
        timestamp: when the value was valid, aware, always in UTC.
        unit: the unit of a quantity (``u``), such as ``"°C"``.
        decimals: the decimals a quantity is written with; ``None`` writes
            as many as the float needs. Parsed quantities always have it.
        enum_type: the enumeration type name of an enum value (``t``).
            Given a Python enum member, it defaults to the enum class name.
        categories: :class:`Category` flags.
        qos: :class:`QoS` flags.
        writable: a control parameter of the same name exists (``ctr``).
        node: the concentrator node that reported it, ``None`` for a plain device.
        localization_namespace: ``lns``, the namespace of localization ids.
        localization: ``loc``, localization steps such as ``"1,2|Stat|5"``.
    """

    name: str
    value: FieldValue
    type: ValueType = None  # type: ignore[assignment]  # inferred in __post_init__
    timestamp: dt.datetime = dataclasses.field(default_factory=_now)
    unit: str | None = None
    decimals: int | None = None
    enum_type: str | None = None
    categories: Category = Category(0)
    qos: QoS = QoS(0)
    writable: bool = False
    node: NodeRef | None = None
    localization_namespace: str | None = None
    localization: str | None = None

    def __post_init__(self) -> None:
        check_xml_text(self.name, "a field name")
        vtype = self.type
        if vtype is None:
            # A str with an enum type is an enum value; anything else goes by its Python type.
            has_enum_type = self.enum_type is not None and isinstance(self.value, str)
            vtype = ValueType.ENUM if has_enum_type else infer_type(self.value)
        if not isinstance(vtype, ValueType):
            raise TypeError(f"type of field {self.name!r} must be a ValueType, not {vtype!r}")
        enum_type = self.enum_type
        if vtype is ValueType.ENUM and enum_type is None:
            if not isinstance(self.value, enum.Enum):
                raise ValueError(f"enum field {self.name!r} needs enum_type, the name of its enumeration type")
            enum_type = type(self.value).__name__
        set_ = object.__setattr__
        set_(self, "type", vtype)
        set_(self, "value", coerce_value(vtype, self.value, self.name))
        set_(self, "enum_type", enum_type)
        if not _is_utc(self.timestamp):  # a UTC datetime is kept as is, which is what as_utc would return
            set_(self, "timestamp", as_utc(self.timestamp, f"timestamp of field {self.name!r}"))
        if vtype is not ValueType.QUANTITY and (self.unit is not None or self.decimals is not None):
            raise ValueError(f"field {self.name!r}: unit and decimals only apply to quantities, not to {vtype.value}")
        if vtype is not ValueType.ENUM and enum_type is not None:
            raise ValueError(f"field {self.name!r}: enum_type only applies to enum fields, not to {vtype.value}")
        _check_field_text(self.unit, "the unit", self.name)
        _check_field_text(enum_type, "the enum type", self.name)
        _check_field_text(self.localization_namespace, "the localization namespace", self.name)
        if self.localization is not None and not _is_localization(self.localization):
            check_localization(self.localization, f"the localization of field {self.name!r}")
        if self.decimals is not None and (
            isinstance(self.decimals, bool)
            or not isinstance(self.decimals, int)
            or not 0 <= self.decimals <= MAX_DECIMALS
        ):
            raise ValueError(
                f"decimals of field {self.name!r} must be an int in 0..{MAX_DECIMALS}, not {self.decimals!r}"
            )
        if not isinstance(self.categories, Category):
            raise TypeError(f"categories of field {self.name!r} must be Category flags, not {self.categories!r}")
        if not isinstance(self.qos, QoS):
            raise TypeError(f"qos of field {self.name!r} must be QoS flags, not {self.qos!r}")
        if self.node is not None and not isinstance(self.node, NodeRef):
            raise TypeError(f"node of field {self.name!r} must be a NodeRef, not {self.node!r}")
        set_(self, "writable", bool(self.writable))

    def with_value(self, value: object, timestamp: dt.datetime, *, decimals: int | object | None = _SAME) -> Field:
        """This field with another ``value`` and ``timestamp`` (and ``decimals``), checked as the constructor does.

        A sensor makes thousands of fields a second, all alike but for these: the rest was checked
        when this one was made. Not for enumerations, whose type name may follow the value.
        """
        if self.type is _ENUM:
            raise TypeError("with_value does not take enumerations: their type name may change with the value")
        value = coerce_value(self.type, value, self.name)
        if not _is_utc(timestamp):
            timestamp = as_utc(timestamp, f"timestamp of field {self.name!r}")
        field = object.__new__(Field)
        field.__dict__.update(self.__dict__, value=value, timestamp=timestamp)
        if decimals is not _SAME:
            if decimals is not None and (self.type is not _QUANTITY or not _is_decimals(decimals)):
                return dataclasses.replace(self, value=value, timestamp=timestamp, decimals=decimals)  # type: ignore[arg-type]  # the constructor says what is wrong
            field.__dict__["decimals"] = decimals
        return field

    @classmethod
    def from_parser(
        cls,
        *,
        name: str,
        value: FieldValue,
        type: ValueType,
        timestamp: dt.datetime,
        unit: str | None,
        decimals: int | None,
        enum_type: str | None,
        categories: Category,
        qos: QoS,
        writable: bool,
        node: NodeRef | None,
        localization_namespace: str | None,
        localization: str | None,
    ) -> Field:
        """A field from what a dialect parser read (for the parsers of the dialect modules).

        The validating constructor costs several times what reading the
        element does, and a live stream parses tens of thousands of fields a
        second. A parser hands over what that constructor would keep
        unchanged: ``value`` canonical for ``type`` (what :func:`parse_value`
        returns), ``decimals`` as :func:`parse_double` counts them, ``Category``
        and ``QoS`` flags, ``writable`` a bool. What a parser cannot vouch for
        is checked here: texts (an element built in code can hold characters
        XML cannot carry), the localization syntax, and the timestamp, node
        and type combinations its caller passed. Whenever a check fails, the
        validating constructor takes over, so errors are exactly its errors.
        """
        field = object.__new__(cls)
        # The dataclass is frozen, so its __setattr__ refuses; filling the instance dictionary
        # is what __post_init__'s object.__setattr__ calls do, in one step. Field order as __init__.
        field.__dict__.update(
            name=name, value=value, type=type, timestamp=timestamp, unit=unit, decimals=decimals, enum_type=enum_type,
            categories=categories, qos=qos, writable=writable, node=node,
            localization_namespace=localization_namespace, localization=localization,
        )  # fmt: skip
        vtype = type
        if (
            _is_utc(timestamp)
            and _is_xml_text(name)
            and (vtype not in _TEXT_TYPES or _is_xml_text(value))
            and (vtype is _QUANTITY or (unit is None and decimals is None))
            and (vtype is _ENUM) is (enum_type is not None)
            and (unit is None or _is_xml_text(unit))
            and (enum_type is None or _is_xml_text(enum_type))
            and (localization_namespace is None or _is_xml_text(localization_namespace))
            and (localization is None or _is_localization(localization))
            and (node is None or isinstance(node, NodeRef))
        ):
            return field
        return cls(**field.__dict__)  # the validating constructor, so that its errors are the errors

    @property
    def lexical_value(self) -> str:
        """The value as written on the wire."""
        return format_value(self.type, self.value, self.decimals)

    def __repr__(self) -> str:
        shown = self.lexical_value if self.type is ValueType.QUANTITY else repr(self.value)
        if self.unit:
            shown += f" {self.unit}"
        if self.type is ValueType.ENUM:
            shown += f" ({self.enum_type})"
        notes = [self.type.value]
        notes += [_member_label(c) for c in self.categories]
        notes += [_member_label(q) for q in self.qos]
        if self.writable:
            notes.append("writable")
        if self.node is not None:
            notes.append(f"node {self.node.id}")
        notes.append(format_datetime(self.timestamp))
        return f"<Field {self.name} = {shown} [{', '.join(notes)}]>"


# The official schema anchors this pattern with ^...$, which XML Schema regexes
# read as literal characters; this is the intended pattern.
_LOCALIZATION = re.compile(r"[0-9]+(\|[^,]*){0,2}(,[0-9]+(\|[^,]*){0,2})*")


def _is_localization(value: object) -> bool:
    """Whether :func:`check_localization` accepts ``value``, without composing its message."""
    return _is_xml_text(value) and _LOCALIZATION.fullmatch(value) is not None


def check_localization(value: str, what: str = "localization") -> str:
    """Return ``value`` if it is a list of localization steps (``1``, ``2||5``, ``1,1|Stat``), else ``ValueError``."""
    check_xml_text(value, what)
    if not _LOCALIZATION.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a list of steps such as '1', '2||5' or '1,1|Stat'")
    return value


@dataclasses.dataclass(frozen=True)
class ReadoutError:
    """An error a device reports instead of (or besides) field values."""

    message: str
    timestamp: dt.datetime = dataclasses.field(default_factory=_now)
    node: NodeRef | None = None

    def __post_init__(self) -> None:
        check_xml_text(self.message, "an error message")
        object.__setattr__(self, "timestamp", as_utc(self.timestamp, "timestamp of an error"))


# --- one entry point per direction ---------------------------------------------------


def format_value(vtype: ValueType, value: Any, decimals: int | None = None) -> str:
    """Write a canonical field value (see :class:`Field`) in the lexical form of its type.

    ``value`` is typed ``Any`` because ``vtype`` decides which member of
    :data:`FieldValue` it is (a float for QUANTITY, a str for STRING, ...),
    which the type system cannot tie together; :func:`coerce_value` is what
    makes a value canonical for its type.
    """
    if vtype is ValueType.QUANTITY:
        return format_double(value, decimals)
    if vtype is ValueType.BOOLEAN:
        return format_boolean(value)
    if vtype in (ValueType.INTEGER, ValueType.LONG):
        return format_integer(value)
    if vtype in (ValueType.STRING, ValueType.ENUM):
        return value
    if vtype is ValueType.DATETIME:
        return format_datetime(value)
    if vtype is ValueType.DATE:
        return format_date(value)
    if vtype is ValueType.TIME:
        return format_time(value)
    if vtype is ValueType.DURATION:
        return str(value)
    raise TypeError(f"not a ValueType: {vtype!r}")


def parse_value(
    vtype: ValueType, text: str, where: str = "", *, naive_tz: dt.tzinfo | None = UTC, lenient: bool = False
) -> tuple[FieldValue, int | None]:
    """Read the lexical form of a value of type ``vtype``; return it and its decimals.

    The decimals are only counted for quantities (``None`` otherwise).
    ``lenient`` accepts Python's spellings of booleans and special floats.
    """
    if vtype is _QUANTITY:
        return parse_double(text, where, lenient=lenient)
    if vtype is ValueType.BOOLEAN:
        return parse_boolean(text, where, lenient=lenient), None
    if vtype is ValueType.INTEGER:
        return parse_integer(text, where, bits=32), None
    if vtype is ValueType.LONG:
        return parse_integer(text, where, bits=64), None
    if vtype in (ValueType.STRING, ValueType.ENUM):
        return text, None
    if vtype is ValueType.DATETIME:
        return parse_datetime(text, where, naive_tz=naive_tz), None
    if vtype is ValueType.DATE:
        return parse_date(text, where), None
    if vtype is ValueType.TIME:
        return parse_time(text, where), None
    if vtype is ValueType.DURATION:
        return Duration.parse(text, where), None
    raise TypeError(f"not a ValueType: {vtype!r}")
