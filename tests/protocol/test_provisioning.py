"""isFriend questions and isFriendRule answers: round trips, schema conformance, bad input."""

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol import provisioning as p

from .schema import assert_valid

jids = st.from_regex(r"[a-z][a-z0-9.-]{0,20}@[a-z][a-z0-9.]{0,20}", fullmatch=True)


@given(jids, jids, st.text(min_size=1).filter(lambda s: s.isprintable()))
def test_question_round_trip(thing, requester, key):
    question = p.IsFriend(thing, requester, key)
    assert p.parse_is_friend(ET.fromstring(ET.tostring(p.build_is_friend(question)))) == question


@given(jids, jids, st.booleans(), st.sampled_from(p.RuleRange))
def test_rule_round_trip(thing, requester, result, rule_range):
    rule = p.IsFriendRule(thing, requester, "k1", result, rule_range)
    assert p.parse_is_friend_rule(ET.fromstring(ET.tostring(p.build_is_friend_rule(rule)))) == rule


def test_built_elements_validate(nfi_schema):
    assert_valid(nfi_schema, p.build_is_friend(p.IsFriend("lamp@lab", "bob@lab", "k1")))
    for rule_range in p.RuleRange:
        rule = p.IsFriendRule("lamp@lab", "bob@lab", "k1", False, rule_range)
        assert_valid(nfi_schema, p.build_is_friend_rule(rule))


def test_range_defaults_to_caller():
    element = ET.fromstring(f"<isFriendRule xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k' result='1'/>")
    assert p.parse_is_friend_rule(element) == p.IsFriendRule("a@b", "c@d", "k", True, p.RuleRange.CALLER)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (f"<isFriendRule xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k' result='yes'/>", "xs:boolean"),
        (f"<isFriendRule xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k' result='true' range='Planet'/>", "Caller"),
        (f"<isFriendRule xmlns='{p.NS}' jid='a@b' key='k' result='true'/>", "remoteJid"),
        ("<isFriendRule xmlns='urn:other' jid='a@b' remoteJid='c@d' key='k' result='true'/>", "Expected"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(xml, message):
    with pytest.raises(ProtocolError, match=message):
        p.parse_is_friend_rule(ET.fromstring(xml))


# --- reading and control questions and rules, management, every namespace -----------------

from xiotlab.protocol.values import Category, NodeRef  # noqa: E402

from .schema import specs_dir  # noqa: E402
from .strategies import categories, names, nodes  # noqa: E402

tokens = st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)
name_lists = st.lists(names, max_size=4).map(tuple)
origins = st.one_of(
    st.sampled_from([p.OriginKind.JID, p.OriginKind.DOMAIN, p.OriginKind.ALL]).map(p.Origin),
    st.builds(p.Origin, st.sampled_from([p.OriginKind.SERVICE, p.OriginKind.DEVICE, p.OriginKind.USER]), names),
)
keys = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=16)
read_questions = st.builds(
    p.CanRead, jids, jids, keys, st.none() | nodes, name_lists, categories, tokens, tokens, tokens
)
read_rules = st.builds(
    p.CanReadRule, jids, jids, keys, st.booleans(), origins, st.none() | nodes,
    st.none() | st.builds(p.ReadPartial, name_lists, categories),
)  # fmt: skip
control_questions = st.builds(p.CanControl, jids, jids, keys, st.none() | nodes, name_lists, tokens, tokens, tokens)
control_rules = st.builds(
    p.CanControlRule, jids, jids, keys, st.booleans(), origins, st.none() | nodes, st.none() | name_lists
)
targets = st.tuples(st.none() | jids, st.none() | nodes)
owner_values = st.one_of(
    st.builds(p.IsFriend, jids, jids, keys),
    st.builds(p.IsFriendRule, jids, jids, keys, st.booleans(), st.sampled_from(p.RuleRange)),
    read_questions,
    read_rules,
    control_questions,
    control_rules,
    targets.map(lambda t: p.ClearCache(*t)),
    targets.map(lambda t: p.DeleteRules(*t)),
    st.builds(p.GetDevices, st.integers(0, 10**6), st.none() | st.integers(1, 10**6)),
)
OWNER_CODEC = {
    p.IsFriend: (p.build_is_friend, p.parse_is_friend),
    p.IsFriendRule: (p.build_is_friend_rule, p.parse_is_friend_rule),
    p.CanRead: (p.build_can_read, p.parse_can_read),
    p.CanReadRule: (p.build_can_read_rule, p.parse_can_read_rule),
    p.CanControl: (p.build_can_control, p.parse_can_control),
    p.CanControlRule: (p.build_can_control_rule, p.parse_can_control_rule),
    p.ClearCache: (p.build_clear_cache, p.parse_clear_cache),
    p.DeleteRules: (p.build_delete_rules, p.parse_delete_rules),
    p.GetDevices: (p.build_get_devices, p.parse_get_devices),
}


@given(owner_values, st.sampled_from(p.NAMESPACES))
def test_every_owner_element_round_trips_in_every_namespace(value, ns):
    build, parse = OWNER_CODEC[type(value)]
    parsed = parse(ET.fromstring(ET.tostring(build(value, ns=ns))))
    assert parsed == value
    assert parsed.namespace == ns


@given(owner_values)
def test_every_owner_element_validates(nfi_schema, value):
    assert_valid(nfi_schema, OWNER_CODEC[type(value)][0](value))


def test_a_read_rule_as_the_page_describes_it():
    element = ET.fromstring(
        f"<canReadRule xmlns='{p.NS}' jid='lamp@lab' remoteJid='bob@lab' key='k1' result='true'>"
        "<nd id='N1' src='S'/><partial m='true'><f n='Temperature'/></partial><fromDomain/></canReadRule>"
    )
    rule = p.parse_can_read_rule(element)
    assert rule.node == NodeRef("N1", "S")
    assert rule.partial == p.ReadPartial(("Temperature",), Category.MOMENTARY)
    assert rule.origin == p.Origin(p.OriginKind.DOMAIN)


def test_a_token_origin_carries_its_token():
    element = ET.fromstring(
        f"<canControlRule xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k' result='0'>"
        "<partial><p n='Output'/></partial><fromUser token='u1'/></canControlRule>"
    )
    rule = p.parse_can_control_rule(element)
    assert (rule.result, rule.partial, rule.origin) == (False, ("Output",), p.Origin(p.OriginKind.USER, "u1"))


def test_control_question_parameters_are_read_inside_or_outside_partial():
    inside = f"<canControl xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k'><partial><p n='A'/></partial></canControl>"
    outside = f"<canControl xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k'><p n='A'/></canControl>"
    assert p.parse_can_control(ET.fromstring(inside)).parameters == ("A",)
    assert p.parse_can_control(ET.fromstring(outside)).parameters == ("A",)


RULE = f"xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k' result='true'"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (f"<canReadRule xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k' result='true'/>", "exactly one origin"),
        (f"<canReadRule {RULE}><all/><fromJid/></canReadRule>", "it has 2"),
        (f"<canControlRule {RULE}><fromService/></canControlRule>", "token"),
        (f"<canControlRule xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k'><all/></canControlRule>", "result"),
        (f"<canRead xmlns='{p.NS}' jid='a@b' remoteJid='c@d' key='k'><nd id='1'/><nd id='2'/></canRead>", "one <nd>"),
        (f"<getDevices xmlns='{p.NS}' maxCount='0'/>", "positiveInteger"),
        (f"<getDevices xmlns='{p.NS}' offset='-1'/>", "nonNegativeInteger"),
        (f"<clearCache xmlns='{p.NS}' pt='x'/>", "'id'"),
    ],
)
def test_bad_owner_elements_are_refused_with_the_reason(xml, message):
    element = ET.fromstring(xml)
    parser = {
        "canReadRule": p.parse_can_read_rule,
        "canControlRule": p.parse_can_control_rule,
        "canRead": p.parse_can_read,
        "getDevices": p.parse_get_devices,
        "clearCache": p.parse_clear_cache,
    }[element.tag.rsplit("}", 1)[1]]
    with pytest.raises(ProtocolError, match=message):
        parser(element)


def test_older_namespaces_are_read():
    element = ET.fromstring(
        "<isFriendRule xmlns='urn:nf:iot:prov:o:1.0' jid='a@b' remoteJid='c@d' key='k' result='1'/>"
    )
    assert p.parse_is_friend_rule(element).namespace == "urn:nf:iot:prov:o:1.0"


@given(st.lists(st.builds(p.FoundDevice, jids, jids), max_size=5), st.booleans(), st.sampled_from(p.NAMESPACES))
def test_found_devices_round_trip_in_the_matching_discovery_namespace(devices, more, owner_ns):
    ns = p.discovery_namespace(owner_ns)
    assert ns.split(":")[1] == owner_ns.split(":")[1]  # nfi with nfi, nf with nf, ieee with ieee
    page = p.Devices(tuple(devices), more)
    parsed = p.parse_found(ET.fromstring(ET.tostring(p.build_found(page, ns=ns))))
    assert parsed == page


def test_found_validates_against_the_discovery_schema():
    xmlschema = pytest.importorskip("xmlschema")
    path = specs_dir() / "Discovery.xsd"
    if not path.exists():
        pytest.skip(f"{path} not found")
    page = p.Devices((p.FoundDevice("lamp@lab", "alice@lab"),), more=True)
    assert_valid(xmlschema.XMLSchema(str(path)), p.build_found(page))
