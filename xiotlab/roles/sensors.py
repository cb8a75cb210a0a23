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
from ..protocol.values import UTC, Category, Field, FieldValue, NodeRef, QoS, ReadoutError, ValueType, infer_type
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
    node: NodeRef | None = None  # the concentrator node it belongs to; every field it makes says so
    # A field made before, by (type, decimals, qos): the next ones are copies with another value.
    _made: dict[tuple, Field] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Only a quantity carries a unit and decimals on the wire (<q u>; <i>, <l>, <b>... have no
        # such attribute): a declaration that could never show them is a mistake, said at once.
        numeric = (ValueType.QUANTITY, *_INTEGERS)
        if self.type is not None and self.type not in numeric and (self.unit is not None or self.decimals is not None):
            raise ValueError(
                f"sensor {self.name!r}: a unit or decimals belong to a number, not to a {self.type.value} "
                "field; leave them out, or declare it float or int"
            )

    def field(self, value: FieldValue, timestamp: dt.datetime | None = None, qos: QoS | None = None) -> Field:
        """A :class:`Field` of this sensor with ``value``; raises TypeError/ValueError for a bad value.

        A number with a unit is a physical quantity (``<q>``, the only field element with a
        unit), whatever its Python type or declared integer type: ``report(energy=1200)`` with
        ``unit="Wh"`` reads "1200 Wh". An integer keeps its integer look (0 decimals) unless
        ``decimals`` says otherwise.
        """
        vtype = self.type
        decimals = self.decimals
        if self.unit is not None and (vtype is None or vtype in _INTEGERS) and _is_number(value):
            if vtype is not None:
                _check_integer(self.name, vtype, value)
            if decimals is None and isinstance(value, int):
                decimals = 0
            vtype = ValueType.QUANTITY
        vtype = vtype or infer_type(value)
        quantity = vtype is ValueType.QUANTITY
        qos = self.qos if qos is None else qos
        timestamp = timestamp or dt.datetime.now(UTC)
        earlier = self._made.get((vtype, decimals, qos))
        if earlier is not None:
            return earlier.with_value(value, timestamp)
        field = Field(
            self.name,
            float(value) if quantity and _is_number(value) else value,
            type=vtype,
            timestamp=timestamp,
            unit=self.unit if quantity else None,
            decimals=decimals if quantity else None,
            enum_type=self.enum_type,
            categories=self.categories,
            qos=qos,
            node=self.node,
        )
        if vtype is not ValueType.ENUM:
            self._made[(vtype, decimals, qos)] = field
        return field

    @property
    def latest(self) -> Field | None:
        return self.history[-1] if self.history else None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_INTEGERS = (ValueType.INTEGER, ValueType.LONG)
_INTEGER_BITS = {ValueType.INTEGER: 31, ValueType.LONG: 63}  # xs:int, xs:long
EXACT_INTEGER = 2**53
"""Largest integer a quantity (an xs:double) carries exactly: an integer sensor with a unit stays below it."""


def _check_integer(name: str, vtype: ValueType, value: int | float) -> None:
    """What the declared integer type would have checked, before the value travels as a quantity."""
    if not isinstance(value, int):
        raise TypeError(f"sensor {name!r} is declared {vtype.value}: {value!r} is not an integer")
    bits = _INTEGER_BITS[vtype]
    if not -(2**bits) <= value < 2**bits:
        raise ValueError(f"sensor {name!r} is declared {vtype.value}: {value} is out of its range")
    if abs(value) > EXACT_INTEGER:
        raise ValueError(
            f"sensor {name!r} has a unit, so {value} travels as a quantity (a double), exact only up to "
            f"2**53; report it without a unit, or in a larger unit"
        )


def _parts(request: ReadoutRequest) -> tuple[bool, bool]:
    """Whether ``request`` asks for history, and whether for current values."""
    categories = request.categories
    named = categories not in (Category(0), Category.ALL)  # particular categories, not "everything"
    bounded = request.from_time is not None or request.to_time is not None
    history = bounded or (named and Category.HISTORICAL in categories)
    current = not history or (named and bool(categories & ~Category.HISTORICAL))
    return history, current


class Sensors:
    """The sensors of one thing (or of one node of a concentrator: ``node``), by name, in declaration order."""

    def __init__(self, history_size: int = DEFAULT_HISTORY, node: NodeRef | None = None) -> None:
        if history_size < 1:
            raise ValueError(f"history_size={history_size}: keep at least one value per field")
        self.history_size = history_size
        self.node = node
        self._sensors: dict[str, Sensor] = {}
        self._retired: dict[str, collections.deque] = {}  # histories of forgotten sensors, until redeclared

    def declare(self, name: str, read: Callable[[], object] | None = None, **meta) -> Sensor:
        """Declare (or redeclare) sensor ``name``; see :meth:`Thing.sensor` for ``meta``."""
        meta["categories"] = categories_of(meta.get("categories", "momentary")) or Category.MOMENTARY
        old = self._sensors.get(name)
        retired = self._retired.pop(name) if name in self._retired else None
        history = old.history if old else retired or collections.deque(maxlen=self.history_size)
        sensor = Sensor(name, read, history=history, node=self.node, **meta)
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
        """The fields answering ``request``, and errors.

        Categories combine (SensorData.md, "Field categories"): ``h`` asks for
        the kept history, the other flags for current values, ``m h`` for both.
        ``all``, which a plain readout sends, means the current values of every
        category, not the whole history; ``from``/``to`` ask for history within
        them. Every field, current or past, must lie within ``from``/``to``.
        A current value is also the newest entry of its history: it is
        returned once, as it is, and older entries marked historical.

        A read function that raises gives a :class:`ReadoutError` naming its field;
        the other fields are still read.
        """
        wanted = [s for s in self._sensors.values() if not request.fields or s.name in request.fields]
        history, current = _parts(request)
        items: list[Field | ReadoutError | None] = []
        if current:
            now = dt.datetime.now(dt.UTC)  # one readout, one moment: fields line up in a table
            items = [await self._current(s, now) for s in wanted]
        if history:
            latest = {id(f) for f in items if isinstance(f, Field)}
            past = [
                f if id(f) in latest else dataclasses.replace(f, categories=f.categories | Category.HISTORICAL)
                for s in wanted
                for f in s.history
            ]
            items = [*past, *(e for e in items if isinstance(e, ReadoutError))]  # current values are in `past`
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
            return ReadoutError(f"Reading {sensor.name!r} failed: {type(e).__name__}: {e}", node=self.node)
        sensor.history.append(field)
        return field
