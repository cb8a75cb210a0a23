"""A simulated dimmable lamp: the smallest device that can be controlled.

Sensors
    ``on``          bool, momentary
    ``brightness``  %, no decimals, momentary
    ``power``       W, 1 decimal, momentary: what the lamp draws from the mains
Controls
    ``on``          bool
    ``brightness``  int, 0..100 %, step 1

The lamp has no timer: nothing changes unless someone controls it. Its
control handlers report the new state at once, so a subscriber to ``power``
sees the lamp switch on as it happens.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..roles import Thing


@dataclass
class Bulb:
    """An LED bulb: dark when off, and drawing power in proportion to its brightness when on.

    >>> Bulb(on=True, brightness=40, watts=9.0).power
    3.6
    """

    on: bool = False
    brightness: int = 100  # %
    watts: float = 9.0  # drawn at full brightness

    @property
    def power(self) -> float:
        """The power drawn now, in W."""
        return self.watts * self.brightness / 100 if self.on else 0.0


class Lamp(Thing):
    """A dimmable lamp its owner switches and dims: ``owner.set("lamp", on=True, brightness=40)``.

    ``watts`` is the power drawn at full brightness; ``on`` and ``brightness``
    the state it starts in. Any other keyword (``owner=``, ``lab=``, ...) goes
    to :class:`~xiotlab.Thing`::

        lamp = Lamp(owner="alice", lab=lab).start()
        alice.set("lamp", on=True, brightness=40)
        alice.read("lamp")["power"].value           # 3.6 (W): 40 % of 9 W
    """

    def __init__(
        self, jid: str = "lamp", *, watts: float = 9.0, on: bool = False, brightness: int = 100, **options
    ) -> None:
        super().__init__(jid, **options)
        self.bulb = Bulb(on, brightness, watts)

        self.sensor("on", type=bool)(lambda: self.bulb.on)
        self.sensor("brightness", unit="%", decimals=0)(lambda: self.bulb.brightness)
        self.sensor("power", unit="W", decimals=1)(lambda: self.bulb.power)
        # The form shows the owner each control's range and current value.
        self.control("on", type=bool, value=on)(self._switch)
        self.control("brightness", type=int, min=0, max=100, step=1, value=brightness)(self._dim)

    # Coroutine handlers run one at a time on the network loop, so two owners' commands
    # cannot interleave halfway: no lock needed. Anything slow (real hardware) would
    # rather be a plain function, which runs on a worker thread.

    async def _switch(self, on: bool) -> None:
        self.bulb.on = on
        self.report(on=on, power=self.bulb.power)

    async def _dim(self, brightness: int) -> None:
        self.bulb.brightness = brightness
        self.report(brightness=brightness, power=self.bulb.power)
