"""A simulated thermometer: a room whose temperature follows the day.

Sensors
    ``temperature``  °C, 1 decimal, momentary: a daily wave plus measurement noise
    ``humidity``     %, no decimals, momentary: moves against the temperature
Controls
    none

The physics lives in :class:`DailyCycle`, plain Python that a test (or a
curious student) can step through a whole day in a millisecond. The device,
:class:`Thermometer`, only wires that model to the network: two sensors that
read it and a timer that moves it on and reports the new values.
"""

from __future__ import annotations

import math
import random

from .simulated import Simulated

DAY = 86_400.0
"""Seconds in a day: the default period of the cycle."""

HUMIDITY_SWING = 10.0
"""Percentage points the humidity moves, opposite the temperature, over the day."""


class DailyCycle:
    """The climate of a room over simulated days: a wave through the day, plus noise.

    The room is coldest at 03:00 (``mean - swing``) and warmest at 15:00
    (``mean + swing``), and every value carries Gaussian noise of standard
    deviation ``noise``, as a real sensor's would. ``period`` is the length of
    a simulated day in seconds; the clock starts at ``hour`` (midnight by default).

    >>> climate = DailyCycle(seed=1)
    >>> climate.step(15 * 3600)              # jump to 15:00
    >>> round(climate.temperature)
    24
    """

    def __init__(
        self,
        mean: float = 21.0,
        swing: float = 3.0,
        noise: float = 0.2,
        period: float = DAY,
        *,
        humidity: float = 45.0,
        hour: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.mean, self.swing, self.noise, self.period = mean, swing, noise, period
        self.mean_humidity = humidity
        self.clock = hour / 24 * period  # simulated seconds since the first midnight
        self._random = random.Random(seed)  # a generator of its own: the same seed, the same weather
        self._measure()

    def wave(self, clock: float) -> float:
        """Where the day stands at ``clock``: -1 at 03:00, +1 at 15:00, without noise."""
        # A cosine starts at its top; shifting it by 5/8 of a day puts the top at 15:00.
        return math.cos(2 * math.pi * (clock / self.period - 0.625))

    def step(self, seconds: float) -> None:
        """Move the clock on by ``seconds`` and take a new, noisy, measurement."""
        self.clock += seconds
        self._measure()

    def _measure(self) -> None:
        wave = self.wave(self.clock)
        self.temperature = self.mean + self.swing * wave + self._random.gauss(0.0, self.noise)
        # Warm air holds more water, so the relative humidity of the same air falls as it warms.
        humidity = self.mean_humidity - HUMIDITY_SWING * wave + self._random.gauss(0.0, 5 * self.noise)
        self.humidity = min(100.0, max(0.0, humidity))


class Thermometer(Simulated):
    """A thermometer in a room whose temperature follows a daily cycle.

    ``mean``, ``swing``, ``noise``, ``period``, ``humidity``, ``hour`` (of the
    day to start at) and ``seed`` shape the climate (see :class:`DailyCycle`).
    Every ``interval`` real seconds the room moves on by ``interval * speed``
    simulated seconds and the thermometer reports the new values, so
    ``speed=1440`` lets a whole day pass in a minute of class;
    ``thermometer.step(3600)`` jumps an hour ahead by hand. ``interval``,
    ``speed`` and any other keyword (``owner=``, ``lab=``, ``status=``, ...) go
    to :class:`~.simulated.Simulated` and :class:`~xiotlab.Thing`::

        thermometer = Thermometer(owner="alice", lab=lab, speed=1440).start()  # a day a minute
        alice.read("thermometer")["temperature"]    # e.g. 20.3 °C
    """

    def __init__(
        self,
        jid: str = "thermometer",
        *,
        mean: float = 21.0,
        swing: float = 3.0,
        noise: float = 0.2,
        period: float = DAY,
        humidity: float = 45.0,
        hour: float = 0.0,
        seed: int | None = None,
        **options,
    ) -> None:
        super().__init__(jid, **options)
        self.climate = DailyCycle(mean, swing, noise, period, humidity=humidity, hour=hour, seed=seed)
        # A readout asks these functions for the current value; step(), at every tick, reports to subscribers.
        self.sensor("temperature", unit="°C", decimals=1)(lambda: self.climate.temperature)
        self.sensor("humidity", unit="%", decimals=0)(lambda: self.climate.humidity)

    def step(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass and report the new values."""
        with self._lock:
            self.climate.step(seconds)
            # Reporting inside the lock keeps the reports in the order the values were measured.
            self.report(temperature=self.climate.temperature, humidity=self.climate.humidity)
