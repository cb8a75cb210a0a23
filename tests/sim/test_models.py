"""The simulations behind the devices, stepped in plain Python: no server, no threads, no clock."""

from __future__ import annotations

import doctest
import itertools
import math
import statistics

import pytest

from xiotlab.sim import door, energy_meter, lamp, thermometer, thermostat
from xiotlab.sim.door import Door
from xiotlab.sim.energy_meter import Household
from xiotlab.sim.lamp import Bulb
from xiotlab.sim.thermometer import DailyCycle
from xiotlab.sim.thermostat import ECO_SETBACK, HeatedRoom, Mode

HOUR = 3600.0


@pytest.mark.parametrize("module", [door, energy_meter, lamp, thermometer, thermostat], ids=lambda m: m.__name__)
def test_the_examples_in_the_docstrings_hold(module):
    failed, attempted = doctest.testmod(module)
    assert attempted > 0 and failed == 0


def temperatures(cycle: DailyCycle, seconds: float, samples: int) -> list[float]:
    values = []
    for _ in range(samples):
        cycle.step(seconds)
        values.append(cycle.temperature)
    return values


# --- thermometer ----------------------------------------------------------------


def test_the_daily_cycle_swings_around_the_mean_coldest_at_three_warmest_at_fifteen():
    cycle = DailyCycle(mean=20.0, swing=4.0, noise=0.0)
    minutes = temperatures(cycle, 60, 24 * 60)  # 00:01 to 24:00
    assert max(minutes) == pytest.approx(24.0) and min(minutes) == pytest.approx(16.0)
    assert minutes.index(max(minutes)) + 1 == 15 * 60
    assert minutes.index(min(minutes)) + 1 == 3 * 60


def test_the_cycle_repeats_with_its_period_and_not_sooner():
    period = 600.0
    cycle = DailyCycle(noise=0.0, period=period)
    first = temperatures(cycle, 10, 60)
    second = temperatures(cycle, 10, 60)
    assert second == pytest.approx(first)
    assert first[:30] != pytest.approx(first[30:])


def test_the_cycle_starts_at_the_hour_asked():
    cycle = DailyCycle(swing=3.0, noise=0.0, hour=15.0)
    assert cycle.temperature == pytest.approx(24.0)


def test_noise_scatters_readings_by_its_standard_deviation():
    cycle = DailyCycle(swing=0.0, noise=0.5, seed=7)
    spread = statistics.stdev(temperatures(cycle, 1, 5000))
    assert 0.45 < spread < 0.55


def test_humidity_falls_as_the_room_warms_and_stays_a_percentage():
    cycle = DailyCycle(noise=0.0, humidity=45.0)
    cycle.step(3 * HOUR)
    cold = cycle.humidity
    cycle.step(12 * HOUR)
    assert cold > 45.0 > cycle.humidity
    soaked = DailyCycle(humidity=99.0, noise=2.0, seed=3)
    for _ in range(500):
        soaked.step(600)
        assert 0.0 <= soaked.humidity <= 100.0


# --- lamp ---------------------------------------------------------------------


def test_a_bulb_draws_power_in_proportion_to_brightness_only_when_on():
    assert Bulb(on=True, brightness=100, watts=12.0).power == 12.0
    assert Bulb(on=True, brightness=25, watts=12.0).power == 3.0
    assert Bulb(on=False, brightness=100, watts=12.0).power == 0.0


# --- thermostat ---------------------------------------------------------------


def settle(room: HeatedRoom, hours: float, step: float = 10.0) -> list[tuple[float, bool]]:
    """Run the loop for ``hours``; the room's true temperature and the heater's state at each step."""
    trace = []
    for _ in range(int(hours * HOUR / step)):
        room.step(step)
        trace.append((room.temperature, room.heating))
    return trace


@pytest.mark.parametrize(("noise", "seed"), [(0.0, None), (0.05, 1), (0.05, 2), (0.05, 3)])
def test_the_thermostat_keeps_the_room_within_its_band_once_settled(noise, seed):
    room = HeatedRoom(temperature=12.0, setpoint=21.0, band=0.5, noise=noise, seed=seed)
    settle(room, 6)
    day = settle(room, 24)
    # One step of heating or cooling may pass the band's edge before the loop sees it: 0.05 K leeway.
    assert all(abs(t - 21.0) <= 0.25 + 0.05 + 5 * noise for t, _ in day)
    switches = sum(a != b for (_, a), (_, b) in itertools.pairwise(day))
    assert switches >= 20  # it holds the temperature by cycling the heater, not by luck


def test_hysteresis_keeps_the_heater_from_chattering_inside_the_band():
    room = HeatedRoom(temperature=21.0, setpoint=21.0, band=1.0, noise=0.0)
    room.heating = True
    room.step(1)
    assert room.heating  # inside the band: it goes on doing what it did
    room.heating = False
    room.step(1)
    assert not room.heating


def test_eco_aims_below_the_setpoint_and_off_lets_the_room_cool_to_the_outside():
    room = HeatedRoom(temperature=21.0, setpoint=21.0, mode=Mode.ECO, noise=0.0)
    settle(room, 12)
    assert abs(room.temperature - (21.0 - ECO_SETBACK)) < 0.3
    room.mode = Mode.OFF
    cooling = settle(room, 48)
    assert not any(heating for _, heating in cooling)
    assert all(a > b for (a, _), (b, _) in itertools.pairwise(cooling))
    assert cooling[-1][0] == pytest.approx(room.outside, abs=0.5)


def test_without_heating_the_difference_to_outside_falls_by_e_in_one_time_constant():
    room = HeatedRoom(temperature=25.0, outside=5.0, mode=Mode.OFF, loss=100.0, capacity=1.0e6)
    room.step(1.0e6 / 100.0)
    assert room.temperature - 5.0 == pytest.approx(20.0 / math.e)


def test_a_huge_step_cannot_overshoot_the_heaters_balance():
    room = HeatedRoom(temperature=10.0, outside=0.0, setpoint=30.0, heater=2000.0, loss=100.0, noise=0.0)
    room.step(1.0e9)
    assert room.heating and 0.0 < room.temperature <= 20.0  # balance: 0 °C + 2000 W / (100 W/K)


# --- door ---------------------------------------------------------------------


def test_doors_open_at_the_mean_rate_and_each_opening_is_counted_once():
    door = Door(openings_per_hour=6.0, open_seconds=20.0, seed=5)
    states, changes = [], 0
    for _ in range(int(200 * HOUR / 5)):
        changes += door.step(5)
        states.append(door.is_open)
    opened = sum(not a and b for a, b in itertools.pairwise([False, *states]))
    assert door.openings == opened and changes in (2 * opened - 1, 2 * opened)
    expected = 200 * HOUR / (HOUR / 6.0 + 20.0)  # one cycle: shut ten minutes, open twenty seconds
    assert abs(door.openings - expected) < 0.15 * expected


def test_a_door_opened_by_hand_changes_once():
    door = Door(openings_per_hour=0.0)
    assert [door.open(), door.open(), door.close(), door.close()] == [True, False, True, False]
    assert door.openings == 1
    assert not any(door.step(HOUR) for _ in range(100))  # no random openings at rate 0


# --- energy meter -------------------------------------------------------------


def test_energy_is_the_sum_of_power_times_time_and_never_decreases():
    home = Household(seed=4)
    expected, energies = 0.0, []
    for step in itertools.islice(itertools.cycle([1.0, 60.0, 900.0]), 3000):
        expected += home.power * step / 3.6e6
        home.step(step)
        energies.append(home.energy)
    assert home.energy == pytest.approx(expected)
    assert all(a <= b for a, b in itertools.pairwise(energies))


def test_the_peak_is_the_highest_power_since_the_last_reset():
    home = Household(seed=2)
    powers = [home.power]
    for _ in range(500):
        home.step(60)
        powers.append(home.power)
    assert home.peak == max(powers) > home.power
    home.reset_peak()
    powers = [home.power]
    for _ in range(50):
        home.step(60)
        powers.append(home.power)
        assert home.peak == max(powers)


def test_the_load_peaks_in_the_evening_and_at_breakfast():
    home = Household(base=150.0, noise=0.0)
    night, breakfast, afternoon, evening = (home.typical(h) for h in (3, 7.5, 13, 19))
    assert night == pytest.approx(150.0, abs=5) and afternoon < breakfast < evening
    assert home.typical(23.5) == pytest.approx(home.typical(-0.5))  # the day wraps round midnight


# --- all of them ------------------------------------------------------------------


def run(model, steps: int = 200):
    """What a model shows over ``steps`` steps of a minute."""
    values = []
    for _ in range(steps):
        model.step(60)
        values.append(tuple(vars(model)[k] for k in sorted(vars(model)) if not k.startswith("_")))
    return values


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: DailyCycle(seed=seed),
        lambda seed: HeatedRoom(seed=seed),
        lambda seed: Door(openings_per_hour=60.0, seed=seed),
        lambda seed: Household(seed=seed),
    ],
    ids=["thermometer", "thermostat", "door", "energy_meter"],
)
def test_the_same_seed_gives_the_same_run_and_another_seed_another(make):
    assert run(make(11)) == run(make(11))
    assert run(make(11)) != run(make(12))
