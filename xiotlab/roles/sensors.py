"""A thing's sensors: declared fields, their current values and bounded histories.

Pure bookkeeping, no network: the thing answers readouts and feeds its
subscriptions from here. A sensor is declared with a function that returns
its current value (called at each readout and poll), or fed by
``thing.report(name=value)``, or both. Every value read or reported is kept
in the field's history, which serves historical readouts (``from``/``to``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import TypeGuard

from ..protocol.sensordata import ReadoutRequest
from ..protocol.values import UTC, Category, Field, FieldValue, QoS, ReadoutError, ValueType, infer_type
from .readout import labels

DEFAULT_HISTORY = 1000

log = logging.getLogger("xiotlab")

_CATEGORY_NAMES = {label: c for c in Category if c is not Category.ALL for label in labels(c)}


def categories_of(value: Category | str | Iterable[str] | None) -> Category:
    """Category flags from flags, a name (``"momentary"``) or names (``["status", "identity"]``)."""
    if value is None:
        return Category(0)
    if isinstance(value, Category):
        return value
    names = [value] if isinstance(value, str) else list(value)
    flags = Category(0)
    for name in names:
        try:
            flags |= _CATEGORY_NAMES[str(name).lower()]
        except KeyError:
            raise ValueError(f"unknown field category {name!r}; use {', '.join(_CATEGORY_NAMES)}") from None
    return flags


_PYTHON_TYPES = {float: ValueType.QUANTITY, int: ValueType.INTEGER, bool: ValueType.BOOLEAN, str: ValueType.STRING}


def value_type(value: ValueType | type | str | None) -> ValueType | None:
    """A ValueType from itself, a Python type (float, int, bool, str) or a wire name ("quantity", "long")."""
    if value is None or isinstance(value, ValueType):
        return value
    if value in _PYTHON_TYPES:
        return _PYTHON_TYPES[value]
    try:
        return ValueType(value)
    except ValueError:
        raise ValueError(
            f"unknown field type {value!r}; use a ValueType, float, int, bool, str, "
            f"or one of {', '.join(t.value for t in ValueType)}"
        ) from None


@dataclasses.dataclass
class Sensor:
    """One declared field: how to read it, what it is, what it was."""

    name: str
    read: Callable[[], object] | None = None
    unit: str | None = None
    type: ValueType | None = None
    decimals: int | None = None
    enum_type: str | None = None
    categories: Category = Category.MOMENTARY
    qos: QoS = QoS.AUTOMATIC_READOUT
    history: collections.deque = dataclasses.field(default_factory=lambda: collections.deque(maxlen=DEFAULT_HISTORY))

    def field(self, value: FieldValue, timestamp: dt.datetime | None = None, qos: QoS | None = None) -> Field:
        """A :class:`Field` of this sensor with ``value``; raises TypeError/ValueError for a bad value."""
        vtype = self.type
        if vtype is None and self.unit is not None and _is_number(value):
            vtype = ValueType.QUANTITY  # a number with a unit is a physical quantity, whatever its Python type
        vtype = vtype or infer_type(value)
        quantity = vtype is ValueType.QUANTITY
        return Field(
            self.name,
            float(value) if quantity and _is_number(value) else value,
            type=vtype,
            timestamp=timestamp or dt.datetime.now(UTC),
            unit=self.unit if quantity else None,
            decimals=self.decimals if quantity else None,
            enum_type=self.enum_type,
            categories=self.categories,
            qos=self.qos if qos is None else qos,
        )

    @property
    def latest(self) -> Field | None:
        return self.history[-1] if self.history else None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Sensors:
    """The sensors of one thing, by name, in declaration order."""

    def __init__(self, history_size: int = DEFAULT_HISTORY) -> None:
        if history_size < 1:
            raise ValueError(f"history_size={history_size}: keep at least one value per field")
        self.history_size = history_size
        self._sensors: dict[str, Sensor] = {}
        self._retired: dict[str, collections.deque] = {}  # histories of forgotten sensors, until redeclared

    def declare(self, name: str, read: Callable[[], object] | None = None, **meta) -> Sensor:
        """Declare (or redeclare) sensor ``name``; see :meth:`Thing.sensor` for ``meta``."""
        meta["categories"] = categories_of(meta.get("categories", "momentary")) or Category.MOMENTARY
        old = self._sensors.get(name)
        retired = self._retired.pop(name) if name in self._retired else None
        history = old.history if old else retired or collections.deque(maxlen=self.history_size)
        sensor = Sensor(name, read, history=history, **meta)
        self._sensors[name] = sensor
        return sensor

    def clear(self) -> None:
        """Forget every sensor; a sensor declared again by the same name gets its history back."""
        for name, sensor in self._sensors.items():
            self._retired[name] = sensor.history
        self._sensors = {}

    def __contains__(self, name: str) -> bool:
        return name in self._sensors

    def __iter__(self):
        return iter(list(self._sensors.values()))

    def __len__(self) -> int:
        return len(self._sensors)

    def get(self, name: str) -> Sensor:
        """The sensor ``name``, declared on first use for reported values."""
        sensor = self._sensors.get(name)
        return sensor if sensor is not None else self.declare(name)

    def record(self, fields: Iterable[Field]) -> None:
        """Keep reported fields in their sensors' histories."""
        for field in fields:
            self.get(field.name).history.append(field)

    async def read(self, request: ReadoutRequest) -> tuple[list[Field], list[ReadoutError]]:
        """The fields answering ``request`` (current values, or history within from/to), and errors.

        A read function that raises gives a :class:`ReadoutError` naming its field;
        the other fields are still read.
        """
        wanted = [s for s in self._sensors.values() if not request.fields or s.name in request.fields]
        if request.from_time or request.to_time or request.categories == Category.HISTORICAL:
            items = [
                dataclasses.replace(f, categories=f.categories | Category.HISTORICAL) for s in wanted for f in s.history
            ]
        else:
            now = dt.datetime.now(dt.UTC)  # one readout, one moment: fields line up in a table
            items = [await self._current(s, now) for s in wanted]
        fields = [f for f in items if isinstance(f, Field) and request.includes(f)]
        return fields, [e for e in items if isinstance(e, ReadoutError)]

    async def _current(self, sensor: Sensor, now: dt.datetime) -> Field | ReadoutError | None:
        if sensor.read is None:
            return sensor.latest
        try:
            value = sensor.read()
            if inspect.isawaitable(value):
                value = await value
            field = sensor.field(value, now)  # type: ignore[arg-type]  # what a user's function returns is checked here
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a broken sensor must not break the readout of the others
            log.warning("sensor %r failed", sensor.name, exc_info=True)
            return ReadoutError(f"Reading {sensor.name!r} failed: {type(e).__name__}: {e}")
        sensor.history.append(field)
        return field
