"""Sensor data request/response, urn:nfi:iot:sd:1.0 and its aliases."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol import sensordata as sd
from xiotlab.protocol.elements import MAX_NAME_LENGTH, MAX_TOKEN_LENGTH
from xiotlab.protocol.namespaces import SENSOR_DATA
from xiotlab.protocol.values import UTC, Category, Field, NodeRef, QoS, ReadoutError, ValueType

from . import strategies as S
from .limits import assert_attribute_limit
from .schema import assert_valid

NS = SENSOR_DATA
STAMP = dt.datetime(2017, 9, 22, 15, 22, 33, tzinfo=UTC)
any_namespace = st.sampled_from(sd.NAMESPACES)


def wire(element: ET.Element) -> ET.Element:
    """Through the serializer and back, as a peer would receive it."""
    return ET.fromstring(ET.tostring(element, encoding="unicode"))


def without_loc(element: ET.Element) -> ET.Element:
    """A copy without ``loc`` attributes.

    The official schema anchors its Localization pattern with ``^...$``, which
    XML Schema reads as literal characters, so it rejects every real ``loc``
    value (see test_official_localization_pattern_is_broken).
    """
    element = copy.deepcopy(element)
    for node in element.iter():
        node.attrib.pop("loc", None)
    return element


def grouped(items):
    """The order build_data writes items in: by node, then timestamp, first appearance first."""
    groups: dict = {}
    for item in items:
        groups.setdefault(item.node, {}).setdefault(item.timestamp, []).append(item)
    return [i for stamps in groups.values() for group in stamps.values() for i in group]


def assert_same_fields(parsed, original):
    assert len(parsed) == len(original)
    for got, sent in zip(parsed, original, strict=True):
        expected = S.expected_after_round_trip(sent, got.decimals)
        assert S.same_field(got, expected), (got, expected)


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("vtype", list(ValueType))
@given(data=st.data())
def test_every_value_type_round_trips_through_build_and_parse(vtype, data):
    field = data.draw(S.fields(vtype, node=st.none() | S.nodes))
    ns = data.draw(any_namespace)
    element = wire(sd.build_field(field, ns=ns))
    assert element.tag == f"{{{ns}}}{sd.ELEMENTS[vtype]}"
    parsed = sd.parse_field(element, timestamp=field.timestamp, node=field.node)
    assert_same_fields([parsed], [field])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(S.fields(node=st.none()), max_size=8), st.lists(S.errors, max_size=3), st.booleans(), any_namespace)
def test_responses_round_trip(fields, errors, more, ns):
    element = wire(sd.build_response("r-1", fields, errors, more=more, ns=ns))
    response = sd.parse_response(element)
    assert (response.id, response.more, response.namespace) == ("r-1", more, ns)
    written = grouped([*fields, *errors])
    assert_same_fields(response.fields, [i for i in written if isinstance(i, Field)])
    assert response.errors == tuple(i for i in written if isinstance(i, ReadoutError))


@given(st.lists(S.fields(node=S.nodes), min_size=1, max_size=8))
def test_concentrator_responses_keep_each_field_with_its_node(fields):
    element = wire(sd.build_response("r", fields))
    assert {child.tag for child in element} == {f"{{{NS}}}nd"}
    assert_same_fields(sd.parse_response(element).fields, grouped(fields))


requests = st.builds(
    sd.ReadoutRequest,
    id=S.names,
    categories=S.categories,
    fields=st.lists(S.names, max_size=5).map(tuple),
    nodes=st.lists(S.nodes, max_size=3).map(tuple),
    from_time=st.none() | S.utc_datetimes,
    to_time=st.none() | S.utc_datetimes,
    when=st.none() | S.utc_datetimes,
    service_token=st.none() | S.text,
    device_token=st.none() | S.text,
    user_token=st.none() | S.text,
)


@given(requests, any_namespace)
def test_requests_round_trip_and_report_their_namespace(request, ns):
    parsed = sd.parse_request(wire(sd.build_request(request, ns=ns)))
    assert parsed == request
    assert parsed.namespace == ns


@pytest.mark.parametrize("ns", sd.NAMESPACES)
@pytest.mark.parametrize(
    "build, parse, expected",
    [
        (lambda ns: sd.build_accepted("7", queued=True, ns=ns), sd.parse_accepted, sd.Accepted("7", True)),
        (lambda ns: sd.build_accepted("7", ns=ns), sd.parse_accepted, sd.Accepted("7", False)),
        (lambda ns: sd.build_started("7", ns=ns), sd.parse_started, sd.Started("7")),
        (lambda ns: sd.build_done("7", ns=ns), sd.parse_done, sd.Done("7")),
        (lambda ns: sd.build_cancel("7", ns=ns), sd.parse_cancel, sd.Cancel("7")),
    ],
)
def test_acknowledgements_round_trip_in_every_namespace(ns, build, parse, expected):
    element = wire(build(ns))
    for reader in (parse, sd.parse):
        parsed = reader(element)
        assert parsed == expected
        assert parsed.namespace == ns


def test_a_thing_answers_in_the_namespace_it_was_asked_in():
    request = sd.parse_request(ET.fromstring("<req xmlns='urn:ieee:iot:sd:1.0' id='9' m='true'/>"))
    answer = sd.build_response(request.id, [Field("T", 1.0, timestamp=STAMP)], ns=request.namespace)
    assert answer.tag == "{urn:ieee:iot:sd:1.0}resp"
    assert answer[0].tag == "{urn:ieee:iot:sd:1.0}ts"


# --- conformance with the official schema ---------------------------------------------------------


@pytest.mark.parametrize("vtype", list(ValueType))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_field_type_validates(nfi_schema, vtype, data):
    field = data.draw(S.fields(vtype))
    assert_valid(nfi_schema, without_loc(sd.build_response("1", [field])))


@settings(max_examples=25, deadline=None)
@given(st.lists(S.fields(node=S.nodes), max_size=5), st.lists(S.errors, max_size=2))
def test_concentrator_responses_validate(nfi_schema, fields, errors):
    node = NodeRef("n")
    errors = [dataclasses.replace(e, node=node) for e in errors]
    assert_valid(nfi_schema, without_loc(sd.build_response("1", fields, errors, more=True)))


@settings(max_examples=25, deadline=None)
@given(requests)
def test_requests_validate(nfi_schema, request):
    assert_valid(nfi_schema, sd.build_request(request))


def test_acknowledgements_validate(nfi_schema):
    for element in (
        sd.build_accepted("1"),
        sd.build_accepted("1", queued=True),
        sd.build_started("1"),
        sd.build_done("1"),
        sd.build_cancel("1"),
        sd.build_response("1"),
        sd.build_response("1", errors=[ReadoutError("timeout", STAMP)]),
    ):
        assert_valid(nfi_schema, element)


def test_data_elements_validate_on_their_own(nfi_schema):
    # What the specification publishes over PEP: bare <ts> or <nd> elements.
    plain = sd.build_data([Field("T", 1.0, timestamp=STAMP)])
    nodes = sd.build_data([Field("T", 1.0, timestamp=STAMP, node=NodeRef("N", "S", "P"))])
    for element in plain + nodes:
        assert_valid(nfi_schema, element)


def test_official_localization_pattern_is_broken(nfi_schema):
    # Documents why conformance tests strip loc: if the schema is fixed, this fails and they can stop.
    field = Field("T", 1.0, timestamp=STAMP, localization="1")
    errors = list(nfi_schema.iter_errors(sd.build_response("1", [field])))
    assert errors


# --- examples from the specification pages -----------------------------------------------------------

SPEC_TS = """<ts v="2017-09-22T15:22:33Z" xmlns="urn:nfi:iot:sd:1.0">
  <q n="Temperature" v="12.3" u="°C" m="true" ar="true"/>
  <s n="SN" v="12345678" i="true" ar="true"/>
</ts>"""

SPEC_ND = """<nd id="Node1" xmlns="urn:nfi:iot:sd:1.0">
  <ts v="2017-09-22T15:22:33Z">
    <q n="Temperature" v="12.3" u="°C" m="true" ar="true"/>
    <s n="SN" v="12345678" i="true" ar="true"/>
  </ts>
</nd>"""

SPEC_REQ = """<iq type='get' from='client@example.org/1234' to='device@example.org/abcd' id='R0001'>
  <req xmlns="urn:nfi:iot:sd:1.0" id="00000001" all="true"/>
</iq>"""

SPEC_RESP = """<iq type='result' from='device@example.org/abcd' to='client@example.org/1234' id='R0001'>
  <resp xmlns="urn:nfi:iot:sd:1.0" id="00000001">
    <ts v="2017-09-22T15:22:33Z">
      <q n="Temperature" v="12.3" u="°C" m="true" ar="true"/>
      <s n="SN" v="12345678" i="true" ar="true"/>
    </ts>
  </resp>
</iq>"""

EXPECTED_SPEC_FIELDS = [
    Field(
        "Temperature",
        12.3,
        unit="°C",
        decimals=1,
        timestamp=STAMP,
        categories=Category.MOMENTARY,
        qos=QoS.AUTOMATIC_READOUT,
    ),
    Field("SN", "12345678", timestamp=STAMP, categories=Category.IDENTITY, qos=QoS.AUTOMATIC_READOUT),
]


def test_spec_sensor_data_examples():
    fields, errors = sd.parse_data(ET.fromstring(SPEC_TS))
    assert (fields, errors) == (EXPECTED_SPEC_FIELDS, [])
    fields, _ = sd.parse_data(ET.fromstring(SPEC_ND))
    assert fields == [dataclasses.replace(f, node=NodeRef("Node1")) for f in EXPECTED_SPEC_FIELDS]


def test_spec_simple_readout_example():
    request = sd.parse(ET.fromstring(SPEC_REQ)[0])
    assert request == sd.ReadoutRequest("00000001", Category.ALL)
    response = sd.parse(ET.fromstring(SPEC_RESP)[0])
    assert response == sd.ReadoutResponse("00000001", tuple(EXPECTED_SPEC_FIELDS), more=False)
    assert response.done


def test_what_we_build_for_the_spec_example_is_what_the_spec_shows():
    built = sd.build_response("00000001", EXPECTED_SPEC_FIELDS)
    spec = ET.fromstring(SPEC_RESP)[0]
    assert ET.tostring(built) == ET.tostring(wire(_strip_whitespace(spec)))


def _strip_whitespace(element):
    for node in element.iter():
        node.text = node.text.strip() or None if node.text else None
        node.tail = None
    return element


# --- what the request means ----------------------------------------------------------------------------


def test_includes_filters_by_name_time_node_and_category():
    request = sd.ReadoutRequest(
        "1", Category.MOMENTARY, fields=("T",), from_time=STAMP, to_time=STAMP + dt.timedelta(hours=1)
    )
    field = Field("T", 1.0, timestamp=STAMP, categories=Category.MOMENTARY)
    assert request.includes(field)
    assert not request.includes(dataclasses.replace(field, name="U"))
    assert not request.includes(dataclasses.replace(field, timestamp=STAMP - dt.timedelta(seconds=1)))
    assert not request.includes(dataclasses.replace(field, timestamp=STAMP + dt.timedelta(hours=2)))
    assert not request.includes(dataclasses.replace(field, categories=Category.IDENTITY))
    assert request.includes(dataclasses.replace(field, categories=Category(0)))
    assert request.includes(dataclasses.replace(field, categories=Category.MOMENTARY | Category.PEAK))
    by_node = sd.ReadoutRequest("1", nodes=(NodeRef("A"),))
    assert by_node.includes(dataclasses.replace(field, node=NodeRef("A")))
    assert not by_node.includes(dataclasses.replace(field, node=NodeRef("B")))
    assert sd.ReadoutRequest("1", Category(0)).includes(dataclasses.replace(field, categories=Category.PEAK))


def test_request_categories_on_the_wire():
    assert sd.build_request(sd.ReadoutRequest("1")).attrib == {"id": "1", "all": "true"}
    some = sd.build_request(sd.ReadoutRequest("1", Category.MOMENTARY | Category.HISTORICAL))
    assert some.attrib == {"id": "1", "m": "true", "h": "true"}
    assert sd.parse_request(some).categories == Category.MOMENTARY | Category.HISTORICAL


def test_iotgateway_all_attribute_on_fields_reads_as_every_category():
    element = ET.fromstring(f"<q xmlns='{NS}' n='T' v='1' all='true'/>")
    assert sd.parse_field(element, timestamp=STAMP).categories == Category.ALL


def test_fields_and_errors_of_one_timestamp_share_a_ts():
    element = sd.build_response("1", [Field("T", 1.0, timestamp=STAMP)], [ReadoutError("late", STAMP)])
    assert [child.tag for child in element] == [f"{{{NS}}}ts"]
    assert [c.tag.split("}")[1] for c in element[0]] == ["q", "err"]


def test_plain_and_node_fields_cannot_share_a_response():
    with pytest.raises(ValueError, match="separate responses"):
        sd.build_response("1", [Field("a", 1, timestamp=STAMP), Field("b", 1, timestamp=STAMP, node=NodeRef("N"))])


def test_builders_refuse_unknown_namespaces_and_bad_ids():
    with pytest.raises(ValueError, match=r"urn:nfi:iot:sd:1\.0"):
        sd.build_done("1", ns="urn:xmpp:iot:sensordata")
    with pytest.raises(ValueError, match="U\\+0001"):
        sd.build_done("\x01")
    with pytest.raises(TypeError, match="single str"):
        sd.ReadoutRequest("1", fields="Temperature")
    with pytest.raises(ValueError, match="at most 1000 field names"):
        sd.ReadoutRequest("1", fields=tuple(str(i) for i in range(1001)))


# --- hostile input ----------------------------------------------------------------------------------------


def hostile(xml: str):
    return ET.fromstring(xml)


@pytest.mark.parametrize(
    "parse, xml, message",
    [
        (sd.parse_request, f"<req xmlns='{NS}' id='1'>" + "<f n='x'/>" * 1001 + "</req>", "more than 1000 field names"),
        (sd.parse_request, f"<req xmlns='{NS}' id='1'>" + "<nd id='x'/>" * 1001 + "</req>", "more than 1000 node"),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><ts v='2020-01-01T00:00:00Z'>" + "<b n='x' v='1'/>" * 10001 + "</ts></resp>",
            "more than 10000 fields and errors",
        ),
        (sd.parse_request, f"<req xmlns='{NS}'/>", "lacks the required attribute 'id'"),
        (sd.parse_request, f"<req xmlns='{NS}' id='1' from='yesterday'/>", "attribute 'from' of <req id='1'>"),
        (sd.parse_request, f"<req xmlns='{NS}' id='1' m='maybe'/>", "true, false, 1 or 0"),
        (sd.parse_request, f"<req xmlns='{NS}' id='1'><f/></req>", "<f> lacks the required attribute 'n'"),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><ts v='2020-02-30T00:00:00Z'/></resp>",
            "attribute 'v' of <ts>",
        ),
        (sd.parse_response, f"<resp xmlns='{NS}' id='1'><ts/></resp>", "<ts> lacks the required attribute 'v'"),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><ts v='2020-01-01T00:00:00Z'><q n='T' v='warm'/></ts></resp>",
            "attribute 'v' of <q n='T'>",
        ),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><ts v='2020-01-01T00:00:00Z'><i n='N' v='2147483648'/></ts></resp>",
            "-2147483648..2147483647",
        ),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><ts v='2020-01-01T00:00:00Z'><b n='B' v='on'/></ts></resp>",
            "<b n='B'>",
        ),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><ts v='2020-01-01T00:00:00Z'><s v='x'/></ts></resp>",
            "lacks the required attribute 'n'",
        ),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><ts v='2020-01-01T00:00:00Z'><dr n='D' v='1 hour'/></ts></resp>",
            "xs:duration",
        ),
        (
            sd.parse_response,
            f"<resp xmlns='{NS}' id='1'><nd><ts v='2020-01-01T00:00:00Z'/></nd></resp>",
            "<nd> lacks the required attribute 'id'",
        ),
        (sd.parse_response, f"<resp xmlns='{NS}' id='1' more='perhaps'/>", "attribute 'more'"),
        (sd.parse_response, "<resp xmlns='urn:example' id='1'/>", "in namespace 'urn:example'"),
        (sd.parse_response, "<resp id='1'/>", "without namespace"),
        (sd.parse_request, "<iq type='get'><req xmlns='urn:nfi:iot:sd:1.0' id='1'/></iq>", "not the stanza itself"),
        (sd.parse, f"<subscribe xmlns='{NS}' id='1'/>", "expected <req>"),
    ],
)
def test_hostile_input_raises_protocol_error_saying_what_is_wrong(parse, xml, message):
    with pytest.raises(ProtocolError) as caught:
        parse(hostile(xml))
    assert message in str(caught.value)


def test_the_limits_are_not_off_by_one():
    request = sd.parse_request(hostile(f"<req xmlns='{NS}' id='1'>" + "<f n='x'/>" * 1000 + "</req>"))
    assert len(request.fields) == 1000


@pytest.mark.parametrize(
    "template, limit",
    [
        (f"<req xmlns='{NS}' id='{{x}}'/>", MAX_NAME_LENGTH),
        (f"<req xmlns='{NS}' id='1'><nd id='{{x}}'/></req>", MAX_NAME_LENGTH),
        (f"<req xmlns='{NS}' id='1' dt='{{x}}'/>", MAX_TOKEN_LENGTH),
    ],
)
def test_request_ids_node_ids_and_tokens_beyond_their_limit_are_refused(template, limit):
    # The answers echo the request id: a hostile one must not make them exceed the server's stanza limit.
    assert_attribute_limit(sd.parse_request, template, limit)


def test_unknown_elements_attributes_and_comments_are_ignored():
    xml = f"""<resp xmlns='{NS}' id='1' extra='x'><!-- a comment -->
      <novel/><ts v='2020-01-01T00:00:00Z' other='y'>
        <q n='T' v='1' future='z'><x xmlns:e='urn:e' e:a='1'><e:thing/></x></q>
        <zz n='T' v='1'/><q xmlns='urn:other' n='U' v='2'/>
      </ts></resp>"""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    element = ET.fromstring(xml, parser=parser)
    response = sd.parse_response(element)
    assert [f.name for f in response.fields] == ["T"]


def test_deep_nesting_is_not_walked():
    depth = 100_000
    junk = "<a>" * depth + "</a>" * depth
    xml = (
        f"<resp xmlns='{NS}' id='1'>{junk}<ts v='2020-01-01T00:00:00Z'>"
        f"<b n='ok' v='true'>{junk}</b><err>bad{junk}</err></ts></resp>"
    )
    response = sd.parse_response(hostile(xml))
    assert [f.value for f in response.fields] == [True]
    assert [e.message for e in response.errors] == ["bad"]


def test_parsers_refuse_what_is_not_an_element():
    with pytest.raises(ProtocolError, match=r"reads an xml\.etree\.ElementTree\.Element, not str"):
        sd.parse_response(f"<resp xmlns='{NS}' id='1'/>")  # type: ignore[arg-type]


def test_elements_built_by_careless_code_still_give_protocol_errors():
    element = ET.Element(f"{{{NS}}}resp", id="1")
    ts = ET.SubElement(element, f"{{{NS}}}ts", v="2020-01-01T00:00:00Z")
    ET.SubElement(ts, f"{{{NS}}}s", n="bad\x00name", v="x")
    with pytest.raises(ProtocolError, match="U\\+0000"):
        sd.parse_response(element)
    odd = ET.Element(f"{{{NS}}}accepted")
    odd.attrib["id"] = 42  # not text
    with pytest.raises(ProtocolError, match="not text"):
        sd.parse_accepted(odd)


@pytest.mark.parametrize(
    "field",
    [
        "<q n='T' v='warm'/>",
        "<s v='x'/>",
        "<b n='B' v='on'/>",
        "<q n='T' v='1' ar='perhaps'/>",
        "<q n='T' v='1' loc='x'/>",
    ],
)
def test_a_bad_field_reads_the_same_inside_a_response_as_alone(field):
    # Responses read their fields through a faster path than parse_field; the errors must not differ.
    element = hostile(f"<resp xmlns='{NS}' id='1'><ts v='2020-01-01T00:00:00Z'>{field}</ts></resp>")
    with pytest.raises(ProtocolError) as alone:
        sd.parse_field(element[0][0], timestamp=STAMP)
    with pytest.raises(ProtocolError) as inside:
        sd.parse_response(element)
    assert str(inside.value) == str(alone.value)
    assert type(inside.value.__cause__) is type(alone.value.__cause__)


@given(st.sampled_from(list(ValueType)).flatmap(lambda vtype: S.fields(vtype, node=st.none() | S.nodes)))
def test_the_parsers_fast_field_constructor_makes_what_the_validating_one_makes(field):
    arguments = {f.name: getattr(field, f.name) for f in dataclasses.fields(Field)}
    made = Field.from_parser(**arguments)
    assert made == Field(**arguments)
    assert vars(made) == vars(field) and list(vars(made)) == list(vars(field))


@pytest.mark.parametrize(
    "change",
    [
        {"name": "bad\x00name"},
        {"unit": "\x01"},
        {"localization_namespace": "\ud800"},
        {"localization": "x"},
        {"timestamp": dt.datetime(2020, 1, 1)},  # naive: local time, converted by the validating constructor
        {"timestamp": "2020-01-01"},
        {"node": "N"},
        {"type": ValueType.STRING, "value": "x\x02", "unit": None, "decimals": None},
        {"type": ValueType.BOOLEAN, "value": True},  # unit on a boolean
    ],
)
def test_the_fast_field_constructor_leaves_what_it_cannot_vouch_for_to_the_validating_one(change):
    arguments = dict(
        name="T",
        value=1.5,
        type=ValueType.QUANTITY,
        timestamp=STAMP,
        unit="°C",
        decimals=1,
        enum_type=None,
        categories=Category.MOMENTARY,
        qos=QoS(0),
        writable=False,
        node=None,
        localization_namespace=None,
        localization=None,
    )
    arguments.update(change)
    try:
        expected = Field(**arguments)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)) as caught:
            Field.from_parser(**arguments)
        assert str(caught.value) == str(exc)
    else:
        assert Field.from_parser(**arguments) == expected


vocabulary = [
    "req",
    "resp",
    "nd",
    "ts",
    "f",
    "q",
    "b",
    "i",
    "l",
    "s",
    "e",
    "d",
    "t",
    "dt",
    "dr",
    "err",
    "x",
    "accepted",
    "started",
    "done",
    "cancel",
]
attribute_names = [
    "id",
    "n",
    "v",
    "u",
    "t",
    "m",
    "all",
    "more",
    "queued",
    "from",
    "to",
    "src",
    "pt",
    "ctr",
    "loc",
    "ar",
]
attribute_values = st.one_of(
    st.sampled_from(["", "1", "true", "x", "2020-01-01T00:00:00Z", "PT1S", "-1e999", "NaN", "1,2|x", "2147483648"]),
    S.text,
)


@st.composite
def trees(draw, depth=0):
    element = ET.Element(f"{{{draw(st.sampled_from([NS, 'urn:x']))}}}{draw(st.sampled_from(vocabulary))}")
    for name in draw(st.lists(st.sampled_from(attribute_names), max_size=5, unique=True)):
        element.set(name, draw(attribute_values))
    if depth < 4:
        element.extend(draw(st.lists(trees(depth + 1), max_size=3)))
    return element


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_fuzzed_trees_give_a_result_or_a_protocol_error_and_nothing_else(tree):
    for parse in (sd.parse, sd.parse_request, sd.parse_response, sd.parse_data, sd.parse_field):
        try:
            parse(tree)
        except ProtocolError as exc:
            assert str(exc)
