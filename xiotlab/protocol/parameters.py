"""Control parameters: their types, typed values, descriptions and the checks a set must pass.

A control parameter type is a value type with limits: :class:`ParameterType`
maps each of its members but color onto a :class:`~.values.ValueType`
(DOUBLE is QUANTITY, INT is INTEGER, the rest share their names), and the
lexical forms are the value layer's, the XML Schema ones sensor data uses
too. Color (``RRGGBB`` or ``RRGGBBAA``) is control-only, and lives in the
value layer beside them (:func:`~.values.parse_color`).

A :class:`ControlParameter` describes one parameter as a thing publishes it
(type, current value, bounds, step, options, pattern, layout);
:func:`validate` checks a value against it. :class:`ParameterValue` is one
typed value a set carries. Nothing here is XML: the ``<set/>`` and its
answers are in :mod:`.control` (current dialect) and
:mod:`.legacy_control`, the control form in :mod:`.control_form`.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import ParameterError, ProtocolError
from . import dataforms
from .values import PYTHON_TYPES as _VALUE_TYPES_OF_PYTHON
from .values import UTC, ValueType, check_xml_text, coerce_value, format_color, format_value, parse_color, parse_value

__all__ = [
    "MAX_VALUE_LENGTH", "PYTHON_TYPES",
    "ControlForm", "ControlParameter", "ParameterOption", "ParameterType", "ParameterValue",
    "from_lexical", "parameter_type_of", "summary", "to_lexical", "validate",
]  # fmt: skip

MAX_VALUE_LENGTH = dataforms.MAX_TEXT
"""Longest lexical value a parameter may have, in characters."""


class ParameterType(enum.StrEnum):
    """The simple types a control parameter can have; values are the legacy element names.

    Python values: BOOLEAN bool; COLOR str (``RRGGBB`` or ``RRGGBBAA``); DATE
    ``datetime.date``; DATETIME ``datetime.datetime`` (naive means local time;
    stored and read back zoned); DOUBLE float; DURATION
    :class:`~xiotlab.protocol.values.Duration` (a ``timedelta`` is accepted);
    ENUM str (or an :class:`enum.Enum` member, sent by name); INT int (32 bits);
    LONG int (64 bits); STRING str; TIME ``datetime.time`` (zone kept if any).
    """

    BOOLEAN = "boolean"
    COLOR = "color"
    DATE = "date"
    DATETIME = "dateTime"
    DOUBLE = "double"
    DURATION = "duration"
    ENUM = "enum"
    INT = "int"
    LONG = "long"
    STRING = "string"
    TIME = "time"

    @property
    def value_type(self) -> ValueType | None:
        """The value type whose lexical form and Python values this type shares; None for COLOR."""
        return _VALUE_TYPES.get(self)

    @property
    def ordered(self) -> bool:
        """Whether values of this type have an order, so ``min``/``max`` apply."""
        return self in _ORDERED

    @property
    def numeric(self) -> bool:
        """Whether values of this type are numbers, so ``step`` applies."""
        return self in (ParameterType.INT, ParameterType.LONG, ParameterType.DOUBLE)


T = ParameterType
_VALUE_TYPES = {
    T.BOOLEAN: ValueType.BOOLEAN,
    T.DATE: ValueType.DATE,
    T.DATETIME: ValueType.DATETIME,
    T.DOUBLE: ValueType.QUANTITY,
    T.DURATION: ValueType.DURATION,
    T.ENUM: ValueType.ENUM,
    T.INT: ValueType.INTEGER,
    T.LONG: ValueType.LONG,
    T.STRING: ValueType.STRING,
    T.TIME: ValueType.TIME,
}
_OF_VALUE_TYPE = {vtype: t for t, vtype in _VALUE_TYPES.items()}
_ORDERED = (T.INT, T.LONG, T.DOUBLE, T.DATE, T.DATETIME, T.TIME)
_TEXT_TYPES = (T.STRING, T.ENUM, T.COLOR)

PYTHON_TYPES: dict[type, ParameterType] = {python: _OF_VALUE_TYPE[v] for python, v in _VALUE_TYPES_OF_PYTHON.items()}
"""Python types to parameter types; order matters (bool is an int, datetime a date)."""


def parameter_type_of(value: Any) -> ParameterType | None:
    """The parameter type a Python value is sent as (an int past 32 bits is a long), or None."""
    kind = next((t for python, t in PYTHON_TYPES.items() if isinstance(value, python)), None)
    if kind is T.INT and not -(2**31) <= value < 2**31:
        return T.LONG
    return kind


# --- typed values ------------------------------------------------------------


def _coerce(t: ParameterType, value: Any) -> Any:
    """The canonical Python value of type ``t``; TypeError/ValueError if ``value`` is not one."""
    if t is T.COLOR:
        return format_color(value)
    if t is T.DATETIME and isinstance(value, _dt.datetime) and value.tzinfo is None:
        value = value.astimezone(UTC)  # naive is local time, and controls travel and keep it in UTC
    value = coerce_value(_VALUE_TYPES[t], value)
    if t in _TEXT_TYPES and len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"value is longer than {MAX_VALUE_LENGTH} characters")
    return value


def to_lexical(type_: ParameterType | str, value: Any) -> str:
    """The wire form of a typed Python value of ``type_``; ValueError/TypeError if it is not one.

    A naive datetime is taken as local time and written in UTC.
    """
    t = ParameterType(type_)
    value = _coerce(t, value)
    return value if t is T.COLOR else format_value(_VALUE_TYPES[t], value)


def from_lexical(
    type_: ParameterType | str, text: str, *, naive_tz: _dt.tzinfo | None = UTC, lenient: bool = False
) -> Any:
    """The typed Python value of a wire form of ``type_``; ValueError says which rule it broke.

    A dateTime without zone is read in ``naive_tz`` (UTC, as the reference
    implementation writes; ``values.LOCAL`` for local time). ``lenient``
    accepts Python's spellings (``True``, ``inf``) from Python peers.
    """
    t = ParameterType(type_)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"value is longer than {MAX_VALUE_LENGTH} characters")
    if t is T.COLOR:
        return parse_color(text)
    return parse_value(_VALUE_TYPES[t], text, naive_tz=naive_tz, lenient=lenient)[0]


def _typed(t: ParameterType, value: Any) -> Any:
    """A value given typed, or (for types whose values are not strings) lexically."""
    if isinstance(value, str) and t not in _TEXT_TYPES:
        return from_lexical(t, value)
    value = _coerce(t, value)
    if t is T.DATETIME:
        # stored as it will read back: odd offsets moved to UTC
        return from_lexical(t, to_lexical(t, value))
    return value


def _check_xml_text(text: str) -> None:
    check_xml_text(text, "the text")


# --- data model --------------------------------------------------------------


@dataclass(frozen=True)
class ParameterValue:
    """One typed value in a set: parameter name, type, Python value, and for enums the type name."""

    name: str
    type: ParameterType
    value: Any
    enum_type: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ParameterType(self.type))

    @property
    def lexical(self) -> str:
        """The value as it travels on the wire."""
        return to_lexical(self.type, self.value)


@dataclass(frozen=True)
class ParameterOption:
    """One allowed value of a parameter, with the label a form shows for it."""

    value: Any
    label: str = ""


@dataclass(frozen=True)
class ControlParameter:
    """The typed description of one control parameter, as a thing publishes it.

    ``value`` is the current value (None when unknown). ``min``/``max`` bound
    ordered types (numbers, dates, times), ``step`` numbers (values must be
    ``min + k*step``, or ``k*step`` without a minimum). ``options`` restricts the
    values to a list; enumerations (``type=ENUM``) carry the enumeration's type
    name in ``enum_type``. ``pattern`` is a regular expression a string must
    match entirely. ``page`` and ``group`` lay the form out: parameters of one
    group are meant to be set together. Values, bounds and options may be given
    typed or in their lexical form; they are stored typed.
    """

    name: str
    type: ParameterType
    value: Any = None
    label: str = ""
    description: str = ""
    min: Any = None
    max: Any = None
    step: Any = None
    options: tuple[ParameterOption, ...] = ()
    enum_type: str = ""
    pattern: str = ""
    read_only: bool = False
    page: str = ""
    group: str = ""

    def __post_init__(self) -> None:
        try:
            self._normalize()
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"control parameter {self.name!r}: {exc}") from None

    def _normalize(self) -> None:
        put = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a control parameter needs a non-empty name")
        for text in (self.name, self.label, self.description, self.enum_type, self.pattern, self.page, self.group):
            _check_xml_text(text)
        t = ParameterType(self.type)
        put("type", t)
        if self.value is not None:
            put("value", _typed(t, self.value))
        for bound in ("min", "max"):
            if getattr(self, bound) is not None:
                if not t.ordered:
                    raise ValueError(f"{bound} applies to numbers, dates and times, not {t}")
                bound_value = _typed(t, getattr(self, bound))
                if isinstance(bound_value, float) and math.isnan(bound_value):
                    raise ValueError(f"{bound} cannot be NaN")
                put(bound, bound_value)
        if self.min is not None and self.max is not None and _compare(self.min, self.max) > 0:
            raise ValueError(f"min {self.min!r} is above max {self.max!r}")
        if self.step is not None:
            if not t.numeric:
                raise ValueError(f"step applies to int, long and double, not {t}")
            step = _typed(t, self.step)
            if not step > 0 or (isinstance(step, float) and math.isinf(step)):
                raise ValueError(f"step must be a positive finite number, not {step!r}")
            put("step", step)
        options = []
        for o in self.options:
            if not isinstance(o, ParameterOption):
                o = ParameterOption(*o) if isinstance(o, tuple) else ParameterOption(o)
            _check_xml_text(o.label)
            options.append(ParameterOption(_typed(t, o.value), o.label))
        put("options", tuple(options))
        if options and t is T.BOOLEAN:
            raise ValueError("a boolean parameter cannot have options")
        if len(options) > dataforms.MAX_OPTIONS:
            raise ValueError(f"more than {dataforms.MAX_OPTIONS} options")
        if self.enum_type and t is not T.ENUM:
            raise ValueError("enum_type applies to enumerations only")
        if self.pattern:
            if t is not T.STRING:
                raise ValueError("pattern applies to strings only")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a regular expression: {exc}") from None
        put("read_only", bool(self.read_only))


@dataclass(frozen=True)
class ControlForm:
    """A parsed control form: its parameters in order, title and dynamic-form session."""

    parameters: tuple[ControlParameter, ...] = ()
    title: str = ""
    session: str = ""

    def get(self, name: str) -> ControlParameter | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.parameters if p.name == name), None)

    def __iter__(self):
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __repr__(self) -> str:
        lines = "".join(f"\n  {summary(p)}" for p in self.parameters)
        count = len(self.parameters)
        return f"<ControlForm {self.title!r}: {count} parameter{'' if count == 1 else 's'}{lines}>"


def summary(p: ControlParameter) -> str:
    """One line describing a parameter: name, type, constraints, current value."""
    parts = [f"{p.name}: {p.type}" + (f" ({p.enum_type})" if p.enum_type else "")]
    if p.min is not None or p.max is not None:
        parts.append(f"{_show(p, p.min) if p.min is not None else ''}..{_show(p, p.max) if p.max is not None else ''}")
    if p.step is not None:
        parts.append(f"step {_show(p, p.step)}")
    if p.options:
        parts.append("{" + ", ".join(_show(p, o.value) for o in p.options) + "}")
    if p.read_only:
        parts.append("read-only")
    parts.append(f"= {_show(p, p.value)}" if p.value is not None else "= (unknown)")
    return " ".join(parts)


# --- validation --------------------------------------------------------------------


def _compare(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def _show(p: ControlParameter, v: Any) -> str:
    try:
        return to_lexical(p.type, v)
    except (TypeError, ValueError):
        return repr(v)


def _range_hint(p: ControlParameter) -> str:
    lo = "" if p.min is None else _show(p, p.min)
    hi = "" if p.max is None else _show(p, p.max)
    if lo and hi:
        return f"send a value from {lo} to {hi}"
    return f"send a value of at least {lo}" if lo else f"send a value of at most {hi}"


def validate(parameter: ControlParameter, value: Any) -> Any:
    """``value`` converted to ``parameter``'s type and checked against its constraints.

    ``value`` may be a Python value of the type or its lexical form (as in a
    form submission). Returns the typed value. Raises
    :class:`~xiotlab.errors.ParameterError` naming the parameter when the
    parameter is read-only, the value has the wrong type or syntax, lies
    outside ``min``/``max``, is off the ``step`` grid, is not one of the
    ``options`` or does not match the ``pattern``.
    """
    p, name = parameter, parameter.name
    if p.read_only:
        raise ParameterError(name, "the parameter is read-only", hint="it can be read, not set")
    if isinstance(value, ParameterValue):
        value = value.value
    try:
        typed = _typed(p.type, value)
    except TypeError as exc:
        raise ParameterError(name, f"wrong type: {exc}", hint=f"send a {p.type} value") from None
    except ValueError as exc:
        raise ParameterError(name, f"syntax error: {exc}", hint=f"send a valid {p.type} value") from None
    if p.min is not None or p.max is not None:
        if isinstance(typed, float) and math.isnan(typed):
            raise ParameterError(name, "NaN is outside every range", hint=_range_hint(p))
        try:
            if p.min is not None and typed < p.min:
                raise ParameterError(
                    name, f"{_show(p, typed)} is below the minimum {_show(p, p.min)}", hint=_range_hint(p)
                )
            if p.max is not None and typed > p.max:
                raise ParameterError(
                    name, f"{_show(p, typed)} is above the maximum {_show(p, p.max)}", hint=_range_hint(p)
                )
        except TypeError:
            raise ParameterError(
                name,
                f"{_show(p, typed)} cannot be compared with the parameter's bounds",
                hint="give a time zone exactly when the bounds have one",
            ) from None
    if p.step is not None:
        base = p.min if p.min is not None else 0
        if isinstance(typed, float):
            if not math.isfinite(typed):
                raise ParameterError(name, f"{_show(p, typed)} is not a multiple of the step {_show(p, p.step)}")
            # Decimal of the shortest repr is what a person typed; 0.3 is on a 0.1 grid.
            off = (Decimal(repr(typed)) - Decimal(repr(float(base)))) % Decimal(repr(float(p.step)))
        else:
            off = (typed - base) % p.step
        if off != 0:
            start = f"{_show(p, base)} + k*{_show(p, p.step)}"
            raise ParameterError(
                name, f"{_show(p, typed)} is not on the step grid {start}", hint=f"send a value of the form {start}"
            )
    if p.options and typed not in [o.value for o in p.options]:
        shown = ", ".join(_show(p, o.value) for o in p.options[:10]) + (", ..." if len(p.options) > 10 else "")
        raise ParameterError(name, f"{_show(p, typed)} is not one of the options", hint=f"choose one of {shown}")
    if p.pattern and not re.fullmatch(p.pattern, typed):
        raise ParameterError(
            name, f"{typed!r} does not match the pattern {p.pattern!r}", hint="send a value matching the pattern"
        )
    return typed
