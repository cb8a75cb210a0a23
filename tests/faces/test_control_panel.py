"""The control panel against a real lab: widgets from the form, sets from any thread, refusals shown."""

from __future__ import annotations

import datetime as dt
import enum
import threading

import ipywidgets
import pytest

from xiotlab import Owner, Thing
from xiotlab.faces.widgets.control_panel import FAILED, SET, ControlPanel

from ..waiting import eventually, in_background


class Tone(enum.Enum):
    WARM = 1
    COLD = 2


@pytest.fixture
def lamp(lab, online, name):
    """A lamp with one control of every kind; ``calls`` records every value its handlers got."""
    alice = online(Owner, name("alice"))
    thing = Thing(name("lamp"), owner=alice.jid, lab=lab, timeout=5)
    calls = []

    def record(parameter):
        return lambda value: calls.append((parameter, value))

    thing.control("on", type=bool, value=False, label="Power", description="Switches the lamp")(record("on"))
    thing.control("brightness", type=float, min=0, max=100, step=0.5, value=50.0)(record("brightness"))
    thing.control("tone", type=Tone, value=Tone.WARM)(record("tone"))
    thing.control("label", type=str, value="desk")(record("label"))
    thing.control("serial", type=str, value="A-17", read_only=True)
    thing.control("count", type=int, value=3)(record("count"))
    thing.control("gain", type=float)(record("gain"))
    thing.control("since", type=dt.date)(record("since"))
    thing.control("alarm", type=dt.time)(record("alarm"))

    @thing.control("level", type=int, min=0, max=20, value=5)
    def level(value):
        calls.append(("level", value))
        if value == 13:
            raise ValueError("13 is an unlucky level")

    online(thing)
    alice.befriend(thing.jid)
    return alice, thing, calls


@pytest.fixture
def panels():
    """``panels(owner, jid)`` makes a ControlPanel, closed when the test ends."""
    made = []

    def make(*args, **kwargs):
        made.append(ControlPanel(*args, **kwargs))
        return made[-1]

    yield make
    for panel in made:
        assert not panel.errors.outputs, "unexpected tracebacks in the panel"
        panel.close()


def from_another_thread(widget, value):
    """Set an input's value the way a kernel's comm handler on a subshell thread does."""
    thread = threading.Thread(target=setattr, args=(widget, "value", value))
    thread.start()
    thread.join()


def test_each_parameter_gets_the_input_its_type_calls_for(lamp, panels):
    alice, thing, _ = lamp
    rows = panels(alice, thing.jid).rows
    kinds = {name: type(row.input) for name, row in rows.items()}
    assert kinds == {
        "on": ipywidgets.Checkbox,
        "brightness": ipywidgets.FloatSlider,
        "tone": ipywidgets.Dropdown,
        "label": ipywidgets.Text,
        "serial": ipywidgets.Text,
        "count": ipywidgets.IntText,
        "gain": ipywidgets.FloatText,
        "since": ipywidgets.DatePicker,
        "alarm": ipywidgets.Text,
        "level": ipywidgets.IntSlider,
    }
    brightness, level = rows["brightness"].input, rows["level"].input
    assert (brightness.min, brightness.max, brightness.step, brightness.value) == (0.0, 100.0, 0.5, 50.0)
    assert (level.min, level.max, level.step, level.value) == (0, 20, 1, 5)
    assert not brightness.continuous_update and not level.continuous_update
    assert not rows["label"].input.continuous_update
    assert rows["tone"].input.options == (("WARM", "WARM"), ("COLD", "COLD")) and rows["tone"].input.value == "WARM"
    assert rows["serial"].input.disabled and rows["serial"].input.value == "A-17"
    assert not rows["label"].input.disabled
    assert "hh:mm:ss" in rows["alarm"].input.placeholder
    assert rows["on"].label.value == "Power" and rows["on"].label.tooltip == "Switches the lamp"
    assert rows["count"].label.value == "count"


def test_values_show_what_the_thing_reported(lamp, panels):
    alice, thing, _ = lamp
    panel = panels(alice, thing.jid)
    assert panel.values == thing.controls | {"tone": "WARM"}
    assert "brightness=50.0" in repr(panel) and thing.jid in repr(panel)


def test_a_slider_moved_on_another_thread_reaches_the_thing(lamp, panels):
    alice, thing, calls = lamp
    panel = panels(alice, thing.jid)
    from_another_thread(panel.rows["brightness"].input, 72.5)
    assert eventually(lambda: thing.controls["brightness"] == 72.5)
    assert ("brightness", 72.5) in calls
    assert eventually(lambda: panel.rows["brightness"].status.value == SET)
    assert panel.values["brightness"] == 72.5


def test_slider_noise_is_put_back_on_the_step_grid(lamp, panels):
    alice, thing, calls = lamp
    row = panels(alice, thing.jid).rows["brightness"]
    from_another_thread(row.input, 30.500000000000004)  # binary noise a browser slider can give: off the grid
    assert eventually(lambda: calls == [("brightness", 30.5)])


def test_every_kind_of_input_sends_a_typed_value(lamp, panels):
    alice, thing, calls = lamp
    rows = panels(alice, thing.jid).rows
    changes = {
        "on": True,
        "tone": "COLD",
        "label": "hall",
        "count": 8,
        "gain": 1.5,
        "since": dt.date(2026, 1, 2),
        "alarm": "07:30:00",
        "level": 9,
    }
    for name, value in changes.items():
        from_another_thread(rows[name].input, value)
    assert eventually(lambda: len(calls) == len(changes))
    assert sorted(calls, key=lambda call: call[0]) == sorted(
        (changes | {"tone": Tone.COLD, "alarm": dt.time(7, 30)}).items()
    )


def test_a_refused_value_shows_why_and_the_input_goes_back_without_sending_again(lamp, panels, monkeypatch):
    alice, thing, calls = lamp
    sends = []
    real_aset = alice.aset
    monkeypatch.setattr(alice, "aset", lambda jid, values: sends.append(values) or real_aset(jid, values))
    panel = panels(alice, thing.jid)
    row = panel.rows["level"]
    from_another_thread(row.input, 13)
    # The status is drawn after the input, whose observers have run by then.
    assert eventually(lambda: row.status.value == FAILED)
    assert row.input.value == 5  # back to the last value the thing accepted
    assert "13 is an unlucky level" in row.error.value
    assert sends == [{"level": 13}]  # the way back was not sent
    assert calls == [("level", 13)] and thing.controls["level"] == 5
    assert panel.values["level"] == 5 and panel.message == ""
    from_another_thread(row.input, 7)  # the next value goes through and clears the error
    assert eventually(lambda: row.status.value == SET and row.error.value == "")
    assert sends == [{"level": 13}, {"level": 7}] and thing.controls["level"] == 7


def test_the_things_own_validation_shows_next_to_the_parameter(lamp, panels):
    alice, thing, calls = lamp
    row = panels(alice, thing.jid).rows["count"]
    from_another_thread(row.input, 2**40)  # past an int's 32 bits
    assert eventually(lambda: row.error.value != "")
    assert eventually(lambda: row.input.value == 3)
    assert calls == []


def test_a_parameter_named_like_an_argument_of_owner_set_reaches_the_thing(lab, online, name, panels):
    alice = online(Owner, name("alice"))
    thing = Thing(name("door"), owner=alice.jid, lab=lab, timeout=5)
    calls = []
    thing.control("timeout", type=int, value=30)(calls.append)
    online(thing)
    alice.befriend(thing.jid)
    row = panels(alice, thing.jid).rows["timeout"]
    from_another_thread(row.input, 60)
    assert eventually(lambda: row.status.value == SET)
    assert calls == [60] and thing.controls["timeout"] == 60


def test_text_that_is_not_a_time_is_refused_before_sending(lamp, panels):
    alice, thing, calls = lamp
    row = panels(alice, thing.jid).rows["alarm"]
    from_another_thread(row.input, "half past seven")
    assert eventually(lambda: row.status.value == FAILED)
    assert "time of day" in row.error.value
    assert eventually(lambda: row.input.value == "")
    assert calls == []


def test_refresh_picks_up_values_set_elsewhere_and_sends_nothing_back(lamp, panels, monkeypatch):
    alice, thing, _ = lamp
    panel = panels(alice, thing.jid)
    alice.set(thing.jid, brightness=20.0, on=True)
    sends = []
    real_aset = alice.aset
    monkeypatch.setattr(alice, "aset", lambda jid, values: sends.append(values) or real_aset(jid, values))
    assert panel.refresh().result(timeout=10) is not None
    assert panel.values["brightness"] == 20.0 and panel.values["on"] is True
    assert eventually(lambda: panel.rows["brightness"].input.value == 20.0)
    assert eventually(lambda: panel.rows["on"].input.value is True)
    panel.values  # noqa: B018  (waits for the draw under way: it holds the panel's lock)
    assert sends == []


def test_refresh_rebuilds_when_the_parameters_changed(lamp, panels):
    alice, thing, calls = lamp
    panel = panels(alice, thing.jid)
    thing.control("fan", type=bool, value=True)(lambda value: calls.append(("fan", value)))
    panel.refresh().result(timeout=10)
    assert eventually(lambda: "fan" in panel.rows)
    fan = panel.rows["fan"].input
    assert isinstance(fan, ipywidgets.Checkbox) and fan.value is True
    assert panel.children[1].children[-1] is panel.rows["fan"].box
    from_another_thread(fan, False)
    assert eventually(lambda: ("fan", False) in calls)


def test_a_friend_not_allowed_to_control_sees_forbidden_in_the_message_line(lamp, panels, online, name):
    alice, thing, calls = lamp
    bob = online(Owner, name("bob"))
    pending = in_background(bob.befriend, thing.jid, timeout=10)
    alice.next_request(timeout=5).approve()
    pending.result()
    panel = panels(bob, thing.jid)
    row = panel.rows["on"]
    from_another_thread(row.input, True)
    assert eventually(lambda: "owner" in panel._message_line.value)
    assert panel.message == panel._message_line.value
    assert eventually(lambda: row.input.value is False) and row.status.value == FAILED
    assert row.error.value == "" and calls == []


def test_a_given_form_is_used_as_is_and_close_stops_the_panel(lamp, panels):
    alice, thing, calls = lamp
    form = alice.control_form(thing.jid)
    panel = panels(alice, thing.jid, form=form)
    assert panel.form is form
    row = panel.rows["on"]
    panel.close()
    row.input.value = True  # a closed panel sends nothing
    assert "closed" in repr(panel) and calls == []


def test_a_value_typed_off_the_step_shows_what_the_thing_then_holds(lamp, panels):
    alice, thing, _ = lamp
    row = panels(alice, thing.jid).rows["brightness"]  # 0 to 100, step 0.5
    assert isinstance(row.typed, ipywidgets.FloatText)
    from_another_thread(row.typed, 22.2)
    assert eventually(lambda: row.status.value == SET)
    assert thing.controls["brightness"] == 22.0
    assert eventually(lambda: row.typed.value == 22.0 and row.input.value == 22.0)  # not 22.2 with ✓


@pytest.mark.parametrize("typed", [150.0, -5.0])
def test_a_value_typed_out_of_range_is_sent_and_the_refusal_shows(lamp, panels, typed):
    alice, thing, calls = lamp
    row = panels(alice, thing.jid).rows["brightness"]
    from_another_thread(row.typed, typed)  # not clamped to 100 or 0 on the way
    assert eventually(lambda: row.status.value == FAILED and row.error.value != "")
    assert thing.controls["brightness"] == 50.0 and ("brightness", typed) not in calls
    assert eventually(lambda: row.typed.value == 50.0 and row.input.value == 50.0)
