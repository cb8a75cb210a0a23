"""XML Schema lexical forms of the control parameter types, both ways.

Private to the control modules until the package has one shared home for
typed values (``values.py``); the lead merges the two then. Every ``parse_*``
raises a plain :class:`ValueError` whose message names the lexical rule that
was broken; callers wrap it into the error their protocol wants, adding the
parameter name.

Python's own converters are too lenient for the wire (``int`` takes ``1_000``
and Arabic-Indic digits, ``float`` takes ``infinity``), so each type is
matched against its XML Schema pattern first.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)

_INT = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DOUBLE_SPECIAL = {"INF": math.inf, "+INF": math.inf, "-INF": -math.inf, "NaN": math.nan}
_COLOR = re.compile(r"[0-9a-fA-F]{6}([0-9a-fA-F]{2})?")
_TZ = r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?"
_DATE = re.compile(r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})" + _TZ)
_TIME = re.compile(
    r"(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(\.(?P<f>[0-9]+))?" + _TZ
)
_DATETIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"T(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(\.(?P<f>[0-9]+))?" + _TZ
)
_DURATION = re.compile(
    r"(?P<neg>-)?P(?:(?P<y>[0-9]+)Y)?(?:(?P<mo>[0-9]+)M)?(?:(?P<d>[0-9]+)D)?"
    r"(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<mi>[0-9]+)M)?(?:(?P<s>[0-9]+(?:\.[0-9]+)?)S)?)?"
)

# Longer numerals than this are not numbers anyone means; refusing them early
# also keeps int() away from its quadratic path on huge digit strings.
_MAX_NUMERAL = 400


def parse_boolean(text: str) -> bool:
    """``true``/``false``/``1``/``0`` (xs:boolean) to a bool."""
    t = text.strip()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not an xs:boolean (true, false, 1 or 0)")


def format_boolean(value: bool) -> str:
    """A bool as ``true``/``false``."""
    return "true" if value else "false"


def parse_integer(text: str, bounds: tuple[int, int], name: str) -> int:
    """An xs:int or xs:long numeral to an int, checked against ``bounds``."""
    t = text.strip()
    if len(t) > _MAX_NUMERAL or not _INT.fullmatch(t):
        raise ValueError(f"{_short(text)} is not an {name} numeral (digits with an optional sign)")
    value = int(t)
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{value} does not fit an {name} ({bounds[0]} to {bounds[1]})")
    return value


def format_integer(value: int) -> str:
    """An int as a decimal numeral."""
    return str(int(value))


def parse_double(text: str) -> float:
    """An xs:double lexical form (including ``INF``, ``-INF``, ``NaN``) to a float."""
    t = text.strip()
    if t in _DOUBLE_SPECIAL:
        return _DOUBLE_SPECIAL[t]
    if len(t) > _MAX_NUMERAL or not _DOUBLE.fullmatch(t):
        raise ValueError(f"{_short(text)} is not an xs:double (like 21.5, -3e2, INF or NaN)")
    return float(t)


def format_double(value: float) -> str:
    """A float as the shortest xs:double that reads back as the same float."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def parse_color(text: str) -> str:
    """``RRGGBB`` or ``RRGGBBAA`` hexadecimal, returned as given."""
    t = text.strip()
    if not _COLOR.fullmatch(t):
        raise ValueError(f"{_short(text)} is not a color (6 or 8 hexadecimal digits, RRGGBB or RRGGBBAA)")
    return t


def _tz(text: str | None) -> _dt.tzinfo | None:
    if text is None:
        return None
    if text == "Z":
        return _dt.timezone.utc
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59 or hours * 60 + minutes > 14 * 60:
        raise ValueError(f"time zone {text} is outside -14:00 to +14:00")
    offset = _dt.timedelta(hours=hours, minutes=minutes)
    return _dt.timezone(-offset if text[0] == "-" else offset)


def _format_tz(value: _dt.datetime | _dt.time) -> str:
    offset = value.utcoffset()
    if offset is None:
        return ""
    if offset % _dt.timedelta(minutes=1):
        raise ValueError(f"time zone offset {offset} has seconds; XML Schema offsets are whole minutes")
    if offset == _dt.timedelta(0):
        return "Z"
    sign = "-" if offset < _dt.timedelta(0) else "+"
    minutes = abs(offset) // _dt.timedelta(minutes=1)
    if minutes > 14 * 60:
        raise ValueError(f"time zone offset {offset} is outside -14:00 to +14:00")
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _micro(fraction: str | None) -> int:
    # Python keeps microseconds; finer fractions are truncated, as documented.
    return int((fraction or "0")[:6].ljust(6, "0"))


def parse_date(text: str) -> _dt.date:
    """An xs:date (``2024-05-01``) to a date; a time zone suffix is accepted and dropped."""
    m = _DATE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{_short(text)} is not an xs:date (YYYY-MM-DD)")
    _tz(m["tz"])
    try:
        return _dt.date(int(m["y"]), int(m["mo"]), int(m["d"]))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a calendar date: {exc}") from None


def format_date(value: _dt.date) -> str:
    """A date as ``YYYY-MM-DD``."""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _clock(m: re.Match) -> tuple[int, int, int, int, bool]:
    h, mi, s = int(m["h"]), int(m["mi"]), int(m["s"])
    micro = _micro(m["f"])
    end_of_day = h == 24 and mi == 0 and s == 0 and micro == 0
    if not end_of_day and (h > 23 or mi > 59 or s > 59):
        raise ValueError(f"{m.group(0)!r} is not a time of day")
    return (0 if end_of_day else h), mi, s, micro, end_of_day


def parse_time(text: str) -> _dt.time:
    """An xs:time (``08:00:00``, optional fraction and zone) to a time; ``24:00:00`` is midnight."""
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{_short(text)} is not an xs:time (hh:mm:ss)")
    h, mi, s, micro, _ = _clock(m)
    return _dt.time(h, mi, s, micro, tzinfo=_tz(m["tz"]))


def format_time(value: _dt.time) -> str:
    """A time as ``hh:mm:ss[.ffffff][zone]``."""
    frac = f".{value.microsecond:06d}" if value.microsecond else ""
    return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{frac}{_format_tz(value)}"


def parse_datetime(text: str) -> _dt.datetime:
    """An xs:dateTime to a datetime, aware when the text has a zone, naive when not."""
    m = _DATETIME.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{_short(text)} is not an xs:dateTime (YYYY-MM-DDThh:mm:ss)")
    h, mi, s, micro, end_of_day = _clock(m)
    try:
        value = _dt.datetime(int(m["y"]), int(m["mo"]), int(m["d"]), h, mi, s, micro, tzinfo=_tz(m["tz"]))
        return value + _dt.timedelta(days=1) if end_of_day else value
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is not a representable date and time: {exc}") from None


def format_datetime(value: _dt.datetime) -> str:
    """A datetime as ``YYYY-MM-DDThh:mm:ss[.ffffff][zone]``."""
    return f"{format_date(value)}T{format_time(value.timetz())}"


@dataclass(frozen=True)
class Duration:
    """An xs:duration, kept component by component.

    Years and months have no fixed length, so a duration is not a
    :class:`datetime.timedelta`; :meth:`to_timedelta` converts those without
    them. Components are non-negative; ``negative`` flips the whole duration.
    """

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: Decimal = Decimal(0)
    negative: bool = False

    def __post_init__(self) -> None:
        for field in ("years", "months", "days", "hours", "minutes"):
            v = getattr(self, field)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Duration.{field} must be a non-negative int, not {v!r}")
        secs = self.seconds
        if isinstance(secs, (int, float)) and not isinstance(secs, bool):
            secs = Decimal(str(secs))
            object.__setattr__(self, "seconds", secs)
        if not isinstance(secs, Decimal) or not secs.is_finite() or secs < 0:
            raise ValueError(f"Duration.seconds must be a non-negative finite number, not {secs!r}")

    @classmethod
    def from_timedelta(cls, value: _dt.timedelta) -> Duration:
        """The duration of a timedelta, in days, hours, minutes and seconds."""
        negative = value < _dt.timedelta(0)
        value = abs(value)
        hours, rest = divmod(value.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        secs = Decimal(seconds) + Decimal(value.microseconds).scaleb(-6)
        return cls(days=value.days, hours=hours, minutes=minutes, seconds=secs.normalize() if secs else Decimal(0),
                   negative=negative)

    def to_timedelta(self) -> _dt.timedelta:
        """This duration as a timedelta; raises ValueError when it has years or months."""
        if self.years or self.months:
            raise ValueError(f"{format_duration(self)} has years or months, which have no fixed length")
        td = _dt.timedelta(days=self.days, hours=self.hours, minutes=self.minutes,
                           microseconds=int(self.seconds * 1_000_000))
        return -td if self.negative else td

    def __str__(self) -> str:
        return format_duration(self)


def parse_duration(text: str) -> Duration:
    """An xs:duration (``PT3M30S``, ``-P1Y2M``) to a :class:`Duration`."""
    t = text.strip()
    m = _DURATION.fullmatch(t) if len(t) <= _MAX_NUMERAL else None
    parts = ("y", "mo", "d", "h", "mi", "s")
    if not m or all(m[p] is None for p in parts) or t.endswith("T"):
        raise ValueError(f"{_short(text)} is not an xs:duration (like P1DT2H or PT3M30S)")
    try:
        return Duration(
            years=int(m["y"] or 0), months=int(m["mo"] or 0), days=int(m["d"] or 0),
            hours=int(m["h"] or 0), minutes=int(m["mi"] or 0),
            seconds=Decimal(m["s"] or 0), negative=bool(m["neg"]),
        )
    except (ValueError, InvalidOperation) as exc:
        raise ValueError(f"{text!r} is not an xs:duration: {exc}") from None


def format_duration(value: Duration) -> str:
    """A :class:`Duration` as an xs:duration, every non-zero component kept."""
    date = "".join(f"{n}{u}" for n, u in ((value.years, "Y"), (value.months, "M"), (value.days, "D")) if n)
    secs = format(value.seconds, "f") if value.seconds else ""
    time = "".join(f"{n}{u}" for n, u in ((value.hours, "H"), (value.minutes, "M")) if n)
    time += f"{secs}S" if secs else ""
    if not date and not time:
        time = "0S"
    return ("-" if value.negative else "") + "P" + date + (f"T{time}" if time else "")


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
