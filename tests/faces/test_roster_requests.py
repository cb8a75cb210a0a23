"""The roster widget's request area: every kind of request, approved in part with checkboxes, for a range."""

from __future__ import annotations

import asyncio

import ipywidgets
import pytest

from xiotlab import Owner
from xiotlab.errors import Forbidden, Rejected
from xiotlab.faces.widgets.roster import Roster
from xiotlab.roles.friendship import ControlRequest, FriendRequest, ReadRequest
from xiotlab.sim import Thermometer

from ..waiting import eventually
from .test_roster_widget import click_on_another_thread

SERVICE = "provisioning.example"


def rows(view: Roster) -> list[ipywidgets.HBox]:
    """The request rows shown (without the "No requests waiting" note)."""
    return [row for row in view.requests.children if isinstance(row, ipywidgets.HBox)]


def shown(view: Roster, requester: str) -> ipywidgets.HBox | None:
    return next((row for row in rows(view) if requester in row.children[0].value), None)


def the_row(view: Roster, requester: str) -> ipywidgets.HBox:
    """The row of ``requester``'s request, once it shows."""
    assert eventually(lambda: shown(view, requester)), f"no request row from {requester}"
    row = shown(view, requester)
    assert row is not None
    return row


def parts_of(row: ipywidgets.HBox, kind=ipywidgets.Checkbox) -> list:
    return [part for part in row.children if isinstance(part, kind)]


def button(row: ipywidgets.HBox, description: str) -> ipywidgets.Button:
    return next(p for p in row.children if isinstance(p, ipywidgets.Button) and p.description == description)


@pytest.fixture
def decisions(online, name, monkeypatch):
    """Alice, and what her widget decides: ``(approve, request, range, parts)`` tuples, not sent."""
    alice = online(Owner, name("alice"))
    decided: list[tuple] = []

    async def approve(request, range="Caller", parts=None, timeout=None):
        decided.append(("approve", request, range, parts))
        alice.requests.remove(request)

    async def reject(request, range="Caller", timeout=None):
        decided.append(("reject", request, range, None))
        alice.requests.remove(request)

    monkeypatch.setattr(alice, "aapprove", approve)
    monkeypatch.setattr(alice, "areject", reject)
    return alice, decided


def asked(alice, kind, **fields):
    request = kind(thing="lamp@example", requester="bob@example", _owner=alice, service=SERVICE, **fields)
    alice.requests.add(request)
    return request


def test_each_kind_says_what_it_asks_with_a_checkbox_per_part_asked(decisions, widgets):
    alice, _ = decisions
    view = widgets(Roster(alice))
    asked(alice, FriendRequest)
    asked(alice, ReadRequest, fields=("temperature", "humidity"))
    asked(alice, ControlRequest, parameters=("on",))
    asked(alice, ReadRequest)  # all fields
    assert eventually(lambda: len(rows(view)) == 4)
    friend, read, control, read_all = rows(view)
    assert "wants to befriend lamp@example" in friend.children[0].value and not parts_of(friend)
    assert "wants to read temperature, humidity of lamp@example" in read.children[0].value
    assert [(b.description, b.value) for b in parts_of(read)] == [("temperature", True), ("humidity", True)]
    assert "wants to control on of lamp@example" in control.children[0].value
    assert [b.description for b in parts_of(control)] == ["on"]
    assert "wants to read all fields of lamp@example" in read_all.children[0].value
    assert not parts_of(read_all) and len(parts_of(read_all, ipywidgets.Text)) == 1
    for row in rows(view):
        assert parts_of(row, ipywidgets.Dropdown)[0].options == ("Caller", "Domain", "All")
    assert "bob@example → wants to read temperature, humidity of lamp@example" in repr(view)


def test_an_unticked_field_is_left_out_of_the_approval_and_the_range_is_the_chosen_one(decisions, widgets):
    alice, decided = decisions
    view = widgets(Roster(alice))
    request = asked(alice, ReadRequest, fields=("temperature", "humidity", "pressure"))
    row = the_row(view, "bob@example")
    parts_of(row)[1].value = False  # humidity
    parts_of(row, ipywidgets.Dropdown)[0].value = "Domain"
    click_on_another_thread(button(row, "Approve"))
    assert eventually(lambda: decided)
    assert decided == [("approve", request, "Domain", ("temperature", "pressure"))]
    assert all(part.disabled for part in row.children[1:])  # answered: nothing more to click
    assert eventually(lambda: not rows(view))


def test_nothing_ticked_cannot_be_approved_only_rejected(decisions, widgets):
    alice, decided = decisions
    view = widgets(Roster(alice))
    request = asked(alice, ControlRequest, parameters=("on", "brightness"))
    row = the_row(view, "bob@example")
    approve = button(row, "Approve")
    for box in parts_of(row):
        box.value = False
    assert approve.disabled
    parts_of(row)[0].value = True
    assert not approve.disabled
    parts_of(row)[0].value = False
    click_on_another_thread(button(row, "Reject"))
    assert eventually(lambda: decided) and decided == [("reject", request, "Caller", None)]


@pytest.mark.parametrize(("typed", "parts"), [("", None), (" temperature, ,humidity ", ("temperature", "humidity"))])
def test_a_request_for_all_fields_is_narrowed_by_naming_some(decisions, widgets, typed, parts):
    alice, decided = decisions
    view = widgets(Roster(alice))
    asked(alice, ReadRequest)
    row = the_row(view, "bob@example")
    parts_of(row, ipywidgets.Text)[0].value = typed
    click_on_another_thread(button(row, "Approve"))
    assert eventually(lambda: decided) and decided[0][3] == parts


def test_a_request_to_befriend_the_owner_has_no_range(decisions, widgets):
    alice, decided = decisions
    view = widgets(Roster(alice))
    alice.requests.add(FriendRequest(thing=alice.jid, requester="bob@example", _owner=alice))
    row = the_row(view, "bob@example")
    assert "wants to befriend you" in row.children[0].value
    assert not parts_of(row, ipywidgets.Dropdown) and not parts_of(row)
    click_on_another_thread(button(row, "Approve"))
    assert eventually(lambda: decided) and decided[0][2:] == ("Caller", None)


def test_a_failed_answer_gives_back_what_was_usable(online, name, widgets):
    alice = online(Owner, name("alice"))
    view = widgets(Roster(alice))
    alice.requests.add(ReadRequest(thing="lamp@example", requester="bob@example", _owner=alice, service=SERVICE,
                                   fields=("a", "b")))  # fmt: skip
    row = the_row(view, "bob@example")
    parts_of(row)[0].value = parts_of(row)[1].value = False  # Approve off: nothing ticked
    alice.stop()  # answering needs a connection
    click_on_another_thread(button(row, "Reject"))
    assert eventually(lambda: view.errors.outputs) and "NotConnected" in view.errors.outputs[0]["text"]
    assert eventually(lambda: not button(row, "Reject").disabled)
    assert button(row, "Approve").disabled and not any(box.disabled for box in parts_of(row))


def test_unticking_a_field_lets_a_stranger_read_only_the_ticked_one(lab, online, name, widgets):
    """Over the wire: a claimed thermometer, a stranger's read, the owner's widget, the stranger's next read."""
    alice, bob = online(Owner, name("alice")), online(Owner, name("bob"))
    thermometer = online(Thermometer(name("thermometer"), lab=lab, timeout=5, tags={"MAN": "Acme", "SN": name()}))
    alice.claim(thermometer.claim_uri)
    view = widgets(Roster(alice))
    with pytest.raises(Rejected):
        bob.befriend(thermometer.jid)
    assert eventually(lambda: alice.requests.find(bob.jid, kind="friend"))
    click_on_another_thread(button(the_row(view, bob.jid), "Approve"))
    assert eventually(lambda: not alice.requests.find(bob.jid))
    assert bob.befriend(thermometer.jid).friend

    with pytest.raises(Forbidden):
        bob.read(thermometer.jid, ["temperature", "humidity"])
    assert eventually(lambda: alice.requests.find(bob.jid, kind="read"))
    assert eventually(lambda: len(parts_of(the_row(view, bob.jid))) == 2)
    row = the_row(view, bob.jid)
    next(box for box in parts_of(row) if box.description == "humidity").value = False
    click_on_another_thread(button(row, "Approve"))
    assert eventually(lambda: not alice.requests.find(bob.jid))
    assert not view.errors.outputs
    assert bob.read(thermometer.jid, ["temperature", "humidity"]).names == ["temperature"]
    with pytest.raises(Forbidden):
        bob.read(thermometer.jid, "humidity")


def test_the_widget_never_blocks_on_its_decisions(decisions, widgets):
    """The decision runs on the network loop: a slow answer does not hold the click."""
    alice, decided = decisions

    async def slow(request, range="Caller", parts=None, timeout=None):
        await asyncio.sleep(0.3)
        decided.append(parts)
        alice.requests.remove(request)

    alice.aapprove = slow
    view = widgets(Roster(alice))
    asked(alice, ReadRequest, fields=("t",))
    click_on_another_thread(button(the_row(view, "bob@example"), "Approve"))
    assert eventually(lambda: decided == [("t",)])
