"""A simulated electricity meter on a household's supply.

Sensors
    ``energy``      kWh, 3 decimals, momentary: used since the meter started; never decreases
    ``power``       W, no decimals, momentary: drawn now
    ``peak_power``  W, no decimals, peak: the highest power since the peak was last reset
Controls
    ``reset_peak``  bool: setting it true starts a new peak from the present power

The power follows a typical day, with noise; the meter adds up the energy
and keeps the peak, as a real one does. :class:`Household` is that model in
plain Python; :class:`EnergyMeter` reports it on the network.
"""

from __future__ import annotations

import math
import random

from .simulated import Simulated

JOULES_PER_KWH = 3_600_000.0

# The extra power (W) of the morning and evening peaks: (hour of the middle, spread in hours, height).
MORNING = (7.5, 1.0, 600.0)
EVENING = (19.0, 2.0, 1200.0)


def bump(hour: float, middle: float, spread: float) -> float:
    """A bell curve over the clock: 1 at ``middle``, falling off over ``spread`` hours, around midnight too."""
    distance = (hour - middle + 12) % 24 - 12  # 23:00 is one hour from midnight, not 23
    return math.exp(-((distance / spread) ** 2) / 2)


class Household:
    """A household's electricity use, as its meter sees it.

    The typical power is a ``base`` load all day (fridge, router, standby) with
    a peak at breakfast and a larger one in the evening; the actual power
    scatters around it by ``noise`` (a fraction: 0.1 is ±10 %). Each
    :meth:`step` adds the energy used at the present power, then draws the
    next power, so the energy is exactly the sum of power × time.

    >>> home = Household(noise=0.0, hour=19.0)
    >>> round(home.power)
    1350
    >>> home.step(3600)
    >>> round(home.energy, 2)
    1.35
    """

    def __init__(self, base: float = 150.0, noise: float = 0.1, *, hour: float = 0.0, seed: int | None = None) -> None:
        self.base, self.noise = base, noise
        self.clock = hour * 3600  # simulated seconds since the first midnight
        self._random = random.Random(seed)
        self.energy = 0.0  # kWh
        self.power = self._draw()  # W
        self.peak = self.power  # W

    def typical(self, hour: float) -> float:
        """The mean power (W) at ``hour`` of the day."""
        return self.base + sum(height * bump(hour, middle, spread) for middle, spread, height in (MORNING, EVENING))

    def step(self, seconds: float) -> None:
        """Use energy at the present power for ``seconds``, then move to the next power."""
        self.energy += self.power * seconds / JOULES_PER_KWH
        self.clock += seconds
        self.power = self._draw()
        self.peak = max(self.peak, self.power)

    def reset_peak(self) -> None:
        """Start a new peak from the present power."""
        self.peak = self.power

    def _draw(self) -> float:
        mean = self.typical(self.clock / 3600 % 24)
        return max(0.0, self._random.gauss(mean, self.noise * mean))  # a meter never runs backwards


class EnergyMeter(Simulated):
    """An electricity meter: power now, energy so far, and the peak its owner can reset.

    ``base``, ``noise``, ``hour`` (of the day to start at) and ``seed`` are those
    of :class:`Household`. Every ``interval`` real seconds ``interval * speed``
    simulated seconds pass; ``meter.step(3600)`` lets an hour pass by hand.
    ``interval``, ``speed`` and any other keyword (``owner=``, ``lab=``, ...) go
    to :class:`~.simulated.Simulated` and :class:`~xiotlab.Thing`::

        meter = EnergyMeter(owner="alice", lab=lab, speed=3600).start()     # an hour a second
        alice.read("energy-meter")                  # energy, power, peak_power
        alice.set("energy-meter", reset_peak=True)  # peak_power starts again from power
    """

    def __init__(
        self,
        jid: str = "energy-meter",
        *,
        base: float = 150.0,
        noise: float = 0.1,
        hour: float = 0.0,
        seed: int | None = None,
        **options,
    ) -> None:
        super().__init__(jid, **options)
        self.household = Household(base, noise, hour=hour, seed=seed)
        self.sensor("energy", unit="kWh", decimals=3)(lambda: self.household.energy)
        self.sensor("power", unit="W", decimals=0)(lambda: self.household.power)
        self.sensor("peak_power", unit="W", decimals=0, category="peak")(lambda: self.household.peak)
        # A button rather than a setting: each time the owner sets it true, the peak starts anew.
        self.control("reset_peak", type=bool, value=False)(self._reset_peak)

    def step(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass and report the new readings."""
        with self._lock:
            home = self.household
            home.step(seconds)
            self.report(energy=home.energy, power=home.power, peak_power=home.peak)

    def _reset_peak(self, reset: bool) -> None:
        if reset:
            # The reset handler runs on a thread of its own: without the lock, a reset could land
            # between a tick's new peak and its report, and subscribers would see it undone.
            with self._lock:
                self.household.reset_peak()
                self.report(peak_power=self.household.peak)
