"""A concentrator on the wire: a raw slixmpp peer asks it about its nodes, reads, subscribes and sets them.

The peer is its owner and speaks XML as the specifications write it; every answer
and event is validated against Concentrator.xsd (repaired in memory, see
``tests/protocol/schema.py``) or SensorData.xsd.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from xiotlab import Concentrator, Owner
from xiotlab.errors import Forbidden, StanzaError
from xiotlab.protocol import concentrator as c
from xiotlab.protocol import sensordata
from xiotlab.protocol.namespaces import CONCENTRATOR, CONTROL, EVENTS, SENSOR_DATA
from xiotlab.protocol.values import NodeRef

from ..protocol.schema import assert_valid, concentrator_schema, schema
from ..waiting import eventually, in_background
from .raw_peer import condition, ok

NF = "urn:nf:iot:concentrator:1.0"


@pytest.fixture(scope="module")
def xsd(tmp_path_factory):
    return concentrator_schema(tmp_path_factory)


@pytest.fixture(scope="module")
def sd_xsd(tmp_path_factory):
    return schema(tmp_path_factory)


@pytest.fixture
def gateway(lab, raw, name):
    """A concentrator owned by a raw peer, with a kitchen, a fridge below it and a cellar: ``(gateway, peer)``."""
    owner = raw("owner")
    gw = Concentrator(name("gateway"), lab=lab, owner=owner.jid, timeout=5)
    kitchen = gw.node("kitchen", display_name="Kitchen")
    fridge = gw.node("kitchen/fridge", parent=kitchen, display_name="Fridge")
    fridge.sensor("temperature", unit="°C", decimals=1)(lambda: 4.5)
    fridge.control("on", type=bool, value=True)(lambda value: None)
    kitchen.report(humidity=41)
    gw.node("cellar", source="basement").report(temperature=12.0)
    gw.start()
    owner.befriend(gw.jid)
    assert eventually(lambda: gw.roster.get(owner.jid) is not None and gw.roster[owner.jid].friend)
    yield gw, owner
    gw.stop()


def ask(peer, gw: Concentrator, payload: str, kind: str = "get") -> ET.Element:
    return peer.send(gw.full_jid, payload, kind)


def test_capabilities_sources_and_the_tree(gateway, xsd):
    gw, peer = gateway
    strings = ok(ask(peer, gw, f"<getCapabilities xmlns='{CONCENTRATOR}'/>"))
    assert_valid(xsd, strings)
    assert {"getNode", "getChildNodes", "subscribe"} <= set(c.parse_strings(strings))

    sources = ok(ask(peer, gw, f"<getAllDataSources xmlns='{CONCENTRATOR}'/>"))
    assert_valid(xsd, sources)
    assert {s.id for s in c.parse_data_sources(sources)} == {"nodes", "basement"}

    roots = ok(ask(peer, gw, f"<getRootNodes xmlns='{CONCENTRATOR}' src='nodes'/>"))
    assert_valid(xsd, roots)
    assert [n.id for n in c.parse_node_infos(roots)] == ["kitchen"]
    (kitchen,) = c.parse_node_infos(roots)
    assert kitchen.has_children and kitchen.display_name == "Kitchen"

    children = ok(ask(peer, gw, f"<getChildNodes xmlns='{CONCENTRATOR}' id='kitchen' src='nodes'/>"))
    (fridge,) = c.parse_node_infos(children)
    assert (fridge.id, fridge.parent_id, fridge.is_controllable) == ("kitchen/fridge", "kitchen", True)

    ancestors = ok(ask(peer, gw, f"<getAncestors xmlns='{CONCENTRATOR}' id='kitchen/fridge' src='nodes'/>"))
    assert [n.id for n in c.parse_node_infos(ancestors)] == ["kitchen/fridge", "kitchen"]

    everything = ok(ask(peer, gw, f"<getAllNodes xmlns='{CONCENTRATOR}' src=''/>"))
    assert {n.id for n in c.parse_node_infos(everything)} == {"kitchen", "kitchen/fridge", "cellar"}


def test_contains_and_get_node_and_what_does_not_exist(gateway, xsd):
    gw, peer = gateway
    yes = ok(ask(peer, gw, f"<containsNode xmlns='{CONCENTRATOR}' id='cellar' src='basement'/>"))
    assert_valid(xsd, yes)
    assert c.parse_bool(yes) is True
    several = ok(
        ask(
            peer,
            gw,
            f"<containsNodes xmlns='{CONCENTRATOR}'><nd id='cellar' src='basement'/><nd id='attic'/></containsNodes>",
        )
    )
    assert c.parse_bools(several) == (True, False)
    info = ok(ask(peer, gw, f"<getNode xmlns='{CONCENTRATOR}' id='cellar' src='basement'/>"))
    assert_valid(xsd, info)
    assert c.parse_node_info(info).is_readable
    assert condition(ask(peer, gw, f"<getNode xmlns='{CONCENTRATOR}' id='attic' src='nodes'/>")) == "item-not-found"
    assert condition(ask(peer, gw, f"<getChildDataSources xmlns='{CONCENTRATOR}' src='roof'/>")) == "item-not-found"


def test_the_older_names_are_answered_in_kind(gateway):
    gw, peer = gateway
    answer = ok(ask(peer, gw, f"<getRootNodes xmlns='{NF}' src='basement'/>"))
    assert answer.tag == f"{{{NF}}}nodeInfos"
    assert [n.id for n in c.parse_node_infos(answer)] == ["cellar"]


def test_a_readout_reads_the_nodes_it_names_and_none_without(gateway, sd_xsd):
    gw, peer = gateway
    nodes = "<nd id='kitchen/fridge' src='nodes'/><nd id='cellar'/>"
    request = f"<req xmlns='{SENSOR_DATA}' id='1' momentary='true'>{nodes}</req>"
    answer = ok(ask(peer, gw, request))
    assert_valid(sd_xsd, answer)
    fields = sensordata.parse_response(answer).fields
    assert {(f.node.id, f.name) for f in fields} == {("kitchen/fridge", "temperature"), ("cellar", "temperature")}
    assert {f.node.source for f in fields} == {"nodes", "basement"}

    own = sensordata.parse_response(ok(ask(peer, gw, f"<req xmlns='{SENSOR_DATA}' id='2' momentary='true'/>")))
    assert own.fields == (), "a readout that names no node reads none of them"

    missing = sensordata.parse_response(
        ok(ask(peer, gw, f"<req xmlns='{SENSOR_DATA}' id='3' momentary='true'><nd id='attic'/></req>"))
    )
    assert [e.node for e in missing.errors] == [NodeRef("attic")] and "attic" in missing.errors[0].message


def test_events_of_a_subscription_to_a_node(gateway):
    gw, peer = gateway
    subscribe = f"<subscribe xmlns='{EVENTS}' id='s1'><nd id='cellar' src='basement'/></subscribe>"
    ok(ask(peer, gw, subscribe))
    gw.find("kitchen/fridge").report(temperature=5.0)  # another node: not for this subscription
    gw.find("cellar").report(temperature=12.5)

    def cellar_events():
        found = [m for m in peer.messages if m.tag.endswith("}resp") and m.get("id") == "s1"]
        return [f for m in found for f in sensordata.parse_response(m).fields]

    assert eventually(lambda: any(f.value == 12.5 for f in cellar_events()))
    assert {f.node.id for f in cellar_events()} == {"cellar"}


def test_a_set_reaches_the_node_named_and_a_form_shows_its_parameters(gateway):
    gw, peer = gateway
    fridge = gw.find("kitchen/fridge")
    form = ok(ask(peer, gw, f"<getForm xmlns='{CONTROL}'><nd id='kitchen/fridge'/></getForm>"))
    assert "on" in ET.tostring(form, encoding="unicode")
    ok(ask(peer, gw, f"<set xmlns='{CONTROL}'><nd id='kitchen/fridge'/><b n='on' v='false'/></set>", "set"))
    assert fridge.controls == {"on": False}
    wrong = ask(peer, gw, f"<set xmlns='{CONTROL}'><nd id='attic'/><b n='on' v='true'/></set>", "set")
    assert condition(wrong) == "item-not-found"
    assert fridge.controls == {"on": False}, "nothing changed"


def test_data_source_subscribers_hear_nodes_come_change_and_go(gateway, xsd):
    gw, peer = gateway
    ok(ask(peer, gw, f"<subscribe xmlns='{CONCENTRATOR}' src='nodes' ttl='600'/>", "set"))
    garage = gw.node("garage", display_name="Garage")
    garage.display_name = "Garage (old)"
    gw.remove_node("garage")
    gw.node("shed", source="basement")  # another source: not for this subscription

    def events():
        return [m for m in peer.messages if m.tag.startswith(f"{{{CONCENTRATOR}}}node")]

    assert eventually(lambda: [e.tag.rsplit("}", 1)[1] for e in events()][-1:] == ["nodeRemoved"])
    kinds = [e.tag.rsplit("}", 1)[1] for e in events()]
    assert kinds[0] == "nodeAdded" and "nodeUpdated" in kinds
    for event in events():
        assert_valid(xsd, event)
    assert all(c.parse_event(e).node.id == "garage" for e in events())


def test_only_friends_may_browse(gateway, raw):
    gw, _ = gateway
    stranger = raw("stranger")
    answer = stranger.send(
        f"{gw.jid}/{gw.full_jid.split('/', 1)[1]}", f"<getCapabilities xmlns='{CONCENTRATOR}'/>", "get"
    )
    assert condition(answer) in ("forbidden", "service-unavailable")


def test_a_subscription_to_several_nodes_compares_each_nodes_values_with_its_own(gateway):
    gw, peer = gateway
    a, b = gw.node("a"), gw.node("b")
    nodes = "<nd id='a'/><nd id='b'/>"
    ok(ask(peer, gw, f"<subscribe xmlns='{EVENTS}' id='s2'><f n='level'/>{nodes}</subscribe>"))
    for node, value in ((a, 5), (b, 5), (a, 6), (b, 6)):
        node.report(level=value)

    def seen():
        found = [m for m in peer.messages if m.tag.endswith("}resp") and m.get("id") == "s2"]
        return sorted((f.node.id, f.value) for m in found for f in sensordata.parse_response(m).fields)

    assert eventually(lambda: seen() == [("a", 5), ("a", 6), ("b", 5), ("b", 6)]), seen()


def test_data_source_subscriptions_name_real_sources_and_expire(gateway):
    gw, peer = gateway
    unknown = ask(peer, gw, f"<subscribe xmlns='{CONCENTRATOR}' src='nowhere' ttl='60'/>", "set")
    assert condition(unknown) == "item-not-found"
    assert ok(ask(peer, gw, f"<subscribe xmlns='{CONCENTRATOR}' src='nodes' ttl='1'/>", "set")) is None
    gw.node("porch")
    assert eventually(lambda: any(m.tag.endswith("}nodeAdded") for m in peer.messages))
    time.sleep(1.2)  # past the ttl
    heard = len(peer.messages)
    gw.node("attic")
    time.sleep(0.5)
    assert not any(m.tag.endswith("}nodeAdded") for m in peer.messages[heard:]), "an expired subscription hears nothing"


def test_a_tree_too_big_for_one_answer_is_refused_and_walked_a_level_at_a_time(lab, online, name):
    alice = online(Owner, name("alice"))
    gw = Concentrator(name("big"), lab=lab, owner=alice.jid, timeout=5)
    for room in range(3):
        gw.node(f"room{room}")
        for n in range(200):
            gw.node(f"room{room}/lamp{n}", parent=f"room{room}")
    online(gw)
    alice.befriend(gw.jid)
    with pytest.raises(StanzaError) as refused:
        alice.send_iq(gw.full_jid, f"<getAllNodes xmlns='{CONCENTRATOR}' src=''/>")
    assert refused.value.condition == "resource-constraint"
    tree = alice.nodes(gw.jid)
    assert len(tree) == 603 and {info.parent_id for info in tree} == {None, "room0", "room1", "room2"}


def test_a_nodes_commands_are_listed_and_run_for_controllers_only(lab, online, name, xsd):
    alice, bob = online(Owner, name("alice")), online(Owner, name("bob"))
    gw = Concentrator(name("meter"), lab=lab, owner=alice.jid, timeout=5)
    meter = gw.node("meter")
    resets = []
    meter.command("reset", name="Reset the peak")(lambda: resets.append(True))
    online(gw)
    alice.befriend(gw.jid)
    asking = in_background(bob.befriend, gw.jid)
    alice.next_request(timeout=5).approve()
    asking.result()
    (command,) = alice.commands(gw.jid, "meter")
    assert (command.command, command.name) == ("reset", "Reset the peak")
    assert_valid(xsd, c.build_commands([command]))
    assert c.parse_node_info(
        alice.send_iq(gw.full_jid, f"<getNode xmlns='{CONCENTRATOR}' id='meter' src='nodes'/>")
    ).has_commands
    alice.execute(gw.jid, "reset", node="meter")
    assert resets == [True]
    with pytest.raises(StanzaError) as unknown:
        alice.execute(gw.jid, "explode", node="meter")
    assert unknown.value.condition == "item-not-found" and "reset" in str(unknown.value)
    with pytest.raises(Forbidden):
        bob.execute(gw.jid, "reset", node="meter")  # a friend, not a controller
    assert resets == [True]
