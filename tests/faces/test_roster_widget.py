"""The roster widget follows presence and friendship live, and lets an owner answer requests from any thread."""

from __future__ import annotations

import re
import threading

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import Rejected
from xiotlab.faces.widgets import roster as roster_module
from xiotlab.faces.widgets.roster import Roster, friendship
from xiotlab.roles.friendship import FriendRequest
from xiotlab.roles.roster import Contact

from ..waiting import eventually, in_background


def row(widget: Roster, jid: str) -> str:
    """The table row of ``jid`` in the widget's HTML, or "" if it has none."""
    found = re.search(rf"<tr data-jid='{re.escape(jid)}'.*?</tr>", widget.table.value)
    return found.group(0) if found else ""


def request_labels(widget: Roster) -> list[str]:
    """The texts of the request rows shown (rows are HBoxes of a label and two buttons)."""
    return [r.children[0].value for r in widget.requests.children if hasattr(r, "children")]


def buttons(widget: Roster, requester: str) -> dict[str, object]:
    for r in widget.requests.children:
        if hasattr(r, "children") and requester in r.children[0].value:
            return {b.description: b for b in r.children[1:]}
    raise AssertionError(f"no request row from {requester}")


def click_on_another_thread(button) -> None:
    worker = threading.Thread(target=button.click, name="not-the-main-thread")
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "a click handler must return at once"


@pytest.fixture
def household(online, name):
    """Alice and her lamp, friends."""
    alice = online(Owner, name("alice"))
    lamp = online(Thing, name("lamp"), owner=alice.jid)
    alice.befriend(lamp.jid)
    return alice, lamp


def test_a_friend_going_online_and_offline_and_changing_status_shows(household, online, widgets):
    alice, lamp = household
    view = widgets(Roster(alice))
    assert eventually(lambda: "data-presence='available'" in row(view, lamp.jid))
    assert ">friend<" in row(view, lamp.jid) and ">online<" in row(view, lamp.jid)

    lamp.set_status("dimmed to 30 %", show="dnd")
    assert eventually(lambda: "dimmed to 30 %" in row(view, lamp.jid))
    assert "do not disturb" in row(view, lamp.jid) and "#c62828" in row(view, lamp.jid)

    lamp.stop()
    assert eventually(lambda: "data-presence='unavailable'" in row(view, lamp.jid))
    assert ">offline<" in row(view, lamp.jid)

    online(Thing, lamp.jid.split("@")[0], owner=alice.jid)
    assert eventually(lambda: "data-presence='available'" in row(view, lamp.jid))
    assert lamp.jid in repr(view) and "friend" in repr(view)


def test_status_text_is_escaped(household, widgets):
    alice, lamp = household
    view = widgets(Roster(alice))
    lamp.set_status("<script>alert('hi')</script> & more")
    assert eventually(lambda: "&lt;script&gt;" in row(view, lamp.jid))
    assert "<script>" not in view.table.value and "&amp; more" in view.table.value


def test_a_thing_sees_its_owner_and_has_no_request_section(household, widgets):
    alice, lamp = household
    view = widgets(Roster(lamp))
    assert eventually(lambda: ">friend<" in row(view, alice.jid))
    assert view.requests not in view.children


@pytest.mark.parametrize(
    ("contact", "words"),
    [
        (Contact("a@x", "both"), "friend"),
        (Contact("a@x", "none", pending_out=True), "you asked, waiting for their answer"),
        (Contact("a@x", "none", pending_in=True), "they asked, waiting for your answer"),
        (
            Contact("a@x", "from", pending_out=True),
            "you asked, waiting for their answer; one way: they see your presence",
        ),
        (Contact("a@x", "to"), "one way: you see their presence"),
        (Contact("a@x"), "not friends"),
    ],
)
def test_friendship_is_said_in_words(contact, words):
    assert friendship(contact) == words


def test_the_owner_approves_a_forwarded_request_from_another_thread(household, online, name, widgets):
    alice, lamp = household
    view = widgets(Roster(alice))
    assert request_labels(view) == []
    bob = online(Owner, name("bob"))
    pending = in_background(bob.befriend, lamp.jid, timeout=10)
    assert eventually(lambda: any(bob.jid in label for label in request_labels(view)))
    assert lamp.jid in request_labels(view)[0] and "1 requests waiting" in repr(view)
    bobs_view = widgets(Roster(bob))
    assert "you asked, waiting for their answer" in row(bobs_view, lamp.jid)

    click_on_another_thread(buttons(view, bob.jid)["Approve"])
    assert pending.result().friend
    assert eventually(lambda: bob.jid in lamp.roster and lamp.roster[bob.jid].friend)
    assert eventually(lambda: request_labels(view) == [])
    assert eventually(lambda: ">friend<" in row(bobs_view, lamp.jid))
    assert not view.errors.outputs


def test_the_owner_rejects_a_request_to_befriend_her(online, name, widgets):
    alice, bob = online(Owner, name("alice")), online(Owner, name("bob"))
    view = widgets(Roster(alice))
    pending = in_background(bob.befriend, alice.jid, timeout=10)
    assert eventually(lambda: any("befriend you" in label for label in request_labels(view)))
    click_on_another_thread(buttons(view, bob.jid)["Reject"])
    with pytest.raises(Rejected, match="rejected"):
        pending.result()
    assert eventually(lambda: request_labels(view) == [])


def test_an_answer_that_fails_shows_in_errors_and_the_buttons_come_back(online, name, widgets):
    alice = online(Owner, name("alice"))
    view = widgets(Roster(alice))
    alice.requests.add(FriendRequest(thing=alice.jid, requester="ghost@xiotlab.localhost", _owner=alice))
    assert eventually(lambda: request_labels(view))
    alice.stop()  # answering needs a connection
    approve = buttons(view, "ghost@")["Approve"]
    click_on_another_thread(approve)
    assert eventually(lambda: view.errors.outputs)
    assert "NotConnected" in view.errors.outputs[0]["text"]
    assert eventually(lambda: not approve.disabled)
    assert request_labels(view), "a request that was not answered stays"


def test_an_error_in_a_click_handler_shows_in_errors(online, name, widgets, monkeypatch):
    alice = online(Owner, name("alice"))
    view = widgets(Roster(alice))
    alice.requests.add(FriendRequest(thing=alice.jid, requester="ghost@xiotlab.localhost", _owner=alice))
    assert eventually(lambda: request_labels(view))

    def broken(*args, **kwargs):
        raise RuntimeError("the reject button broke")

    monkeypatch.setattr(alice, "areject", broken)
    reject = buttons(view, "ghost@")["Reject"]
    click_on_another_thread(reject)
    assert view.errors.outputs and "the reject button broke" in view.errors.outputs[0]["text"]
    assert not reject.disabled


def test_an_error_in_a_redraw_shows_in_errors_and_drawing_goes_on(household, widgets, monkeypatch):
    alice, lamp = household
    view = widgets(Roster(alice))
    real = roster_module._contact_row

    def broken(contact):
        raise ZeroDivisionError("a contact row broke")

    monkeypatch.setattr(roster_module, "_contact_row", broken)
    lamp.set_status("first")
    assert eventually(lambda: view.errors.outputs)
    assert "a contact row broke" in view.errors.outputs[0]["text"]
    monkeypatch.setattr(roster_module, "_contact_row", real)
    lamp.set_status("second")
    assert eventually(lambda: "second" in row(view, lamp.jid))


def test_close_stops_following(household):
    alice, lamp = household
    view = Roster(alice)
    view.close()
    assert view._on_roster not in alice.roster._observers
    assert view._on_requests not in alice.requests._observers
    lamp.set_status("after close")  # must not raise anywhere
    view.close()  # twice is fine
