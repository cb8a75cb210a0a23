"""Friendship under the owner's control, against the real lab server."""

from __future__ import annotations

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import Forbidden, Rejected, TimedOut
from xiotlab.protocol import provisioning
from xiotlab.runtime import network

from ..waiting import eventually, in_background


@pytest.fixture
def household(online, name):
    """An owner, and a thing that names her as its owner, not yet friends."""
    alice = online(Owner, name("alice"))
    lamp = online(Thing, name("lamp"), owner=alice.jid)
    return alice, lamp


def test_the_owner_is_accepted_at_once(household):
    alice, lamp = household
    contact = alice.befriend(lamp.jid)
    assert contact.friend and contact.online
    assert eventually(lambda: lamp.jid in alice.roster and alice.roster[lamp.jid].friend)
    assert eventually(lambda: alice.jid in lamp.roster and lamp.roster[alice.jid].friend)
    assert len(alice.requests) == 0, "the owner's own request asks nobody"


def test_a_strangers_request_goes_to_the_owner_who_approves(household, online, name):
    alice, lamp = household
    alice.befriend(lamp.jid)
    bob = online(Owner, name("bob"))
    pending = in_background(bob.befriend, lamp.jid, timeout=10)
    request = alice.next_request(timeout=5)
    assert (request.thing, request.requester) == (lamp.jid, bob.jid)
    request.approve()
    assert pending.result().friend
    assert eventually(lambda: bob.jid in lamp.roster and lamp.roster[bob.jid].friend)
    assert len(alice.requests) == 0


def test_a_rejected_request_raises_rejected(household, online, name):
    alice, lamp = household
    alice.befriend(lamp.jid)
    mallory = online(Owner, name("mallory"))
    pending = in_background(mallory.befriend, lamp.jid, timeout=10)
    alice.next_request(timeout=5).reject()
    with pytest.raises(Rejected, match="rejected"):
        pending.result()
    assert not (mallory.jid in lamp.roster and lamp.roster[mallory.jid].friend)


def test_a_request_waits_for_the_owner_to_log_in(lab, online, name):
    alice_name = name("alice")
    alice = online(Owner, alice_name)
    lamp = online(Thing, name("lamp"), owner=alice.jid)
    alice.befriend(lamp.jid)
    alice.stop()

    bob = online(Owner, name("bob"))
    with pytest.raises(TimedOut, match="stays pending"):
        bob.befriend(lamp.jid, timeout=1)

    alice_again = online(Owner, alice_name)
    request = alice_again.next_request(timeout=5)
    assert (request.thing, request.requester) == (lamp.jid, bob.jid)
    request.approve()
    assert eventually(lambda: lamp.jid in bob.roster and bob.roster[lamp.jid].friend)


def test_approval_reaches_a_thing_that_is_offline(lab, online, name):
    alice = online(Owner, name("alice"))
    lamp_name = name("lamp")
    lamp = online(Thing, lamp_name, owner=alice.jid)
    alice.befriend(lamp.jid)
    bob = online(Owner, name("bob"))
    with pytest.raises(TimedOut):
        bob.befriend(lamp.jid, timeout=0.5)
    request = alice.next_request(timeout=5)
    lamp.stop()
    assert eventually(lambda: not alice.roster[lamp.jid].online)
    request.approve()  # the thing is away: the answer waits in offline storage
    online(Thing, lamp_name, owner=alice.jid)
    assert eventually(lambda: lamp.jid in bob.roster and bob.roster[lamp.jid].friend)


def test_a_domain_rule_answers_later_requests_without_asking(household, online, name):
    alice, lamp = household
    alice.befriend(lamp.jid)
    bob = online(Owner, name("bob"))
    pending = in_background(bob.befriend, lamp.jid, timeout=10)
    alice.next_request(timeout=5).approve(range="Domain")
    assert pending.result().friend
    carol = online(Owner, name("carol"))
    assert carol.befriend(lamp.jid, timeout=5).friend
    assert len(alice.requests) == 0


def test_only_the_owner_may_answer_for_a_thing(household, online, name):
    alice, lamp = household
    alice.befriend(lamp.jid)
    bob = online(Owner, name("bob"))
    pending = in_background(bob.befriend, lamp.jid, timeout=10)
    request = alice.next_request(timeout=5)
    # A hostile peer answers the question itself, straight to the device.
    forged = provisioning.IsFriendRule(jid=lamp.jid, remote_jid=bob.jid, key=request.key, result=True)
    with pytest.raises(Forbidden, match="owner"):
        network.run(bob._client.request(lamp.full_jid, "set", provisioning.build_is_friend_rule(forged), 5))
    request.reject()
    with pytest.raises(Rejected):
        pending.result()


@pytest.mark.parametrize(
    ("policy", "accepted"), [("deny", False), ("accept", True), (["{bob}"], True), (["elsewhere.example"], False)]
)
def test_ownerless_things_follow_their_policy(online, name, policy, accepted):
    bob = online(Owner, name("bob"))
    policy = [p.format(bob=bob.jid) for p in policy] if isinstance(policy, list) else policy
    sensor = online(Thing, name("sensor"), policy=policy)
    if accepted:
        assert bob.befriend(sensor.jid).friend
    else:
        with pytest.raises(Rejected):
            bob.befriend(sensor.jid)


def test_a_bad_policy_is_refused_with_advice(lab, name):
    with pytest.raises(ValueError, match="'accept', 'deny', or a list"):
        Thing(name("sensor"), lab=lab, policy="maybe")


@pytest.mark.parametrize("side", ["owner", "thing"])
def test_unfriend_from_either_side(household, side):
    alice, lamp = household
    alice.befriend(lamp.jid)
    leaving, other = (alice, lamp) if side == "owner" else (lamp, alice)
    leaving.unfriend(other.jid)
    assert other.jid not in leaving.roster
    assert eventually(lambda: other.roster.get(leaving.jid) is None or not other.roster[leaving.jid].friend)


def test_presence_and_status_reach_friends(household):
    alice, lamp = household
    changes = []
    alice.roster.observe(lambda roster, jid: changes.append(jid))
    alice.befriend(lamp.jid)
    lamp.set_status("dimmed to 30 %", show="away")
    assert eventually(lambda: alice.roster[lamp.jid].status == "dimmed to 30 %")
    assert alice.roster[lamp.jid].presence == "away"
    lamp.stop()
    assert eventually(lambda: not alice.roster[lamp.jid].online)
    assert lamp.jid in changes


def test_people_can_befriend_owners_too(online, name):
    alice, bob = online(Owner, name("alice")), online(Owner, name("bob"))
    pending = in_background(bob.befriend, alice.jid, timeout=10)
    request = alice.next_request(timeout=5)
    assert request.thing == alice.jid and "you" in repr(request)
    alice.approve(bob.jid)
    assert pending.result().friend


def test_a_participant_is_not_its_own_contact_even_with_a_second_connection(lab, online, name):
    jid = name("grace")
    first = online(Owner, jid)
    second = online(Owner, jid)
    second.stop()
    lamp = online(Thing, name("lamp"), owner=first.jid)
    first.befriend(lamp.jid)
    assert first.jid not in first.roster
    with pytest.raises(ValueError, match="itself"):
        first.unfriend(first.jid)


def test_an_owner_given_later_is_accepted_and_decides(online, name):
    alice = online(Owner, name("alice"))
    lamp = online(Thing, name("lamp"))  # born knowing nobody: by default it refuses everyone
    with pytest.raises(Rejected):
        alice.befriend(lamp.jid, timeout=5)
    lamp.owner = alice.jid.split("@")[0]  # a bare name means one on the thing's domain
    assert lamp.owner == alice.jid
    assert alice.befriend(lamp.jid).friend
