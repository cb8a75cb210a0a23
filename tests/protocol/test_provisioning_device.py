"""Decision support (urn:nfi:iot:prov:d:1.0): round trips, schema conformance, every namespace, bad input.

DecisionSupport.md has no XML examples of its own; the hand-written elements
below follow its text and ProvisioningDevice.xsd.
"""

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol import provisioning_device as d
from xiotlab.protocol.values import Category, NodeRef

from .schema import assert_valid
from .strategies import categories, names, nodes

NS = d.NAMESPACES[0]
jids = st.from_regex(r"[a-z][a-z0-9.-]{0,20}@[a-z][a-z0-9.]{0,20}(/[a-z0-9]{1,8})?", fullmatch=True)
tokens = st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)
name_lists = st.lists(names, max_size=5).map(tuple)
node_lists = st.lists(nodes, max_size=3).map(tuple)
namespaces = st.sampled_from(d.NAMESPACES)

can_reads = st.builds(d.CanRead, jids, node_lists, name_lists, categories, tokens, tokens, tokens)
can_read_responses = st.builds(d.CanReadResponse, jids, st.booleans(), node_lists, name_lists, categories)
can_controls = st.builds(d.CanControl, jids, node_lists, name_lists, tokens, tokens, tokens)
can_control_responses = st.builds(d.CanControlResponse, jids, st.booleans(), node_lists, name_lists)

BUILDERS = {
    d.IsFriend: d.build_is_friend,
    d.IsFriendResponse: d.build_is_friend_response,
    d.CanRead: d.build_can_read,
    d.CanReadResponse: d.build_can_read_response,
    d.CanControl: d.build_can_control,
    d.CanControlResponse: d.build_can_control_response,
    d.ClearCache: d.build_clear_cache,
    d.Friend: d.build_friend,
    d.Unfriend: d.build_unfriend,
}

values = st.one_of(
    st.builds(d.IsFriend, jids),
    st.builds(d.IsFriendResponse, jids, st.booleans()),
    can_reads,
    can_read_responses,
    can_controls,
    can_control_responses,
    st.builds(d.ClearCache, st.none() | nodes),
    st.builds(d.Friend, jids),
    st.builds(d.Unfriend, jids),
)


def wire(element: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(element))


@given(values, namespaces)
def test_every_element_round_trips_in_every_namespace(value, ns):
    parsed = d.parse(wire(BUILDERS[type(value)](value, ns=ns)))
    assert parsed == value
    assert parsed.namespace == ns


@given(values)
def test_what_we_build_validates(nfi_schema, value):
    assert_valid(nfi_schema, BUILDERS[type(value)](value))


def test_can_read_as_the_page_describes_it():
    element = ET.fromstring(
        f"<canRead xmlns='{NS}' jid='client@example.org' m='true' s='1' st='svc1 svc2' ut='user'>"
        "<nd id='N1' src='MeteringTopology'/><nd id='N2'/><f n='Temperature'/><f n='Humidity'/></canRead>"
    )
    question = d.parse_can_read(element)
    assert question.jid == "client@example.org"
    assert question.nodes == (NodeRef("N1", "MeteringTopology"), NodeRef("N2"))
    assert question.fields == ("Temperature", "Humidity")
    assert question.categories == Category.MOMENTARY | Category.STATUS
    assert (question.service_token, question.device_token, question.user_token) == ("svc1 svc2", None, "user")


def test_all_means_every_category():
    element = ET.fromstring(f"<canReadResponse xmlns='{NS}' jid='a@b' result='true' all='true'/>")
    assert d.parse_can_read_response(element).categories == Category.ALL


def test_clear_cache_with_and_without_a_node():
    assert d.parse_clear_cache(ET.fromstring(f"<clearCache xmlns='{NS}'/>")).node is None
    element = ET.fromstring(f"<clearCache xmlns='{NS}' id='N1' pt='P'/>")
    assert d.parse_clear_cache(element).node == NodeRef("N1", None, "P")


def test_an_answer_keeps_the_namespace_of_its_question():
    question = d.parse_is_friend(ET.fromstring("<isFriend xmlns='urn:ieee:iot:prov:d:1.0' jid='a@b'/>"))
    answer = d.build_is_friend_response(d.IsFriendResponse(question.jid, True), ns=question.namespace)
    assert answer.tag == "{urn:ieee:iot:prov:d:1.0}isFriendResponse"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (f"<isFriend xmlns='{NS}'/>", "jid"),
        (f"<isFriendResponse xmlns='{NS}' jid='a@b'/>", "result"),
        (f"<isFriendResponse xmlns='{NS}' jid='a@b' result='maybe'/>", "boolean"),
        (f"<canControl xmlns='{NS}' jid='a@b'><p/></canControl>", "'n'"),
        (f"<canRead xmlns='{NS}' jid='a@b'><nd src='S'/></canRead>", "'id'"),
        (f"<clearCache xmlns='{NS}' src='S'/>", "'id'"),
        ("<isFriend xmlns='urn:other' jid='a@b'/>", "urn:nfi:iot:prov:d:1.0"),
        (f"<friend xmlns='{NS}' jid='{'x' * 2000}'/>", "characters long"),
    ],
)
def test_bad_elements_are_refused_with_the_reason(xml, message):
    with pytest.raises(ProtocolError, match=message):
        d.parse(ET.fromstring(xml))


def test_too_many_fields_are_refused():
    fields = "".join(f"<f n='f{i}'/>" for i in range(d.MAX_ITEMS + 1))
    with pytest.raises(ProtocolError, match="at most"):
        d.parse_can_read(ET.fromstring(f"<canRead xmlns='{NS}' jid='a@b'>{fields}</canRead>"))


def test_builders_refuse_foreign_namespaces_and_single_strings():
    with pytest.raises(ProtocolError, match="decision support"):
        d.build_is_friend(d.IsFriend("a@b"), ns="urn:other")
    with pytest.raises(TypeError, match="wrap it"):
        d.CanControl("a@b", parameters="Output")  # type: ignore[arg-type]
