"""What every simulated device with a clock shares: a model moved on by a timer.

A simulated device is a :class:`~xiotlab.Thing` over a model with a
``step(seconds)`` method. :class:`Simulated` holds the part that is the same
for all of them: a timer that every ``interval`` real seconds lets
``interval * speed`` simulated seconds pass, and a lock, so that the timer, the
control handlers and a notebook cell take turns. A device only builds its
model, declares its sensors and controls, and says in :meth:`Simulated.step`
how time passes and what to report. A simulated device in ten lines::

    class Clock(Simulated):  # Clock(owner="alice", lab=lab, speed=60): a minute a second
        def __init__(self, jid: str = "clock", **options) -> None:
            super().__init__(jid, **options)  # interval=, speed=, owner=, lab=, ...
            self.seconds = 0.0
            self.sensor("seconds", unit="s")(lambda: self.seconds)

        def step(self, seconds: float) -> None:
            with self._lock:
                self.seconds += seconds
                self.report(seconds=self.seconds)
"""

from __future__ import annotations

import threading

from ..roles import Thing


class Simulated(Thing):
    """A thing over a simulation: every ``interval`` real seconds, ``interval * speed`` simulated seconds pass.

    ``interval``: real seconds between two ticks of the timer (1 by default).
    ``speed``: simulated seconds per real second (1 by default): ``speed=1440``
    lets a day pass in a minute, ``speed=0`` stops the clock. It is read at
    every tick, so ``device.speed = 60`` changes it while the device runs.
    Any other keyword (``owner=``, ``lab=``, ``status=``, ``tags=``, ...) goes to
    :class:`~xiotlab.Thing`: with ``tags=`` and no ``owner=`` the device comes
    factory-fresh, registered in the lab's thing registry and waiting to be
    claimed with its claim code (``device.claim_qr()``).

    A subclass overrides :meth:`step`; the timer calls it while the thing is
    online, and anyone may call it by hand to jump ahead.
    """

    def __init__(self, jid: str, *, interval: float = 1.0, speed: float = 1.0, **options) -> None:
        super().__init__(jid, **options)
        self.interval = interval
        self.speed = speed
        # The timer, the control handlers and a notebook cell each run on threads of their own:
        # whatever changes the model holds this lock, so they take turns and reports keep their order.
        self._lock = threading.Lock()
        self.every(interval)(self._tick)

    def step(self, seconds: float) -> object:
        """Let ``seconds`` of simulated time pass and report what changed; override it in each device.

        Hold ``self._lock`` while changing the model and reporting. What it
        returns is for a caller stepping by hand (the door sensor: whether the
        door moved); the timer ignores it.
        """
        raise NotImplementedError(f"{type(self).__name__} must say how time passes: define step(seconds)")

    def _tick(self) -> None:
        self.step(self.interval * self.speed)
