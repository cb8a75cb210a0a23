"""Simulated devices to play with, and to copy: each is a short :class:`~xiotlab.Thing` subclass.

::

    from xiotlab import LabServer, Owner
    from xiotlab.sim import EnergyMeter, Lamp, Thermometer

    lab = LabServer().start()
    alice = Owner("alice", lab=lab).start()
    thermometer = Thermometer("thermometer", owner="alice", lab=lab, speed=1440).start()  # a day a minute
    lamp = Lamp("lamp", owner="alice", lab=lab).start()
    alice.befriend("thermometer"); alice.befriend("lamp")
    alice.read("thermometer")["temperature"]           # a reading of the simulated room
    alice.set("lamp", on=True, brightness=40)          # then alice.read("lamp")["power"]: 3.6 W

    # Factory-fresh: no owner, tags in the registry; whoever has its claim code claims it.
    meter = EnergyMeter("meter", lab=lab, tags={"MAN": "Acme", "MODEL": "EM1", "SN": "7"}).start()
    meter.claim_qr()                                    # shows the QR code in a notebook
    alice.claim(meter.claim_uri)                        # now alice's, and her friend

The devices, one module each, from the simplest:

- :class:`Lamp` (``lamp``): controls and immediate reports, no timer.
- :class:`Thermometer` (``thermometer``): a timer reporting a daily cycle with noise.
- :class:`DoorSensor` (``door``): events at random times, reported only on change.
- :class:`EnergyMeter` (``energy_meter``): a counter, a peak, and a control that resets it.
- :class:`Thermostat` (``thermostat``): a control loop over a simulated room.
- :class:`WeatherStation`, :class:`SmartPlug`, :class:`SoilProbe` (``mqtt_devices``): foreign
  devices that publish JSON or text to an MQTT broker, not XMPP, for the MQTT bridge to show.

Each module keeps its simulation in a plain class with a ``step(seconds)``
method (:class:`~.thermometer.DailyCycle`, :class:`~.door.Door`, ...), which
runs without any network. The device wires it to the network: sensors that
read it, controls that change it, and a ``step(seconds)`` of its own that moves
it on and reports. Every device but the lamp is a :class:`Simulated`
(``simulated``), which calls that ``step`` from a timer and holds what the
devices share: ``speed=`` (simulated seconds per real second, changeable while
it runs), ``interval=`` (real seconds between steps) and a lock. Every device
takes ``seed=`` for the same behaviour on every run, and the keywords of
:class:`~xiotlab.Thing` (``tags=`` without ``owner=``: an unowned device to
claim). ``simulated`` shows a device of your own in ten lines.
"""

from .door import DoorSensor
from .energy_meter import EnergyMeter
from .lamp import Lamp
from .mqtt_devices import MqttDevice, SmartPlug, SoilProbe, WeatherStation
from .simulated import Simulated
from .thermometer import Thermometer
from .thermostat import Mode, Thermostat

__all__ = ["DoorSensor", "EnergyMeter", "Lamp", "Mode", "Simulated", "Thermometer", "Thermostat"]
# Foreign devices that speak MQTT, not XMPP: what the MQTT bridge shows (xiotlab.bridges.MqttBridge).
__all__ += ["MqttDevice", "SmartPlug", "SoilProbe", "WeatherStation"]
