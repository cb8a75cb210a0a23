"""The lab's provisioning service over the wire: raw devices and owners, then xiotlab's things and owners.

Raw slixmpp clients speak the elements of ``ProvisioningDevice.xsd``
(a device's ``isFriend``, ``canRead``, ``canControl``) and of
``ProvisioningOwner.xsd`` (an owner's rules, ``clearCache``, ``deleteRules``,
``getDevices``), as the pages' element tables describe them, to
``provisioning.<domain>``; what comes back, and what the service sends the
owner and the device, is validated against the schemas. Then the same through
``Thing`` and ``Owner``: the owner's one inbox, approvals in part, rule changes
that reach the thing's cache, and refusals that change nothing.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from xiotlab import Concentrator, Owner, Thing
from xiotlab.errors import Forbidden, Rejected, XmppError
from xiotlab.protocol import provisioning as prov
from xiotlab.protocol import registry as r
from xiotlab.protocol.namespaces import DISCOVERY
from xiotlab.roles.friendship import ControlRequest, FriendRequest, ReadRequest
from xiotlab.runtime import network

from ..protocol.schema import schema
from ..waiting import eventually, in_background
from .raw_peer import RawPeer, condition, ok
from .test_registry_wire import valid


@pytest.fixture
def peer(raw):
    """``peer(prefix)`` -> a new lab account online as a plain slixmpp :class:`RawPeer`."""
    return raw


@pytest.fixture(scope="module")
def xsd(tmp_path_factory):
    return schema(tmp_path_factory)


D = "urn:nfi:iot:prov:d:1.0"
O = "urn:nfi:iot:prov:o:1.0"  # noqa: E741
NF_D = "urn:nf:iot:prov:d:1.0"
NF_O = "urn:nf:iot:prov:o:1.0"


def local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[1]


@pytest.fixture
def claimed_device(lab, peer):
    """A raw device registered and claimed by a raw owner: ``(device, owner)``."""
    device, owner = peer("device"), peer("owner")
    tags = f"<str name='SN' value='{uuid.uuid4().hex}'/><str name='KEY' value='{r.new_key()}'/>"
    ok(device.send(lab.registry, f"<register xmlns='{DISCOVERY}'>{tags}</register>"))
    ok(owner.send(lab.registry, f"<mine xmlns='{DISCOVERY}'>{tags}</mine>"))
    assert eventually(lambda: device.notice("claimed"))
    return device, owner


def question(owner: RawPeer, kind: str, count: int = 1) -> list[ET.Element]:
    """The owner's questions of ``kind``, once ``count`` of them have arrived."""
    assert eventually(lambda: len([m for m in owner.messages if local(m) == kind]) >= count), owner.messages
    return [m for m in owner.messages if local(m) == kind]


def test_a_friend_question_goes_to_the_owner_whose_rule_answers_it(lab, peer, claimed_device, xsd):
    device, owner = claimed_device
    stranger, other = peer("stranger"), peer("other")

    # A device's isFriend: no rule yet, so no, and the owner is asked.
    answer = valid(xsd, ok(device.send(lab.provisioning, f"<isFriend xmlns='{D}' jid='{stranger.jid}'/>", "get")))
    assert local(answer) == "isFriendResponse" and answer.get("result") == "false"
    assert answer.get("jid") == stranger.jid
    (asked,) = question(owner, "isFriend")
    valid(xsd, asked)
    assert (asked.get("jid"), asked.get("remoteJid")) == (device.jid, stranger.jid) and asked.get("key")

    # Asked again, the same question does not bother the owner twice.
    ok(device.send(lab.provisioning, f"<isFriend xmlns='{D}' jid='{stranger.jid}'/>", "get"))

    # Someone not the owner cannot answer it: forbidden, and nothing changes.
    key = asked.get("key")
    forged = f"<isFriendRule xmlns='{O}' jid='{device.jid}' remoteJid='{stranger.jid}' key='{key}' result='true'/>"
    valid(xsd, ET.fromstring(forged))
    assert condition(other.send(lab.provisioning, forged)) == "forbidden"
    answer = ok(device.send(lab.provisioning, f"<isFriend xmlns='{D}' jid='{stranger.jid}'/>", "get"))
    assert answer is not None and answer.get("result") == "false"
    assert device.notice("clearCache") == [], "a refused rule must not clear the device's cache"

    # The owner's rule (range Caller): the device clears its cache, is told to befriend, and asks anew.
    rule = forged.replace("result='true'", "result='true' range='Caller'")
    assert ok(owner.send(lab.provisioning, rule)) is None
    assert eventually(lambda: device.notice("clearCache"))
    valid(xsd, device.notice("clearCache")[0])
    assert eventually(lambda: [m for m in device.messages if local(m) == "friend"])
    friend = valid(xsd, next(m for m in device.messages if local(m) == "friend"))
    assert friend.get("jid") == stranger.jid
    answer = ok(device.send(lab.provisioning, f"<isFriend xmlns='{D}' jid='{stranger.jid}'/>", "get"))
    assert answer is not None and answer.get("result") == "true"
    assert len(question(owner, "isFriend")) == 1

    # A domain rule refusing: the device is told to unfriend the stranger (whose own rule still says yes).
    domain_no = rule.replace("result='true' range='Caller'", "result='false' range='Domain'")
    assert ok(owner.send(lab.provisioning, domain_no)) is None
    answer = ok(device.send(lab.provisioning, f"<isFriend xmlns='{D}' jid='{other.jid}'/>", "get"))
    assert answer is not None and answer.get("result") == "false", "the domain rule answers for others"
    answer = ok(device.send(lab.provisioning, f"<isFriend xmlns='{D}' jid='{stranger.jid}'/>", "get"))
    assert answer is not None and answer.get("result") == "true", "the caller's rule is more specific"


def test_read_and_control_questions_rules_in_part_and_deleting_them(lab, peer, claimed_device, xsd):
    device, owner = claimed_device
    stranger = peer("stranger")
    can_read = f"<canRead xmlns='{D}' jid='{stranger.jid}' m='true'><f n='temperature'/><f n='humidity'/></canRead>"
    valid(xsd, ET.fromstring(can_read))
    answer = valid(xsd, ok(device.send(lab.provisioning, can_read, "get")))
    assert local(answer) == "canReadResponse" and answer.get("result") == "false"
    (asked,) = question(owner, "canRead")
    valid(xsd, asked)
    assert {f.get("n") for f in asked if local(f) == "f"} == {"temperature", "humidity"}

    rule = (
        f"<canReadRule xmlns='{O}' jid='{device.jid}' remoteJid='{stranger.jid}' key='{asked.get('key')}' "
        f"result='true'><partial><f n='temperature'/></partial><fromJid/></canReadRule>"
    )
    valid(xsd, ET.fromstring(rule))
    assert ok(owner.send(lab.provisioning, rule)) is None
    assert eventually(lambda: device.notice("clearCache"))
    answer = valid(xsd, ok(device.send(lab.provisioning, can_read, "get")))
    assert answer.get("result") == "true"
    assert [f.get("n") for f in answer if local(f) == "f"] == ["temperature"], "narrowed to the allowed field"

    can_control = f"<canControl xmlns='{D}' jid='{stranger.jid}'><p n='setpoint'/><p n='on'/></canControl>"
    valid(xsd, ET.fromstring(can_control))
    answer = valid(xsd, ok(device.send(lab.provisioning, can_control, "get")))
    assert local(answer) == "canControlResponse" and answer.get("result") == "false"
    (asked,) = question(owner, "canControl")
    valid(xsd, asked)
    rule = (
        f"<canControlRule xmlns='{O}' jid='{device.jid}' remoteJid='{stranger.jid}' key='{asked.get('key')}' "
        f"result='true'><partial><p n='setpoint'/></partial><fromDomain/></canControlRule>"
    )
    valid(xsd, ET.fromstring(rule))
    assert ok(owner.send(lab.provisioning, rule)) is None
    answer = valid(xsd, ok(device.send(lab.provisioning, can_control, "get")))
    assert answer.get("result") == "true" and [p.get("n") for p in answer if local(p) == "p"] == ["setpoint"]

    # A rule by token is not implemented yet, and says so.
    token_rule = rule.replace("<fromDomain/>", "<fromService token='abc'/>")
    valid(xsd, ET.fromstring(token_rule))
    assert condition(owner.send(lab.provisioning, token_rule)) == "feature-not-implemented"

    # getDevices: the owner's device; someone else's getDevices does not list it.
    found = valid(xsd, ok(owner.send(lab.provisioning, f"<getDevices xmlns='{O}'/>", "get")))
    assert device.jid in {t.get("jid") for t in found}
    found = ok(stranger.send(lab.provisioning, f"<getDevices xmlns='{O}' offset='0' maxCount='5'/>", "get"))
    assert found is None or device.jid not in {t.get("jid") for t in found}

    # deleteRules from a stranger: forbidden, nothing deleted. From the owner: the device asks again, and is refused.
    delete = f"<deleteRules xmlns='{O}' jid='{device.jid}'/>"
    valid(xsd, ET.fromstring(delete))
    assert condition(stranger.send(lab.provisioning, delete)) == "forbidden"
    assert ok(device.send(lab.provisioning, can_read, "get")).get("result") == "true"  # type: ignore[union-attr]
    cleared = len(device.notice("clearCache"))
    assert ok(owner.send(lab.provisioning, delete)) is None
    assert eventually(lambda: len(device.notice("clearCache")) > cleared)
    assert ok(device.send(lab.provisioning, can_read, "get")).get("result") == "false"  # type: ignore[union-attr]
    assert ok(device.send(lab.provisioning, can_control, "get")).get("result") == "false"  # type: ignore[union-attr]

    # The owner's clearCache reaches the device; a stranger's is forbidden.
    clear = f"<clearCache xmlns='{O}' jid='{device.jid}'/>"
    valid(xsd, ET.fromstring(clear))
    cleared = len(device.notice("clearCache"))
    assert condition(stranger.send(lab.provisioning, clear)) == "forbidden"
    assert ok(owner.send(lab.provisioning, clear)) is None
    assert eventually(lambda: len(device.notice("clearCache")) == cleared + 1)


def test_an_unclaimed_device_is_refused_and_nobody_is_asked(lab, peer):
    device, someone = peer("device"), peer("someone")
    answer = ok(device.send(lab.provisioning, f"<isFriend xmlns='{D}' jid='{someone.jid}'/>", "get"))
    assert answer is not None and answer.get("result") == "false"
    rule = f"<isFriendRule xmlns='{O}' jid='{device.jid}' remoteJid='{someone.jid}' key='k' result='true'/>"
    assert condition(someone.send(lab.provisioning, rule)) == "forbidden"


def test_the_nf_names_are_accepted_and_answered_in(lab, peer, claimed_device):
    device, owner = claimed_device
    stranger = peer("stranger")
    answer = ok(device.send(lab.provisioning, f"<isFriend xmlns='{NF_D}' jid='{stranger.jid}'/>", "get"))
    assert answer is not None and answer.tag == f"{{{NF_D}}}isFriendResponse" and answer.get("result") == "false"
    (asked,) = question(owner, "isFriend")
    rule = (
        f"<isFriendRule xmlns='{NF_O}' jid='{device.jid}' remoteJid='{stranger.jid}' key='{asked.get('key')}' "
        "result='true'/>"
    )
    assert ok(owner.send(lab.provisioning, rule)) is None
    answer = ok(device.send(lab.provisioning, f"<isFriend xmlns='{NF_D}' jid='{stranger.jid}'/>", "get"))
    assert answer is not None and answer.get("result") == "true"
    found = ok(owner.send(lab.provisioning, f"<getDevices xmlns='{NF_O}'/>", "get"))
    assert found is not None and device.jid in {t.get("jid") for t in found}


def test_the_service_is_found_by_discovery(lab, peer):
    client = peer("client")
    info = ok(client.send(lab.provisioning, "<query xmlns='http://jabber.org/protocol/disco#info'/>", "get"))
    assert info is not None
    features = {f.get("var") for f in info if local(f) == "feature"}
    assert {D, O, NF_D, NF_O} <= features


# --- through Thing and Owner ----------------------------------------------------------------------


def make_household(lab, online, name) -> tuple[Owner, Thing]:
    thing = Thing(name("therm"), tags={"MAN": "Acme", "SN": uuid.uuid4().hex}, lab=lab, timeout=5)
    thing.sensor("temperature", unit="°C")(lambda: 21.5)
    thing.sensor("humidity", unit="%")(lambda: 40.0)
    thing.control("setpoint", type=float, value=20.0)(lambda value: None)
    thing.control("on", type=bool, value=False)(lambda value: None)
    online(thing)
    assert eventually(lambda: thing.registered)
    alice = online(Owner, name("alice"))
    assert alice.claim(thing.claim_uri) == thing.jid
    return alice, thing


@pytest.fixture
def home(lab, online, name):
    return make_household(lab, online, name)


def befriended(alice: Owner, thing: Thing, stranger: Owner) -> None:
    """``stranger`` asks to befriend ``thing``; alice approves from her inbox; the friendship holds."""
    with pytest.raises(Rejected):
        stranger.befriend(thing.jid, timeout=5)  # refused now: the owner has not decided yet
    request = alice.next_request(timeout=5)
    assert type(request) is FriendRequest and (request.thing, request.requester) == (thing.jid, stranger.jid)
    request.approve()
    assert eventually(lambda: stranger.jid in thing.roster and thing.roster[stranger.jid].friend)
    assert eventually(lambda: thing.jid in stranger.roster and stranger.roster[thing.jid].friend)


def readable(owner: Owner, thing: Thing) -> set[str] | None:
    """The fields ``owner`` reads of ``thing`` now, or None when refused."""
    try:
        return {f.name for f in owner.read(thing.jid).fields}
    except Forbidden:
        return None


def test_a_strangers_friend_request_reaches_the_owner_who_approves(home, online, name):
    alice, thing = home
    bob = online(Owner, name("bob"))
    befriended(alice, thing, bob)
    assert len(alice.requests) == 0
    assert alice.devices() == [thing.jid]


def test_a_strangers_friend_request_rejected(home, online, name):
    alice, thing = home
    mallory = online(Owner, name("mallory"))
    with pytest.raises(Rejected):
        mallory.befriend(thing.jid, timeout=5)
    alice.next_request(timeout=5).reject()
    with pytest.raises(Rejected):
        mallory.befriend(thing.jid, timeout=5)
    assert not (mallory.jid in thing.roster and thing.roster[mallory.jid].friend)
    assert len(alice.requests) == 0, "a rule answers the second request: the owner is not asked again"


def test_a_read_is_approved_in_part_and_a_rule_change_reaches_the_things_cache(home, online, name, lab):
    alice, thing = home
    bob = online(Owner, name("bob"))
    befriended(alice, thing, bob)
    assert readable(alice, thing) == {"temperature", "humidity"}, "the owner reads everything"

    with pytest.raises(Forbidden, match=r"not allowed|question went to the owner"):
        bob.read(thing.jid)
    request = alice.next_request(timeout=5)
    assert isinstance(request, ReadRequest) and (request.thing, request.requester) == (thing.jid, bob.jid)
    request.approve(fields=["temperature"])
    assert eventually(lambda: readable(bob, thing) == {"temperature"}), "only the approved field"
    assert readable(bob, thing) == {"temperature"}
    assert {f.name for f in bob.read(thing.jid, ["humidity", "temperature"]).fields} == {"temperature"}
    with pytest.raises(Forbidden):
        bob.read(thing.jid, ["humidity"])
    assert thing._access.cache, "the answer is cached"

    # The owner changes the rule (all fields, for bob): the service clears the thing's cache,
    # so the earlier, narrower answer is no longer used.
    rule = prov.CanReadRule(thing.jid, bob.jid, "none", True, prov.Origin(prov.OriginKind.JID))
    alice.send_iq(lab.provisioning, prov.build_can_read_rule(rule), "set")
    assert eventually(lambda: readable(bob, thing) == {"temperature", "humidity"})

    # And back to nothing: denied again.
    rule = prov.CanReadRule(thing.jid, bob.jid, "none", False, prov.Origin(prov.OriginKind.JID))
    alice.send_iq(lab.provisioning, prov.build_can_read_rule(rule), "set")
    assert eventually(lambda: readable(bob, thing) is None)


def test_the_owners_clear_cache_empties_the_things_cache(home, online, name):
    alice, thing = home
    bob = online(Owner, name("bob"))
    befriended(alice, thing, bob)
    with pytest.raises(Forbidden):
        bob.read(thing.jid)
    assert thing._access.cache
    alice.clear_cache(thing.jid)
    assert eventually(lambda: not thing._access.cache)


def test_delete_rules_makes_the_thing_ask_again(home, online, name):
    alice, thing = home
    bob = online(Owner, name("bob"))
    befriended(alice, thing, bob)
    with pytest.raises(Forbidden):
        bob.read(thing.jid)
    alice.next_request(timeout=5).approve()
    assert eventually(lambda: readable(bob, thing) == {"temperature", "humidity"})
    alice.delete_rules(thing.jid)
    assert eventually(lambda: readable(bob, thing) is None), "the rule is gone, the cached yes too"
    again = alice.next_request(timeout=5)
    assert isinstance(again, ReadRequest) and again.requester == bob.jid


def test_control_is_approved_in_part(home, online, name):
    alice, thing = home
    bob = online(Owner, name("bob"))
    befriended(alice, thing, bob)
    with pytest.raises(Forbidden):
        bob.set(thing.jid, setpoint=22.0)
    request = alice.next_request(timeout=5)
    assert isinstance(request, ControlRequest) and request.requester == bob.jid
    assert "setpoint" in request.parameters
    request.approve(parameters=["setpoint"])

    def sets() -> bool:
        try:
            bob.set(thing.jid, setpoint=22.5)
        except Forbidden:
            return False
        return True

    assert eventually(sets)
    assert thing.controls["setpoint"] == 22.5
    with pytest.raises(Forbidden):
        bob.set(thing.jid, on=True)
    assert thing.controls["on"] is False


def test_a_denied_set_says_forbidden(home, online, name):
    alice, thing = home
    bob = online(Owner, name("bob"))
    befriended(alice, thing, bob)
    with pytest.raises(Forbidden, match=r"not allowed|owner"):
        bob.set(thing.jid, setpoint=22.0)


def test_a_rule_from_someone_not_the_owner_is_forbidden_and_changes_nothing(home, online, name, lab):
    alice, thing = home
    bob, mallory = online(Owner, name("bob")), online(Owner, name("mallory"))
    befriended(alice, thing, bob)
    with pytest.raises(Forbidden):
        bob.read(thing.jid)
    forged = prov.CanReadRule(thing.jid, bob.jid, "none", True, prov.Origin(prov.OriginKind.ALL))
    with pytest.raises(XmppError, match=r"forbidden|does not own"):
        mallory.send_iq(lab.provisioning, prov.build_can_read_rule(forged), "set")
    with pytest.raises(XmppError, match=r"forbidden|does not own"):
        mallory.delete_rules(thing.jid)
    with pytest.raises(XmppError, match=r"forbidden|does not own"):
        mallory.clear_cache(thing.jid)
    assert readable(bob, thing) is None
    assert mallory.devices() == []


def test_a_clear_cache_from_a_stranger_is_refused_by_the_device(home, online, name):
    alice, thing = home
    bob, mallory = online(Owner, name("bob")), online(Owner, name("mallory"))
    befriended(alice, thing, bob)
    with pytest.raises(Forbidden):
        bob.read(thing.jid)
    cached = dict(thing._access.cache)
    assert cached
    with pytest.raises(XmppError, match=r"forbidden|Only"):
        mallory.send_iq(thing.full_jid, f"<clearCache xmlns='{D}'/>", "set")
    with pytest.raises(XmppError, match=r"forbidden|Only"):
        alice.send_iq(thing.full_jid, f"<clearCache xmlns='{D}'/>", "set")  # its owner is not its service either
    assert thing._access.cache == cached, "the device kept its cache"


def test_a_friend_recommendation_from_a_stranger_is_ignored(home, online, name):
    _, thing = home
    mallory = online(Owner, name("mallory"))
    message = mallory._client.stream.make_message(mto=thing.jid)
    message.xml.append(ET.fromstring(f"<friend xmlns='{D}' jid='{mallory.jid}'/>"))
    network.run(_send(message))
    pending = in_background(mallory.befriend, thing.jid, timeout=3)
    with pytest.raises(Rejected):
        pending.result()
    assert not (mallory.jid in thing.roster and thing.roster[mallory.jid].friend)


async def _send(message) -> None:
    message.send()


def test_questions_wait_for_an_owner_who_is_offline(lab, online, name):
    alice, thing = make_household(lab, online, name)
    alice_name = alice.jid.split("@")[0]
    alice.stop()
    bob = online(Owner, name("bob"))
    with pytest.raises(Rejected):
        bob.befriend(thing.jid, timeout=5)
    alice_again = online(Owner, alice_name)
    request = alice_again.next_request(timeout=5)
    assert (request.thing, request.requester) == (thing.jid, bob.jid)


def test_a_claimed_concentrator_is_browsed_only_by_those_the_owner_lets_read(lab, online, name):
    gateway = Concentrator(name("gateway"), tags={"MAN": "Acme", "SN": uuid.uuid4().hex}, lab=lab, timeout=5)
    gateway.node("kitchen").report(temperature=21.0)
    online(gateway)
    assert eventually(lambda: gateway.registered)
    alice = online(Owner, name("alice"))
    alice.claim(gateway.claim_uri)
    assert [info.id for info in alice.nodes(gateway.jid)] == ["kitchen"]  # the owner browses
    bob = online(Owner, name("bob"))
    befriended(alice, gateway, bob)
    with pytest.raises(Forbidden):
        bob.nodes(gateway.jid)  # a friend the owner has not let read learns nothing of the nodes
    request = alice.next_request(timeout=5)
    assert isinstance(request, ReadRequest) and request.requester == bob.jid
    request.approve()
    assert eventually(lambda: _browses(bob, gateway))


def _browses(owner: Owner, thing: Thing) -> bool:
    try:
        return [info.id for info in owner.nodes(thing.jid)] == ["kitchen"]
    except Forbidden:
        return False
