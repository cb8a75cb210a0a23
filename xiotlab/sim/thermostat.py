"""A simulated thermostat: a control loop keeping a heated room at its setpoint.

Sensors
    ``temperature``  °C, 1 decimal, momentary: what the thermostat measures (with noise)
    ``setpoint``     °C, 1 decimal, momentary
    ``heating``      bool, momentary: whether the heater is on
    ``mode``         enum :class:`Mode`, momentary
Controls
    ``setpoint``     float, 5.0..30.0 °C, step 0.5
    ``mode``         :class:`Mode`: OFF, HEAT or ECO

:class:`HeatedRoom` holds both halves of the simulation, the physics of the
room and the thermostat's on/off rule, in plain Python; :class:`Thermostat`
runs it in a timer and puts it on the network.
"""

from __future__ import annotations

import enum
import math
import random

from .simulated import Simulated

MIN_SETPOINT, MAX_SETPOINT = 5.0, 30.0  # °C: frost protection up to a hot summer's day
ECO_SETBACK = 3.0
"""How many degrees below the setpoint the ECO mode keeps the room."""


class Mode(enum.Enum):
    """What the thermostat aims for."""

    OFF = 1  # the heater stays off, whatever the temperature
    HEAT = 2  # keep the room at the setpoint
    ECO = 3  # keep the room ECO_SETBACK degrees below the setpoint


class HeatedRoom:
    """A room with a heater, switched on and off by a thermostat that measures the room.

    Physics (Newton's law of cooling): the room loses heat to the outside in
    proportion to the temperature difference, ``loss`` W per kelvin, and gains
    the ``heater``'s power while it is on; ``capacity`` (J/K) is how much heat
    one kelvin takes::

        capacity · dT/dt = heater_power - loss · (T - outside)

    Control (on/off with hysteresis): the heater goes on when the measured
    temperature falls below ``target - band/2`` and off when it rises above
    ``target + band/2``; in between it keeps doing what it did, so it does not
    switch back and forth at every flicker of measurement noise.

    >>> room = HeatedRoom(temperature=15.0, setpoint=21.0, seed=1)
    >>> for _ in range(24 * 60):        # a day, a minute at a time
    ...     room.step(60)
    >>> abs(room.temperature - 21.0) < 0.5
    True
    """

    def __init__(
        self,
        temperature: float = 18.0,
        outside: float = 5.0,
        setpoint: float = 21.0,
        mode: Mode = Mode.HEAT,
        *,
        band: float = 0.5,
        heater: float = 3000.0,
        loss: float = 100.0,
        capacity: float = 1.0e6,
        noise: float = 0.05,
        seed: int | None = None,
    ) -> None:
        self.temperature = temperature  # °C, the room's true temperature
        self.measured = temperature  # °C, what the thermostat's sensor last read
        self.outside = outside
        self.setpoint, self.mode, self.band = setpoint, mode, band
        self.heater, self.loss, self.capacity, self.noise = heater, loss, capacity, noise
        self.heating = False
        self._random = random.Random(seed)

    @property
    def target(self) -> float | None:
        """The temperature the thermostat aims for now; None when it is off."""
        if self.mode is Mode.OFF:
            return None
        return self.setpoint - (ECO_SETBACK if self.mode is Mode.ECO else 0.0)

    def step(self, seconds: float) -> None:
        """One turn of the control loop: measure, decide, then let ``seconds`` of simulated time pass."""
        self.measured = self.temperature + self._random.gauss(0.0, self.noise)
        self.heating = self._decide(self.measured)
        self._exchange_heat(seconds)

    def _decide(self, measured: float) -> bool:
        target = self.target
        if target is None:
            return False
        if measured < target - self.band / 2:
            return True
        if measured > target + self.band / 2:
            return False
        return self.heating

    def _exchange_heat(self, seconds: float) -> None:
        # With the heater steady, the temperature relaxes exponentially toward the balance where
        # the loss equals the heating. The exact solution rather than a small Euler step keeps
        # any step size stable, so a high simulation speed cannot make the room blow up.
        balance = self.outside + (self.heater if self.heating else 0.0) / self.loss
        relaxation = math.exp(-seconds * self.loss / self.capacity)
        self.temperature = balance + (self.temperature - balance) * relaxation


class Thermostat(Simulated):
    """A thermostat heating a simulated room; its owner sets the ``setpoint`` and the ``mode``.

    Every ``interval`` real seconds the control loop turns once over
    ``interval * speed`` simulated seconds; the room is slow, so ``speed=60``
    (a minute a second) shows it warming up within a lesson, and
    ``thermostat.step(600)`` lets ten minutes pass by hand. ``temperature`` is
    where the room starts, ``outside`` the temperature it loses heat to;
    ``band``, ``noise`` and ``seed`` are those of :class:`HeatedRoom`.
    ``interval``, ``speed`` and any other keyword (``owner=``, ``lab=``, ...) go
    to :class:`~.simulated.Simulated` and :class:`~xiotlab.Thing`::

        thermostat = Thermostat(owner="alice", lab=lab, speed=60).start()   # a minute a second
        alice.set("thermostat", setpoint=22.5, mode=Mode.ECO)               # aims for 19.5 °C
        alice.subscribe("thermostat", "heating")    # the heater going on and off
    """

    def __init__(
        self,
        jid: str = "thermostat",
        *,
        setpoint: float = 21.0,
        mode: Mode = Mode.HEAT,
        temperature: float = 18.0,
        outside: float = 5.0,
        band: float = 0.5,
        noise: float = 0.05,
        seed: int | None = None,
        **options,
    ) -> None:
        super().__init__(jid, **options)
        self.room = HeatedRoom(temperature, outside, setpoint, mode, band=band, noise=noise, seed=seed)
        self.sensor("temperature", unit="°C", decimals=1)(lambda: self.room.measured)
        self.sensor("setpoint", unit="°C", decimals=1)(lambda: self.room.setpoint)
        self.sensor("heating", type=bool)(lambda: self.room.heating)
        self.sensor("mode")(lambda: self.room.mode)
        # The range check happens before the handler runs: 99 °C never reaches it.
        self.control("setpoint", type=float, min=MIN_SETPOINT, max=MAX_SETPOINT, step=0.5, value=setpoint)(
            self._change_setpoint
        )
        self.control("mode", type=Mode, value=mode)(self._change_mode)

    def step(self, seconds: float) -> None:
        """Turn the control loop once over ``seconds`` of simulated time and report what it measured."""
        with self._lock:
            self.room.step(seconds)
            self.report(temperature=self.room.measured, heating=self.room.heating)

    # The loop heeds a new setpoint or mode at its next turn; the report tells subscribers now.

    def _change_setpoint(self, setpoint: float) -> None:
        with self._lock:
            self.room.setpoint = setpoint
            self.report(setpoint=setpoint)

    def _change_mode(self, mode: Mode) -> None:
        with self._lock:
            self.room.mode = mode
            self.report(mode=mode)
