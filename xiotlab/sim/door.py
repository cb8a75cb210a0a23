"""A simulated door sensor: discrete events at random times, or when you say so.

Sensors
    ``open``      bool, momentary: whether the door is open
    ``openings``  int, momentary: how many times it has opened since the sensor started
Controls
    none: a door sensor only watches. Open and close the door by hand with
    :meth:`DoorSensor.open_now` and :meth:`DoorSensor.close_now`.

Unlike a thermometer, which reports a new value at every tick, the door
sensor reports only when the door opens or closes, so every value a
subscriber receives is an event.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from .simulated import Simulated


class Door:
    """A door that people open now and then, and that closes again a while later.

    Openings come at random, ``openings_per_hour`` on average while the door
    is shut (a Poisson process); an open door stays open ``open_seconds`` on
    average. The chance that an event with rate ``r`` happens within ``dt``
    seconds is ``1 - exp(-r·dt)``. At most one change happens per step, so keep
    steps well below ``open_seconds``.

    >>> door = Door(seed=1)
    >>> door.open(), door.open(), door.openings
    (True, False, 1)
    """

    def __init__(self, openings_per_hour: float = 6.0, open_seconds: float = 20.0, *, seed: int | None = None) -> None:
        self.openings_per_hour = openings_per_hour
        self.open_seconds = open_seconds
        self.is_open = False
        self.openings = 0
        self._random = random.Random(seed)

    def step(self, seconds: float) -> bool:
        """Let ``seconds`` pass; True if the door opened or closed meanwhile."""
        rate = 1 / self.open_seconds if self.is_open else self.openings_per_hour / 3600
        if self._random.random() >= 1 - math.exp(-rate * seconds):
            return False
        return self.close() if self.is_open else self.open()

    def open(self) -> bool:
        """Open the door; False if it was open already."""
        if self.is_open:
            return False
        self.is_open = True
        self.openings += 1
        return True

    def close(self) -> bool:
        """Close the door; False if it was shut already."""
        if not self.is_open:
            return False
        self.is_open = False
        return True


class DoorSensor(Simulated):
    """A sensor on a door that opens at random times; subscribers get one event per change.

    ``openings_per_hour``, ``open_seconds`` and ``seed`` are those of
    :class:`Door`; ``openings_per_hour=0`` leaves the door to you. Every
    ``interval`` real seconds ``interval * speed`` simulated seconds pass.
    ``interval``, ``speed`` and any other keyword (``owner=``, ``lab=``, ...) go
    to :class:`~.simulated.Simulated` and :class:`~xiotlab.Thing`::

        door = DoorSensor(owner="alice", lab=lab, openings_per_hour=0).start()
        events = alice.subscribe("door", "open")
        door.open_now()
        events.get(timeout=5).value                 # True: the door opened
    """

    def __init__(
        self,
        jid: str = "door",
        *,
        openings_per_hour: float = 6.0,
        open_seconds: float = 20.0,
        seed: int | None = None,
        **options,
    ) -> None:
        super().__init__(jid, **options)
        self.door = Door(openings_per_hour, open_seconds, seed=seed)
        self.sensor("open", type=bool)(lambda: self.door.is_open)
        self.sensor("openings", type=int)(lambda: self.door.openings)

    def open_now(self) -> bool:
        """Open the door by hand, as someone walking in would; False if it was open already."""
        return self._change(self.door.open)

    def close_now(self) -> bool:
        """Close the door by hand; False if it was shut already."""
        return self._change(self.door.close)

    def step(self, seconds: float) -> bool:
        """Let ``seconds`` of simulated time pass; True if the door opened or closed meanwhile."""
        return self._change(lambda: self.door.step(seconds))

    def _change(self, change: Callable[[], bool]) -> bool:
        """Apply ``change`` to the door and report the door's state if it changed."""
        with self._lock:
            changed = change()
            if changed:  # nothing to tell when nothing happened: each report is an event
                self.report(open=self.door.is_open, openings=self.door.openings)
        return changed
