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
