"""What a thing and each node of a concentrator both are: a device with sensors, controls and timers.

:class:`~xiotlab.roles.thing.Thing` and :class:`~xiotlab.roles.nodes.Node`
declare sensors and controls, report values and run timers the same way;
this mixin is that one way. Its host provides the sensors and controls it
declares into, the timers, and where reported fields go (``_push``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ..protocol.values import Field, QoS
from .controls import Controls, describe
from .sensors import Sensors, value_type
from .timers import Timer, Timers, seconds

Handler = TypeVar("Handler", bound=Callable[..., Any])


class Device:
    """Sensors, controls, reports and timers; see :class:`~xiotlab.roles.thing.Thing` for the examples."""

    _sensors: Sensors
    _controls: Controls
    _timers: Timers

    @property
    def _label(self) -> str:
        """How errors name this device."""
        raise NotImplementedError

    def _push(self, fields: list[Field]) -> None:
        """Send reported fields on to history and subscribers (from any thread)."""
        raise NotImplementedError

    # --- sensors ----------------------------------------------------------

    def sensor(
        self,
        name: str,
        *,
        unit: str | None = None,
        type=None,
        decimals: int | None = None,
        category="momentary",
        qos: QoS | None = None,
        enum_type: str | None = None,
    ):
        """Declare sensor field ``name``; decorate the function that returns its current value.

        ``type``: a :class:`ValueType` (or ``float``, ``int``, ``bool``, ``str``); by default the
        type of each value. ``category``: ``"momentary"`` (default), ``"peak"``, ``"status"``,
        ``"computed"``, ``"identity"``, or several of them. The function is called at every
        readout and poll; it may be a coroutine function. Declaring a name again replaces it.
        """
        meta = dict(unit=unit, type=value_type(type), decimals=decimals, categories=category, enum_type=enum_type)
        if qos is not None:
            meta["qos"] = qos

        def declare(read):
            self._sensors.declare(name, read, **meta)
            return read

        self._sensors.declare(name, None, **meta)
        return declare

    @property
    def sensors(self) -> list[str]:
        """The names of the declared and reported fields."""
        return [s.name for s in self._sensors]

    def report(
        self,
        values: Mapping[str, Any] | dt.datetime | None = None,
        /,
        *,
        timestamp: dt.datetime | None = None,
        **fields: Any,
    ) -> list[Field]:
        """Push new values (``report(temperature=21.4, humidity=40)``) to history and subscribers.

        ``timestamp`` stamps them all (default: now). A mapping first reaches any field name,
        ``timestamp`` included: ``report({"timestamp": 1733000000, "count": 3})``. Returns at
        once, from any thread; a bad value raises here, in the caller.
        """
        if isinstance(values, dt.datetime):  # the timestamp given first, as it once was
            values, timestamp = None, values
        both = set(values or ()) & set(fields)
        if both:
            raise ValueError(f"report: {', '.join(sorted(both))} given twice, in the mapping and as keywords.")
        sensors = self._sensors
        timestamp = timestamp or dt.datetime.now(dt.UTC)  # values reported together share their moment
        made = []
        for name, value in {**(values or {}), **fields}.items():
            try:
                made.append(sensors.get(name).field(value, timestamp))
            except (TypeError, ValueError) as e:
                raise type(e)(f"report({name}={value!r}): {e}") from None
        self._push(made)
        return made

    def history(self, name: str) -> list[Field]:
        """The kept values of field ``name``, oldest first."""
        if name not in self._sensors:
            raise KeyError(f"{self._label} has no field {name!r}; its fields: {self.sensors}")
        return list(self._sensors.get(name).history)

    # --- behaviour over time -------------------------------------------------

    def every(self, interval: float | dt.timedelta):
        """Run the decorated function every ``interval`` seconds while the thing is online.

        A returned dict is reported (``return {"temperature": 21.4}`` is ``report(temperature=21.4)``).
        A plain function runs on a worker thread and may block; a coroutine function runs on the
        network loop. The first call comes at once. An exception is counted (``thing.timers``) and logged
        (once while the same error repeats); the timer goes on.

        >>> @thermometer.every(1.0)                                       # doctest: +SKIP
        ... def tick():
        ...     return {"temperature": room.temperature()}
        """
        interval = seconds(interval)

        def add(function):
            self._timers.add(function, interval)
            return function

        return add

    @property
    def timers(self) -> list[Timer]:
        """The functions declared with :meth:`every`, with their call and error counts."""
        return list(self._timers.timers)

    def forget(self) -> None:
        """Forget every sensor, control and timer declared so far, staying online.

        Declare new ones afterwards: this is how a notebook cell replaces a running
        thing's behaviour (``%%thing`` calls it before running the cell again).
        """
        self._timers.clear()
        self._sensors.clear()
        self._controls.clear()

    # --- controls ---------------------------------------------------------

    def control(
        self,
        name: str,
        *,
        type: Any = bool,
        value: Any = None,
        min: Any = None,
        max: Any = None,
        step: float | None = None,
        options: Iterable[Any] | None = None,
        label: str = "",
        description: str = "",
        read_only: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare control parameter ``name``; decorate the function that acts on new values.

        ``type``: ``bool``, ``int``, ``float``, ``str``, an ``Enum`` class (its member names are
        the options, and the handler gets members), a date/time type, or a
        :class:`~xiotlab.protocol.parameters.ParameterType`.
        ``min``/``max``/``step`` bound numbers, ``options`` lists allowed values, ``value`` is the
        initial value. The handler gets each validated value; it may be a coroutine function,
        and may refuse a value by raising ``ValueError`` (the owner gets a ParameterError).
        """
        limits = {"value": value, "min": min, "max": max, "step": step}
        parameter = describe(name, type, options, label=label, description=description, read_only=read_only, **limits)
        enum_class = type if isinstance(type, builtins.type) and issubclass(type, enum.Enum) else None
        self._controls.declare(parameter, None, enum_class)

        def with_handler(handler):
            self._controls.declare(parameter, handler, enum_class)
            return handler

        return with_handler

    @property
    def controls(self) -> dict[str, object]:
        """Each control parameter's current value (None until set, unless declared with one)."""
        return {name: p.value for name, p in self._controls.parameters.items()}
