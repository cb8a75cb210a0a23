"""Controlling a thing: forms, typed sets, refusals naming the parameter, who may control."""

from __future__ import annotations

import enum
import threading

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import Forbidden, ParameterError
from xiotlab.protocol import control
from xiotlab.protocol.namespaces import CONTROL_ALIASES, LEGACY_CONTROL
from xiotlab.protocol.parameters import ParameterType

from ..waiting import in_background


class Tone(enum.Enum):
    WARM = 1
    COLD = 2


@pytest.fixture
def lamp(lab, online, name):
    """A lamp with four controls that records what its handlers received."""
    alice = online(Owner, name("alice"))
    thing = Thing(name("lamp"), owner=alice.jid, lab=lab, timeout=5)
    received = []
    thing.control("on", type=bool, value=False)(lambda v: received.append(("on", v)))
    thing.control("brightness", type=float, min=0, max=100, step=0.5, value=50.0)(
        lambda v: received.append(("brightness", v))
    )
    thing.control("tone", type=Tone)(lambda v: received.append(("tone", v)))

    @thing.control("label", type=str)
    def label(value):
        if value == "forbidden word":
            raise ValueError("the lamp refuses that label")
        received.append(("label", value))

    online(thing)
    alice.befriend(thing.jid)
    return alice, thing, received


def test_the_form_describes_types_ranges_options_and_values(lamp):
    alice, thing, _ = lamp
    form = alice.control_form(thing.jid)
    assert [p.name for p in form.parameters] == ["on", "brightness", "tone", "label"]
    brightness = form.get("brightness")
    assert (brightness.type, brightness.min, brightness.max, brightness.step, brightness.value) == (
        ParameterType.DOUBLE,
        0.0,
        100.0,
        0.5,
        50.0,
    )
    tone = form.get("tone")
    assert tone.type is ParameterType.ENUM and [o.value for o in tone.options] == ["WARM", "COLD"]
    assert "brightness: double 0.0..100.0 step 0.5 = 50.0" in repr(form)


def test_set_reaches_the_handlers_typed_and_in_order(lamp):
    alice, thing, received = lamp
    alice.set(thing.jid, on=True, brightness=40, tone=Tone.COLD)
    assert received == [("on", True), ("brightness", 40.0), ("tone", Tone.COLD)]
    assert thing.controls["brightness"] == 40.0
    assert alice.control_form(thing.jid).get("on").value is True


def test_a_mapping_reaches_parameters_named_like_the_arguments_of_set(lab, online, name):
    alice = online(Owner, name("alice"))
    thing = Thing(name("oven"), owner=alice.jid, lab=lab, timeout=5)
    for parameter in ("timeout", "jid", "values"):
        thing.control(parameter, type=int, value=0)
    online(thing)
    alice.befriend(thing.jid)
    alice.set(thing.jid, {"timeout": 30, "jid": 2}, values=3, timeout=5)
    assert thing.controls == {"timeout": 30, "jid": 2, "values": 3}


def test_set_says_what_is_wrong_with_its_arguments(lamp):
    alice, thing, _ = lamp
    with pytest.raises(TypeError, match="timeout is a keyword"):
        alice.set(thing.jid, 5)
    with pytest.raises(ValueError, match="on: given both"):
        alice.set(thing.jid, {"on": True}, on=False)


def test_a_refusal_carries_its_hint_apart_from_its_text(lamp):
    alice, thing, _ = lamp
    with pytest.raises(ParameterError) as refused:
        alice.set(thing.jid, dimmer=3)
    assert refused.value.text.endswith("has no such control parameter")
    assert refused.value.hint == "it has: on, brightness, tone, label"


@pytest.mark.parametrize(
    ("values", "parameter", "why"),
    [
        ({"brightness": 400}, "brightness", "above the maximum"),
        ({"brightness": 10.25}, "brightness", "step"),
        ({"tone": "PURPLE"}, "tone", "not one of the options"),
        ({"on": "maybe"}, "on", "wrong type|syntax"),
        ({"dimmer": 3}, "dimmer", "no such control parameter"),
        ({"label": "forbidden word"}, "label", "refuses that label"),
    ],
)
def test_refusals_name_the_parameter_and_nothing_is_applied(lamp, values, parameter, why):
    alice, thing, received = lamp
    with pytest.raises(ParameterError, match=why) as refused:
        alice.set(thing.jid, **values)
    assert refused.value.parameter == parameter
    assert received == []


def test_the_things_own_check_answers_in_the_namespace_asked(lamp):
    alice, thing, _ = lamp
    ns = CONTROL_ALIASES[0]
    with pytest.raises(ParameterError) as refused:
        alice.send_iq(thing.full_jid, f"<set xmlns='{ns}'><db n='brightness' v='101'/></set>", "set")
    assert refused.value.parameter == "brightness" and refused.value.condition == "bad-request"
    answer = alice.send_iq(thing.full_jid, f"<set xmlns='{ns}'><db n='brightness' v='20'/></set>", "set")
    assert answer.tag == f"{{{ns}}}resp" and thing.controls["brightness"] == 20.0


def test_a_slow_handler_holds_up_nothing(lab, online, name):
    alice = online(Owner, name("alice"))
    thing = Thing(name("valve"), owner=alice.jid, lab=lab, timeout=10)
    entered, release = threading.Event(), threading.Event()

    @thing.control("open", type=bool)
    def open_valve(value):
        entered.set()
        release.wait(10)

    thing.sensor("flow")(lambda: 1.25)
    online(thing)
    alice.befriend(thing.jid)
    pending = in_background(alice.set, thing.jid, open=True)
    assert entered.wait(5)
    try:
        assert alice.read(thing.jid)["flow"].value == 1.25  # served while the handler still works
    finally:
        release.set()
    pending.result()
    assert thing.controls["open"] is True


def test_only_the_owner_controls_unless_it_allowed_a_friend(lamp, online, name):
    alice, thing, received = lamp
    bob = online(Owner, name("bob"))
    pending = in_background(bob.befriend, thing.jid, timeout=10)
    alice.next_request(timeout=5).approve()
    pending.result()
    assert bob.control_form(thing.jid).get("on") is not None  # friends may look
    with pytest.raises(Forbidden, match="owner"):
        bob.set(thing.jid, on=True)
    thing.allow_control(bob.jid)
    bob.set(thing.jid, on=True)
    assert received == [("on", True)]


@pytest.mark.parametrize(
    ("kind", "xml"),
    [
        ("set", f"<set xmlns='{control.NAMESPACES[0]}'><b n='on' v='true'/></set>"),
        ("get", f"<getForm xmlns='{control.NAMESPACES[0]}'/>"),
        ("get", f"<getForm xmlns='{LEGACY_CONTROL}'/>"),
    ],
)
def test_strangers_can_neither_control_nor_see_the_form(lamp, online, name, kind, xml):
    _, thing, received = lamp
    mallory = online(Owner, name("mallory"))
    with pytest.raises(Forbidden) as refused:
        mallory.send_iq(thing.full_jid, xml, kind)
    assert "brightness" not in str(refused.value)
    assert received == []


def test_legacy_set_from_a_stranger_is_refused_in_both_shapes(lamp, online, name):
    _, thing, received = lamp
    mallory = online(Owner, name("mallory"))
    with pytest.raises(Forbidden):
        mallory.send_iq(thing.full_jid, f"<set xmlns='{LEGACY_CONTROL}'><boolean name='on' value='true'/></set>", "set")
    assert received == []


def test_legacy_set_from_the_owner(lamp):
    alice, thing, received = lamp
    answer = alice.send_iq(
        thing.full_jid, f"<set xmlns='{LEGACY_CONTROL}'><double name='brightness' value='12.5'/></set>", "set"
    )
    assert answer.tag == f"{{{LEGACY_CONTROL}}}setResponse"
    assert received == [("brightness", 12.5)]


def test_bad_declarations_say_what_to_do(lab, name):
    thing = Thing(name("bad"), lab=lab)
    with pytest.raises(ValueError, match="unknown type"):
        thing.control("x", type=complex)
    with pytest.raises(ValueError, match="min"):
        thing.control("y", type=int, min=10, max=1)


def test_a_control_cannot_start_outside_its_own_limits(lab, name):
    thing = Thing(name("dimmer"), lab=lab)
    with pytest.raises(ValueError, match=r"value=150.*100"):
        thing.control("brightness", type=int, min=0, max=100, value=150)
    thing.control("level", type=int, min=0, max=10, value=3, read_only=True)  # read-only still starts somewhere
    assert thing.controls["level"] == 3


def test_a_parameter_declared_after_the_owner_cached_the_form_can_be_set(online, name):
    alice = online(Owner, name("alice"))
    thing = online(Thing, name("fan"), owner=alice.jid)
    thing.control("speed", type=int, min=0, max=3, value=0)(lambda v: None)
    alice.befriend(thing.jid)
    alice.set(thing.jid, speed=2)  # caches the form
    thing.forget()
    thing.control("oscillate", type=bool, value=False)(lambda v: None)
    alice.set(thing.jid, oscillate=True)
    assert thing.controls == {"oscillate": True}
