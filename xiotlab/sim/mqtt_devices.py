"""Simulated MQTT devices: foreign devices that know nothing of XMPP, publishing to a broker.

They are what a lab shows the :class:`~xiotlab.bridges.MqttBridge` with, without hardware::

    lab = LabServer(mqtt=True).start()
    station = WeatherStation(lab=lab, speed=600).start()   # home/garden/weather, JSON, retained
    plug = SmartPlug(lab=lab).start()                      # home/living/plug, and listens on home/living/plug/set
    soil = SoilProbe(lab=lab).start()                      # home/garden/soil: "38.5 %", plain text
    # mosquitto_sub -t 'home/#' -v   shows them; mosquitto_pub -t home/living/plug/set -m off   switches the plug

Each is an MQTT client of its own (aiomqtt) on xiotlab's network loop: every ``interval``
real seconds it lets ``interval * speed`` simulated seconds pass (``step``) and publishes
what it measures, retained by default (as many devices do, so a client subscribing later
gets the last value at once). :meth:`MqttDevice.stop` ends it. A device of your own is a
subclass with a ``payload()`` (and a ``step(seconds)`` if it changes with time), and
``on_command(text)`` for a device that listens on ``<topic>/set``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from urllib.parse import urlsplit

import aiomqtt

from ..errors import CannotConnect
from ..runtime import network
from ..server import LabServer
from .thermometer import DailyCycle

log = logging.getLogger("xiotlab")


class MqttDevice:
    """A simulated device publishing ``payload()`` to ``topic`` every ``interval`` seconds.

    ``broker``: ``mqtt://host:port``, or ``lab=`` for the lab's own broker. ``speed``:
    simulated seconds per real second. ``retain``: publish retained messages. ``commands``:
    also listen on ``<topic>/set`` and pass each text received there to :meth:`on_command`.
    """

    commands = False

    def __init__(
        self,
        topic: str,
        *,
        broker: str | None = None,
        lab: LabServer | None = None,
        interval: float = 1.0,
        speed: float = 1.0,
        retain: bool = True,
        seed: int | None = None,
    ) -> None:
        if broker is None:
            if lab is None:
                raise ValueError("Name the broker (`broker='mqtt://127.0.0.1:1883'`), or pass `lab=`.")
            broker = lab.mqtt_url
        url = urlsplit(broker if "://" in broker else f"mqtt://{broker}")
        if not url.hostname:
            raise ValueError(f"broker={broker!r}: write it as mqtt://host:port")
        self.topic = topic
        self.broker = f"mqtt://{url.hostname}:{url.port or 1883}"
        self._host, self._port = url.hostname, url.port or 1883
        self.interval = interval
        self.speed = speed
        self.retain = retain
        self.published = 0  # messages sent so far
        self._random = random.Random(seed)
        self._task: asyncio.Task | None = None
        self._client: aiomqtt.Client | None = None

    # --- what a device says: override these --------------------------------------------

    def step(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass."""

    def payload(self) -> str:
        """What the device publishes now."""
        raise NotImplementedError(f"{type(self).__name__} must say what it publishes: define payload()")

    def on_command(self, text: str) -> None:
        """A text received on ``<topic>/set`` (only for a device with ``commands = True``)."""

    # --- life cycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> MqttDevice:
        """Connect and start publishing (the first message goes out at once); returns the device."""
        if not self.running:
            network.run(self._start())
        return self

    def stop(self) -> None:
        """Stop publishing and disconnect. Safe to call twice."""
        network.run(self._stop())

    def __enter__(self) -> MqttDevice:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def publish_now(self) -> None:
        """Publish the current payload at once (any thread but the network loop's)."""
        network.run(self._publish())

    async def _start(self) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = network.spawn(self._run(ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), 10)
        except BaseException:
            await self._stop()
            raise

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, ready: asyncio.Future[None]) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self._host, self._port, identifier=f"sim-{uuid.uuid4().hex[:10]}", keepalive=30
                ) as client:
                    self._client = client
                    listener = None
                    if self.commands:
                        await client.subscribe(f"{self.topic}/set")
                        listener = network.spawn(self._listen(client))
                    if not ready.done():
                        ready.set_result(None)
                    try:
                        while True:
                            await self._publish()
                            await asyncio.sleep(self.interval)
                            self.step(self.interval * self.speed)
                    finally:
                        if listener is not None:
                            listener.cancel()
                            await asyncio.gather(listener, return_exceptions=True)
            except aiomqtt.MqttError as e:
                if not ready.done():
                    ready.set_exception(CannotConnect(f"Cannot connect to the MQTT broker {self.broker}: {e}"))
                    return
                log.info("%s: lost the broker %s (%s); trying again", type(self).__name__, self.broker, e)
            finally:
                self._client = None
            await asyncio.sleep(1.0)

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            text = payload.decode(errors="replace") if isinstance(payload, (bytes, bytearray)) else str(payload)
            try:
                self.on_command(text.strip())
            except ValueError as e:
                log.info("%s ignored the command %r: %s", type(self).__name__, text[:100], e)
            await self._publish()  # say the new state at once, as a real device does

    async def _publish(self) -> None:
        client = self._client
        if client is not None:
            await client.publish(self.topic, self.payload(), retain=self.retain)
            self.published += 1

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.topic} on {self.broker}, {'running' if self.running else 'stopped'}>"


class WeatherStation(MqttDevice):
    """A garden weather station: JSON with temperature, humidity, pressure and a nested wind object.

    ``{"temperature": 21.3, "humidity": 40.2, "pressure": 1013.2, "wind": {"speed": 3.2, "direction": 210}}``
    """

    def __init__(self, topic: str = "home/garden/weather", *, seed: int | None = None, **options) -> None:
        super().__init__(topic, seed=seed, **options)
        self.climate = DailyCycle(mean=15.0, swing=6.0, humidity=60.0, seed=seed)
        self.pressure = 1013.0
        self.wind = 3.0
        self.direction = 210.0

    def step(self, seconds: float) -> None:
        self.climate.step(seconds)
        r = self._random
        self.pressure = min(1050.0, max(960.0, self.pressure + r.gauss(0.0, 0.02 * seconds**0.5)))
        self.wind = max(0.0, self.wind + r.gauss(0.0, 0.3))
        self.direction = (self.direction + r.gauss(0.0, 10.0)) % 360

    def payload(self) -> str:
        return json.dumps(
            {
                "temperature": round(self.climate.temperature, 1),
                "humidity": round(self.climate.humidity, 1),
                "pressure": round(self.pressure, 1),
                "wind": {"speed": round(self.wind, 1), "direction": round(self.direction)},
            }
        )


class SmartPlug(MqttDevice):
    """A smart plug: publishes ``{"on": true, "power": 61.2, "energy": 0.0172}`` and obeys ``<topic>/set``.

    ``on``/``off``/``true``/``false``/``1``/``0`` (any case) switch it, ``toggle`` flips it; the
    new state is published at once. ``load`` is the appliance's power in W while on.
    """

    commands = True

    def __init__(self, topic: str = "home/living/plug", *, load: float = 60.0, **options) -> None:
        super().__init__(topic, **options)
        self.on = True
        self.load = load
        self.energy = 0.0  # kWh
        self.power = self._draw()

    def _draw(self) -> float:
        return self.load * (1 + self._random.gauss(0.0, 0.02)) if self.on else 0.0

    def step(self, seconds: float) -> None:
        self.power = self._draw()
        self.energy += self.power * seconds / 3_600_000

    def on_command(self, text: str) -> None:
        word = text.lower()
        if word == "toggle":
            self.on = not self.on
        elif word in ("on", "true", "1"):
            self.on = True
        elif word in ("off", "false", "0"):
            self.on = False
        else:
            raise ValueError("say on, off or toggle")
        self.power = self._draw()

    def payload(self) -> str:
        return json.dumps({"on": self.on, "power": round(self.power, 1), "energy": round(self.energy, 4)})


class SoilProbe(MqttDevice):
    """A soil moisture probe publishing plain text with a unit, ``"38.5 %"``: drying, watered when low."""

    def __init__(self, topic: str = "home/garden/soil", **options) -> None:
        super().__init__(topic, **options)
        self.moisture = 45.0

    def step(self, seconds: float) -> None:
        self.moisture -= 0.0005 * seconds + self._random.gauss(0.0, 0.05)
        if self.moisture < 20.0:
            self.moisture = 55.0  # the gardener came by

    def payload(self) -> str:
        return f"{self.moisture:.1f} %"
