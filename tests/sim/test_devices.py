"""The simulated devices on a real lab server, as an owner sees them: readouts, events, controls."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from xiotlab.errors import ParameterError
from xiotlab.protocol.parameters import ParameterType
from xiotlab.protocol.values import Category
from xiotlab.sim import DoorSensor, EnergyMeter, Lamp, Mode, Simulated, Thermometer, Thermostat, simulated

from ..waiting import eventually

FAST = {"interval": 0.02}  # a tick every 20 ms: the tests see many ticks without waiting long
WAIT = 5  # seconds a test waits at most for a value, however loaded the machine

DEVICES = {  # default name, fields with their units, controls
    Thermometer: ("thermometer", {"temperature": "°C", "humidity": "%"}, []),
    Lamp: ("lamp", {"on": None, "brightness": "%", "power": "W"}, ["on", "brightness"]),
    Thermostat: (
        "thermostat",
        {"temperature": "°C", "setpoint": "°C", "heating": None, "mode": None},
        ["setpoint", "mode"],
    ),
    DoorSensor: ("door", {"open": None, "openings": None}, []),
    EnergyMeter: ("energy-meter", {"energy": "kWh", "power": "W", "peak_power": "W"}, ["reset_peak"]),
}
each_device = pytest.mark.parametrize("kind", list(DEVICES), ids=lambda kind: kind.__name__)


def values(stream, count: int) -> list:
    """The next ``count`` values of ``stream``; fails if they do not come."""
    fields = [stream.get(timeout=WAIT) for _ in range(count)]
    assert None not in fields, f"only {fields.index(None)} of {count} values arrived"
    return [f.value for f in fields]


# --- all of them ------------------------------------------------------------------


@each_device
def test_every_device_answers_a_readout_with_all_its_fields_and_units(befriended, kind):
    _, fields, controls = DEVICES[kind]
    owner, device = befriended(kind, **({} if kind is Lamp else FAST))
    readout = owner.read(device.jid)
    assert {name: readout[name].unit for name in readout.names} == fields
    assert [p.name for p in owner.control_form(device.jid).parameters] == controls


@each_device
def test_every_device_has_a_default_name_and_passes_the_things_keywords_on(lab, kind):
    default, _, _ = DEVICES[kind]
    device = kind(lab=lab, status="simulated", timeout=3)
    assert device.jid == f"{default}@{lab.domain}"
    assert (device.status, device.timeout) == ("simulated", 3)


def _docstring_example() -> type[Simulated]:
    """The ten-line device of xiotlab.sim.simulated's docstring, run as written there."""
    example = simulated.__doc__.split("::\n", 1)[1]
    namespace = {"Simulated": Simulated}
    exec(textwrap.dedent(example), namespace)
    return namespace["Clock"]


Clock = _docstring_example()


def test_a_simulated_device_steps_interval_times_speed_at_each_tick_and_heeds_a_new_speed(befriended):
    owner, clock = befriended(Clock, speed=60, **FAST)
    with owner.subscribe(clock.jid, "seconds") as stream:
        ticks = [b - a for a, b in itertools.pairwise(values(stream, 3))]
        assert ticks == pytest.approx([0.02 * 60] * 2)
    clock.speed = 0  # read at every tick: the clock stops while its timer goes on
    timer = clock.timers[0]
    calls = timer.calls
    assert eventually(lambda: timer.calls >= calls + 2)  # a tick that read the old speed is over by now
    stopped = clock.seconds
    assert eventually(lambda: timer.calls >= calls + 5) and clock.seconds == stopped


def test_a_simulated_device_without_a_step_says_what_is_missing(lab):
    with pytest.raises(NotImplementedError, match="Simulated must say how time passes"):
        Simulated("nothing", lab=lab).step(1.0)


# --- lamp ---------------------------------------------------------------------


def test_the_lamps_power_follows_what_its_owner_sets(befriended):
    owner, lamp = befriended(Lamp, watts=9.0)
    with owner.subscribe(lamp.jid, "power") as power:
        owner.set(lamp.jid, on=True, brightness=40)
        assert values(power, 2) == [9.0, 3.6]  # switched on at full brightness, then dimmed
        owner.set(lamp.jid, on=False)
        assert values(power, 1) == [0.0]
    readout = owner.read(lamp.jid)
    assert (readout["on"].value, readout["brightness"].value, readout["power"].value) == (False, 40.0, 0.0)
    assert owner.control_form(lamp.jid).get("brightness").value == 40


# --- thermometer ----------------------------------------------------------------


def test_the_thermometer_reports_a_changing_temperature_within_its_range(befriended):
    owner, thermometer = befriended(Thermometer, mean=20.0, swing=3.0, noise=0.2, speed=3600, seed=1, **FAST)
    with owner.subscribe(thermometer.jid, "temperature") as stream:
        temperatures = values(stream, 10)
    assert all(16.0 <= t <= 24.0 for t in temperatures)  # the swing, and five standard deviations of noise
    assert len(set(temperatures)) > 1


# --- thermostat ---------------------------------------------------------------


def test_the_setpoint_is_range_checked_and_nothing_out_of_range_reaches_the_room(befriended):
    owner, thermostat = befriended(Thermostat, setpoint=21.0, **FAST)
    setpoint = owner.control_form(thermostat.jid).get("setpoint")
    assert (setpoint.type, setpoint.min, setpoint.max, setpoint.step) == (ParameterType.DOUBLE, 5.0, 30.0, 0.5)
    for wrong in (99, 4.5, 21.25):
        with pytest.raises(ParameterError) as refused:
            owner.set(thermostat.jid, setpoint=wrong)
        assert refused.value.parameter == "setpoint"
    assert thermostat.room.setpoint == 21.0
    owner.set(thermostat.jid, setpoint=22.5)
    assert owner.read(thermostat.jid)["setpoint"].value == 22.5


def test_the_heater_goes_on_in_a_cold_room_and_off_with_the_mode(befriended):
    owner, thermostat = befriended(Thermostat, temperature=12.0, setpoint=21.0, **FAST)
    with owner.subscribe(thermostat.jid, ["heating", "mode"]) as stream:
        assert stream.get(timeout=WAIT).value is True  # the first turn of the loop finds the room cold
        owner.set(thermostat.jid, mode=Mode.OFF)
        assert values(stream, 2) == ["OFF", False]  # the control's report, then the loop's
    assert owner.read(thermostat.jid)["mode"].value == "OFF"


# --- door ---------------------------------------------------------------------


def test_opening_the_door_by_hand_reaches_a_subscriber_as_events(befriended):
    owner, sensor = befriended(DoorSensor, openings_per_hour=0, **FAST)
    with owner.subscribe(sensor.jid, ["open", "openings"]) as stream:
        assert sensor.open_now() and not sensor.open_now()
        assert values(stream, 2) == [True, 1]
        assert sensor.close_now()
        assert values(stream, 1) == [False]  # openings did not change, so it fires nothing
    assert [f.value for f in sensor.history("open")] == [True, False]  # reported on change only


def test_random_openings_are_reported_once_each(befriended):
    owner, sensor = befriended(DoorSensor, openings_per_hour=3600, open_seconds=1, speed=10, seed=3, **FAST)
    with owner.subscribe(sensor.jid, "openings") as stream:
        openings = values(stream, 4)
    assert all(b == a + 1 for a, b in itertools.pairwise(openings))
    states = [f.value for f in sensor.history("open")]
    assert all(a != b for a, b in itertools.pairwise(states))  # no report without a change


# --- energy meter -------------------------------------------------------------


def test_the_energy_reported_never_decreases(befriended):
    owner, meter = befriended(EnergyMeter, speed=600, seed=2, **FAST)
    with owner.subscribe(meter.jid, "energy") as stream:
        energies = values(stream, 10)  # kWh with three decimals: a tick may add too little to show
    assert all(a <= b for a, b in itertools.pairwise(energies)) and energies[-1] > energies[0]


def test_the_owner_resets_the_peak_to_the_present_power(befriended):
    owner, meter = befriended(EnergyMeter, seed=3, interval=3600)  # one tick at start, the next in an hour
    assert eventually(lambda: meter.history("energy"))  # that first tick is over: the test steps the meter alone
    for _ in range(24):
        meter.step(3600)
    before = owner.read(meter.jid)
    assert before["peak_power"].value > before["power"].value
    assert before["peak_power"].categories == Category.PEAK
    owner.set(meter.jid, reset_peak=True)
    after = owner.read(meter.jid)
    assert after["peak_power"].value == after["power"].value == before["power"].value
