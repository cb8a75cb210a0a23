"""Concentrators (urn:nfi:iot:concentrator:1.0): round trips, schema conformance, every namespace, bad input.

Concentrator.md has no XML examples of its own; the elements of
``PAGE_ELEMENTS`` are written from its tables (every attribute each table
lists) and must both parse and validate. Validation uses Concentrator.xsd as
repaired in memory by ``schema.repair_concentrator_xsd``.
"""

import datetime as dt
import functools
import operator
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol import concentrator as c
from xiotlab.protocol import dataforms
from xiotlab.protocol.elements import MAX_NAME_LENGTH
from xiotlab.protocol.values import UTC, Duration, NodeRef

from .limits import assert_attribute_limit
from .schema import assert_valid, concentrator_schema, repair_concentrator_xsd, specs_dir
from .strategies import aware_datetimes, durations, names, nodes, text, times

NS = c.NAMESPACES[0]
namespaces = st.sampled_from(c.NAMESPACES)
tokens = st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)
optional_names = st.none() | names
node_lists = st.lists(nodes, max_size=3).map(tuple)
T0 = dt.datetime(2024, 8, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def schema(tmp_path_factory):
    return concentrator_schema(tmp_path_factory)


def wire(element: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(element))


# --- strategies ---------------------------------------------------------------------------------

P = c.ParameterType
_parameter_values = {
    P.BOOLEAN: st.booleans(),
    P.COLOR: st.from_regex(r"[0-9a-fA-F]{6}", fullmatch=True),
    P.DATETIME: aware_datetimes,
    P.DOUBLE: st.floats(allow_nan=False),
    P.DURATION: durations,
    P.INT: st.integers(-(2**31), 2**31 - 1),
    P.LONG: st.integers(-(2**63), 2**63 - 1),
    P.STRING: text,
    P.TIME: times,
}
parameters = st.sampled_from(list(P)).flatmap(
    lambda ptype: st.builds(c.NodeParameter, names, text, _parameter_values[ptype], st.just(ptype))
)
messages = st.builds(c.NodeMessage, text, aware_datetimes, st.sampled_from(list(c.MessageType)), optional_names)
node_infos = st.builds(
    c.NodeInfo,
    names,
    st.none() | text,
    st.none() | text,
    display_name=st.none() | text,
    node_type=optional_names,
    state=st.sampled_from(list(c.NodeState)),
    has_children=st.booleans(),
    children_ordered=st.booleans(),
    is_readable=st.booleans(),
    is_controllable=st.booleans(),
    has_commands=st.booleans(),
    sniffable=st.booleans(),
    parent_id=optional_names,
    parent_partition=st.none() | text,
    last_changed=st.none() | aware_datetimes,
    local_id=optional_names,
    log_id=optional_names,
    parameters=st.lists(parameters, max_size=3).map(tuple),
    messages=st.lists(messages, max_size=2).map(tuple),
)
data_sources = st.builds(c.DataSource, names, text, st.booleans(), st.none() | aware_datetimes)
commands = st.builds(
    c.NodeCommand,
    names,
    text,
    st.sampled_from(list(c.CommandType)),
    optional_names,
    optional_names,
    st.none() | text,
    st.none() | text,
    st.none() | text,
)
forms = st.none() | st.builds(
    dataforms.DataForm,
    type=st.just("submit"),
    fields=st.lists(
        st.builds(dataforms.Field, var=names, values=st.lists(names, max_size=2).map(tuple)), max_size=3
    ).map(tuple),
)
event_types = st.sets(st.sampled_from([f for f in c.NodeEvents if f is not c.NodeEvents.ALL])).map(
    lambda flags: functools.reduce(operator.or_, flags, c.NodeEvents(0))
)


def _request(cls, *args, **kwargs):
    return st.builds(cls, *args, service_token=tokens, device_token=tokens, user_token=tokens, **kwargs)


b = st.booleans()
requests = st.one_of(
    _request(c.GetCapabilities),
    _request(c.GetAllDataSources),
    _request(c.GetRootDataSources),
    _request(c.GetChildDataSources, text),
    _request(c.ContainsNode, nodes),
    _request(c.ContainsNodes, node_lists),
    _request(c.GetNode, nodes, b, b),
    _request(c.GetNodes, node_lists, b, b),
    _request(c.GetAllNodes, text, st.lists(names, max_size=3).map(tuple), b, b),
    _request(c.GetRootNodes, text, b, b),
    _request(c.GetChildNodes, nodes, b, b),
    _request(c.GetAncestors, nodes, b, b),
    _request(c.GetNodeCommands, nodes),
    _request(c.GetCommandParameters, nodes, names),
    _request(c.ExecuteNodeCommand, nodes, names, forms),
    _request(c.Subscribe, text, st.integers(1, 2**63 - 1), st.none() | aware_datetimes, b, b, event_types),
    _request(c.Unsubscribe, text, event_types),
)
events = st.one_of(
    st.builds(c.NodeAdded, node_infos, aware_datetimes, optional_names, optional_names),
    st.builds(c.NodeUpdated, node_infos, aware_datetimes, optional_names),
    st.builds(
        c.NodeStatusChanged,
        nodes,
        st.sampled_from(list(c.NodeState)),
        aware_datetimes,
        optional_names,
        optional_names,
        st.lists(messages, max_size=2).map(tuple),
    ),
    *(
        st.builds(cls, nodes, aware_datetimes, optional_names, optional_names)
        for cls in (c.NodeRemoved, c.NodeMovedUp, c.NodeMovedDown)
    ),
)
ANSWERS = {
    "strings": (st.lists(names, max_size=5), c.build_strings, c.parse_strings),
    "dataSources": (st.lists(data_sources, max_size=3), c.build_data_sources, c.parse_data_sources),
    "bool": (st.booleans(), c.build_bool, c.parse_bool),
    "bools": (st.lists(st.booleans(), max_size=5), c.build_bools, c.parse_bools),
    "nodeInfo": (node_infos, c.build_node_info, c.parse_node_info),
    "nodeInfos": (st.lists(node_infos, max_size=3), c.build_node_infos, c.parse_node_infos),
    "commands": (st.lists(commands, max_size=3), c.build_commands, c.parse_commands),
}
answers = st.sampled_from(sorted(ANSWERS)).flatmap(lambda name: st.tuples(st.just(name), ANSWERS[name][0]))


def _as_read(value):
    return tuple(value) if isinstance(value, list) else value


# --- round trips and the schema ---------------------------------------------------------------------


@given(requests, namespaces)
def test_every_request_round_trips_in_every_namespace(request, ns):
    parsed = c.parse(wire(c.build_request(request, ns=ns)))
    assert parsed == request
    assert type(parsed) is type(request)
    assert parsed.namespace == ns


@given(events, namespaces)
def test_every_event_round_trips_in_every_namespace(event, ns):
    parsed = c.parse(wire(c.build_event(event, ns=ns)))
    assert parsed == event
    assert parsed.namespace == ns


@given(answers, namespaces)
def test_every_answer_round_trips_in_every_namespace(answer, ns):
    name, value = answer
    _, build, parse = ANSWERS[name]
    element = wire(build(value, ns=ns))
    assert element.tag == f"{{{ns}}}{name}"
    assert parse(element) == _as_read(value)


@given(requests)
def test_requests_validate(schema, request):
    assert_valid(schema, c.build_request(request))


@given(events)
def test_events_validate(schema, event):
    assert_valid(schema, c.build_event(event))


@given(answers)
def test_answers_validate(schema, answer):
    name, value = answer
    assert_valid(schema, ANSWERS[name][1](value))


def test_the_schema_check_can_fail(schema):
    # A node info without its required state, and a command of an unknown type: both refused.
    with pytest.raises(AssertionError, match="state"):
        assert_valid(schema, ET.fromstring(f"<nodeInfo xmlns='{NS}' id='n' hasChildren='false'/>"))
    with pytest.raises(AssertionError, match="Parametrized"):
        assert_valid(
            schema,
            ET.fromstring(f"<commands xmlns='{NS}'><command command='c' name='C' type='Parametrized'/></commands>"),
        )


def test_the_published_schema_has_the_faults_we_repair():
    path = specs_dir() / "Concentrator.xsd"
    if not path.exists():
        pytest.skip("specifications not beside the repository")
    published = path.read_text(encoding="utf-8-sig")
    repaired = repair_concentrator_xsd(published)  # asserts each fault is there
    assert "<xs:attribute ref=" in published and "<xs:attribute ref=" not in repaired


# --- the page's tables ---------------------------------------------------------------------------

PAGE_ELEMENTS = [
    (
        f"<getCapabilities xmlns='{NS}' dt='d1 d2' st='s1' ut='u1'/>",
        c.GetCapabilities(device_token="d1 d2", service_token="s1", user_token="u1"),
    ),
    (f"<getAllDataSources xmlns='{NS}'/>", c.GetAllDataSources()),
    (f"<getRootDataSources xmlns='{NS}'/>", c.GetRootDataSources()),
    (f"<getChildDataSources xmlns='{NS}' src='MeteringTopology'/>", c.GetChildDataSources("MeteringTopology")),
    (
        f"<containsNode xmlns='{NS}' id='N1' src='MeteringTopology' pt='P1'/>",
        c.ContainsNode(NodeRef("N1", "MeteringTopology", "P1")),
    ),
    (
        f"<containsNodes xmlns='{NS}'><nd id='N1'/><nd id='N2' src='S'/></containsNodes>",
        c.ContainsNodes((NodeRef("N1"), NodeRef("N2", "S"))),
    ),
    (
        f"<getNode xmlns='{NS}' id='N1' src='S' parameters='true' messages='true'/>",
        c.GetNode(NodeRef("N1", "S"), True, True),
    ),
    (
        f"<getNodes xmlns='{NS}' parameters='true'><nd id='N1'/></getNodes>",
        c.GetNodes((NodeRef("N1"),), parameters=True),
    ),
    (
        f"<getAllNodes xmlns='{NS}' src='S'><onlyIfDerivedFrom>Mqtt.TopicNode</onlyIfDerivedFrom></getAllNodes>",
        c.GetAllNodes("S", ("Mqtt.TopicNode",)),
    ),
    (f"<getRootNodes xmlns='{NS}' src='S' messages='1'/>", c.GetRootNodes("S", messages=True)),
    (f"<getChildNodes xmlns='{NS}' id='N1' src='S'/>", c.GetChildNodes(NodeRef("N1", "S"))),
    (f"<getAncestors xmlns='{NS}' id='N1'/>", c.GetAncestors(NodeRef("N1"))),
    (f"<getNodeCommands xmlns='{NS}' id='N1'/>", c.GetNodeCommands(NodeRef("N1"))),
    (f"<getCommandParameters xmlns='{NS}' id='N1' command='Reset'/>", c.GetCommandParameters(NodeRef("N1"), "Reset")),
    (
        (
            f"<executeNodeCommand xmlns='{NS}' id='N1' command='Publish'><x xmlns='jabber:x:data' type='submit'>"
            "<field var='Value'><value>21.5</value></field></x></executeNodeCommand>"
        ),
        c.ExecuteNodeCommand(
            NodeRef("N1"), "Publish", dataforms.DataForm("submit", fields=(dataforms.Field("Value", values=("21.5",)),))
        ),
    ),
    (
        (
            f"<subscribe xmlns='{NS}' src='S' ttl='600' getEventsSince='2024-08-06T12:00:00Z' parameters='true' "
            "nodeMovedUp='false' nodeMovedDown='false'/>"
        ),
        c.Subscribe(
            "S",
            600,
            T0,
            parameters=True,
            events=c.NodeEvents.ALL & ~(c.NodeEvents.NODE_MOVED_UP | c.NodeEvents.NODE_MOVED_DOWN),
        ),
    ),
    (
        f"<unsubscribe xmlns='{NS}' src='S' nodeAdded='false'/>",
        c.Unsubscribe("S", c.NodeEvents.ALL & ~c.NodeEvents.NODE_ADDED),
    ),
    (
        (
            f"<nodeStatusChanged xmlns='{NS}' id='N1' src='S' localId='L' logId='G' state='WarningUnsigned' "
            "ts='2024-08-06T12:00:00Z'><message timestamp='2024-08-06T12:00:00Z' type='Warning' eventId='E1'>"
            "Battery low</message></nodeStatusChanged>"
        ),
        c.NodeStatusChanged(
            NodeRef("N1", "S"),
            c.NodeState.WARNING_UNSIGNED,
            T0,
            "L",
            "G",
            (c.NodeMessage("Battery low", T0, c.MessageType.WARNING, "E1"),),
        ),
    ),
    (
        f"<nodeRemoved xmlns='{NS}' id='N1' src='S' ts='2024-08-06T14:00:00+02:00'/>",
        c.NodeRemoved(NodeRef("N1", "S"), T0),
    ),
    (f"<nodeMovedDown xmlns='{NS}' id='N1' ts='2024-08-06T12:00:00Z'/>", c.NodeMovedDown(NodeRef("N1"), T0)),
]


@pytest.mark.parametrize(("xml", "expected"), PAGE_ELEMENTS, ids=lambda v: getattr(v, "ELEMENT", None) or "")
def test_the_page_tables_parse_and_validate(schema, xml, expected):
    element = ET.fromstring(xml)
    assert c.parse(element) == expected
    assert_valid(schema, element)


NODE_INFO = (
    f"<nodeInfo xmlns='{NS}' id='N1' src='S' pt='P' localId='L' logId='G' displayName='Node 1' nodeType='T' "
    "state='ErrorSigned' hasChildren='true' childrenOrdered='true' isReadable='true' isControllable='true' "
    "hasCommands='true' sniffable='true' parentId='Root' parentPartition='P0' lastChanged='2024-08-06T12:00:00Z'>"
    "<boolean id='b' name='B' value='true'/><color id='c' name='C' value='3399FF'/>"
    "<dateTime id='d' name='D' value='2024-08-06T12:00:00Z'/><double id='x' name='X' value='-1.5E3'/>"
    "<duration id='du' name='DU' value='PT1M30S'/><int id='i' name='I' value='-7'/>"
    "<long id='l' name='L' value='9000000000'/>"
    "<string id='s' name='S' value='text'/><time id='t' name='T' value='15:22:33'/>"
    "<message timestamp='2024-08-06T12:00:00Z' type='Error'>Lost</message></nodeInfo>"
)


def test_a_node_info_with_every_attribute_and_parameter_type(schema):
    element = ET.fromstring(NODE_INFO)
    assert_valid(schema, element)
    info = c.parse_node_info(element)
    assert info.node == NodeRef("N1", "S", "P")
    assert info.parent == NodeRef("Root", "S", "P0")
    assert (info.state, info.has_children, info.sniffable, info.last_changed) == (
        c.NodeState.ERROR_SIGNED,
        True,
        True,
        T0,
    )
    assert [(p.type, p.value) for p in info.parameters] == [
        (P.BOOLEAN, True),
        (P.COLOR, "3399FF"),
        (P.DATETIME, T0),
        (P.DOUBLE, -1500.0),
        (P.DURATION, Duration(minutes=1, seconds=30)),
        (P.INT, -7),
        (P.LONG, 9_000_000_000),
        (P.STRING, "text"),
        (P.TIME, dt.time(15, 22, 33)),
    ]
    assert info.messages == (c.NodeMessage("Lost", T0, c.MessageType.ERROR),)
    assert c.parse_node_info(wire(c.build_node_info(info))) == info


def test_node_added_carries_node_info_and_its_place(schema):
    info = c.parse_node_info(ET.fromstring(NODE_INFO))
    event = c.NodeAdded(info, T0, after_id="N0", after_partition="P")
    element = c.build_event(event)
    assert (element.get("aid"), element.get("apt"), element.get("ts")) == ("N0", "P", "2024-08-06T12:00:00Z")
    assert_valid(schema, element)
    assert c.parse_event(wire(element)) == event


def test_get_all_nodes_without_src_reads_the_empty_source_and_is_built_with_one():
    # The page makes src optional, the schema requires it: read both, write the schema's.
    request = c.parse(ET.fromstring(f"<getAllNodes xmlns='{NS}'/>"))
    assert request == c.GetAllNodes("")
    assert c.build_request(request).get("src") == ""
    assert c.parse(ET.fromstring(f"<getRootNodes xmlns='{NS}'/>")) == c.GetRootNodes()


def test_an_answer_keeps_the_namespace_of_its_request():
    request = c.parse_request(ET.fromstring("<getNode xmlns='urn:ieee:iot:concentrator:1.0' id='N1'/>"))
    assert request.ANSWER == "nodeInfo"
    answer = c.build_node_info(c.NodeInfo("N1"), ns=request.namespace)
    assert answer.tag == "{urn:ieee:iot:concentrator:1.0}nodeInfo"


def test_every_request_names_its_answer_and_capabilities_list_the_operations():
    assert set(c.MODELLED_OPERATIONS) <= set(c.OPERATIONS)
    assert {cls.ANSWER for cls in c.REQUESTS.values()} == {
        "strings", "dataSources", "bool", "bools", "nodeInfo", "nodeInfos", "commands", "x", None,
    }  # fmt: skip
    assert c.parse_strings(c.build_strings(c.MODELLED_OPERATIONS)) == c.MODELLED_OPERATIONS


def test_event_flags_match_the_subscription_attributes():
    for cls in (c.NodeAdded, c.NodeUpdated, c.NodeStatusChanged, c.NodeRemoved, c.NodeMovedUp, c.NodeMovedDown):
        assert c.EVENT_ATTRIBUTES[cls.FLAG] == cls.ELEMENT


def test_unknown_children_are_skipped():
    element = ET.fromstring(f"<getNodes xmlns='{NS}'><nd id='a'/><x:extra xmlns:x='urn:other'/><nd id='b'/></getNodes>")
    assert c.parse(element) == c.GetNodes((NodeRef("a"), NodeRef("b")))


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (f"<getChildDataSources xmlns='{NS}'/>", "'src'"),
        (f"<getNode xmlns='{NS}' src='S'/>", "'id'"),
        (f"<getNode xmlns='{NS}' id='N' parameters='yes'/>", "boolean"),
        (f"<getCommandParameters xmlns='{NS}' id='N'/>", "'command'"),
        (f"<subscribe xmlns='{NS}' src='S'/>", "'ttl'"),
        (f"<subscribe xmlns='{NS}' src='S' ttl='0'/>", "at least 1 second"),
        (f"<subscribe xmlns='{NS}' src='S' ttl='soon'/>", "xs:long"),
        (f"<subscribe xmlns='{NS}' src='S' ttl='60' nodeAdded='maybe'/>", "nodeAdded"),
        (f"<nodeRemoved xmlns='{NS}' id='N'/>", "'ts'"),
        (f"<nodeStatusChanged xmlns='{NS}' id='N' state='Broken' ts='2024-08-06T12:00:00Z'/>", "ErrorUnsigned"),
        (f"<nodeStatusChanged xmlns='{NS}' id='N' ts='2024-08-06T12:00:00Z'/>", "'state'"),
        (f"<nodeAdded xmlns='{NS}' id='N' state='None' ts='2024-08-06T12:00:00Z'/>", "'hasChildren'"),
        (f"<getNodes xmlns='{NS}'><nd src='S'/></getNodes>", "'id'"),
        (
            (
                f"<executeNodeCommand xmlns='{NS}' id='N' command='C'><x xmlns='jabber:x:data' type='odd'/>"
                "</executeNodeCommand>"
            ),
            "odd",
        ),
        (f"<getNode xmlns='{NS}' id='{'x' * (MAX_NAME_LENGTH + 1)}'/>", "characters long"),
        ("<getNode xmlns='urn:other' id='N'/>", "urn:nfi:iot:concentrator:1.0"),
        (f"<destroyNode xmlns='{NS}' id='N'/>", "getCapabilities"),
    ],
)
def test_bad_requests_and_events_are_refused_with_the_reason(xml, message):
    with pytest.raises(ProtocolError, match=message):
        c.parse(ET.fromstring(xml))


INFO = f"<nodeInfo xmlns='{NS}' id='N' state='None' hasChildren='false'>"


@pytest.mark.parametrize(
    ("parse", "xml", "message"),
    [
        (c.parse_node_info, f"{INFO}<int id='i' name='I' value='3000000000'/></nodeInfo>", "xs:int"),
        (c.parse_node_info, f"{INFO}<color id='c' name='C' value='red'/></nodeInfo>", "RRGGBB"),
        (c.parse_node_info, f"{INFO}<message type='Error'>x</message></nodeInfo>", "'timestamp'"),
        (c.parse_commands, f"<commands xmlns='{NS}'><command command='c' name='C' type='Parametrized'/></commands>",
         "Parameterized"),
        (c.parse_data_sources, f"<dataSources xmlns='{NS}'><dataSource src='S'/></dataSources>", "'name'"),
        (c.parse_bool, f"<bool xmlns='{NS}'>perhaps</bool>", "xs:boolean"),
        (c.parse_bools, f"<bool xmlns='{NS}'>true</bool>", "bools"),
    ],
)  # fmt: skip
def test_bad_answers_are_refused_with_the_reason(parse, xml, message):
    with pytest.raises(ProtocolError, match=message):
        parse(ET.fromstring(xml))


def test_counts_are_bounded():
    nds = "".join(f"<nd id='n{i}'/>" for i in range(c.MAX_NODES + 1))
    with pytest.raises(ProtocolError, match=f"at most {c.MAX_NODES} node references"):
        c.parse(ET.fromstring(f"<containsNodes xmlns='{NS}'>{nds}</containsNodes>"))
    infos = "<nodeInfo id='n' state='None' hasChildren='false'/>" * (c.MAX_ITEMS + 1)
    with pytest.raises(ProtocolError, match=f"at most {c.MAX_ITEMS} node infos"):
        c.parse_node_infos(ET.fromstring(f"<nodeInfos xmlns='{NS}'>{infos}</nodeInfos>"))
    params = "<string id='s' name='S' value='v'/>" * (c.MAX_DETAILS + 1)
    with pytest.raises(ProtocolError, match=f"at most {c.MAX_DETAILS} parameters"):
        c.parse_node_info(
            ET.fromstring(f"<nodeInfo xmlns='{NS}' id='n' state='None' hasChildren='false'>{params}</nodeInfo>")
        )


@pytest.mark.parametrize(
    "template",
    [
        f"<getNode xmlns='{NS}' id='{{x}}'/>",
        f"<getNode xmlns='{NS}' id='N' pt='{{x}}'/>",
        f"<getChildDataSources xmlns='{NS}' src='{{x}}'/>",
        f"<executeNodeCommand xmlns='{NS}' id='N' command='{{x}}'/>",
        f"<nodeRemoved xmlns='{NS}' id='N' localId='{{x}}' ts='2024-08-06T12:00:00Z'/>",
        f"<nodeUpdated xmlns='{NS}' id='N' state='None' hasChildren='false' oid='{{x}}' ts='2024-08-06T12:00:00Z'/>",
    ],
)
def test_identifiers_are_bounded(template):
    assert_attribute_limit(c.parse, template, MAX_NAME_LENGTH)


def test_builders_refuse_what_the_protocol_cannot_carry():
    with pytest.raises(ProtocolError, match="concentrator namespace"):
        c.build_request(c.GetCapabilities(), ns="urn:other")
    with pytest.raises(TypeError, match="wrap it"):
        c.GetNodes(NodeRef("a"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wrap it"):
        c.GetAllNodes("S", "SomeType")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        c.Subscribe("S", 0)
    with pytest.raises(TypeError, match="abstract"):
        c.Request()
    with pytest.raises(ValueError, match="RRGGBB"):
        c.NodeParameter("c", "C", "red", c.ParameterType.COLOR)
    with pytest.raises(ValueError, match="xs:int"):
        c.NodeParameter("i", "I", 2**40, c.ParameterType.INT)
    with pytest.raises(ValueError, match="NodeState"):
        c.NodeInfo("n", state="Fine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="U\\+0001"):
        c.NodeInfo("n", display_name="\x01")


def test_parameter_types_are_inferred():
    values = (True, 1, 2**40, 1.5, "s", T0, dt.time(1), Duration(days=1))
    assert [c.NodeParameter("p", "P", v).type for v in values] == [
        P.BOOLEAN, P.INT, P.LONG, P.DOUBLE, P.STRING, P.DATETIME, P.TIME, P.DURATION,
    ]  # fmt: skip
    assert c.NodeParameter("p", "P", dt.timedelta(seconds=90)).value == Duration(minutes=1, seconds=30)
