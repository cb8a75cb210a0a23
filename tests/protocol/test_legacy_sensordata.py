"""Legacy sensor data (urn:xmpp:iot:sensordata) against slixmpp 1.17's xep_0323, the third-party witness.

Two levels: the plugin's stanza classes (what it writes and reads, element by
element), and the plugin itself running on slixmpp's mock stream (its device
answering our request, its client taking our answers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import slixmpp.plugins.xep_0323.stanza  # noqa: F401  (registers the plugin's stanza classes)
from hypothesis import given
from hypothesis import strategies as st
from slixmpp import Iq, Message
from slixmpp.plugins.xep_0323.device import Device
from slixmpp.test import SlixTest

from xiotlab.errors import ProtocolError
from xiotlab.protocol import legacy_sensordata as L
from xiotlab.protocol import sensordata as sd
from xiotlab.protocol.elements import MAX_NAME_LENGTH, MAX_TOKEN_LENGTH
from xiotlab.protocol.namespaces import LEGACY_SENSOR_DATA as NS
from xiotlab.protocol.values import UTC, Category, Duration, Field, NodeRef, QoS, ReadoutError, ValueType

from . import strategies as S
from .limits import assert_attribute_limit
from .test_sensordata import wire

STAMP = dt.datetime(2013, 3, 7, 16, 24, 30, tzinfo=UTC)


def payload(stanza) -> ET.Element:
    """Our element from a slixmpp stanza, through the serializer as on the wire."""
    element = ET.fromstring(str(stanza))
    return next(child for child in element if child.tag.startswith(f"{{{NS}}}"))


def stanza(kind, element: ET.Element):
    """A slixmpp stanza (Message or Iq) carrying our element, read as slixmpp reads what arrives."""
    wrapper = "message" if kind is Message else "iq"
    return kind(
        xml=ET.fromstring(f"<{wrapper} xmlns='jabber:client'>{ET.tostring(element, encoding='unicode')}</{wrapper}>")
    )


def local_naive(value: dt.datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%dT%H:%M:%S")


# --- slixmpp writes, we read ----------------------------------------------------------------------


def test_we_read_the_plugins_request():
    iq = Iq()
    iq["type"] = "get"
    iq["req"]["seqnr"] = "12"
    iq["req"].add_node("Device01", sourceId="Source1", cacheType="Cache1")
    iq["req"].add_node("Device02")
    iq["req"].add_field("Temperature")
    iq["req"].add_field("Pressure")
    iq["req"]._set_flags(
        {
            "momentary": "true",
            "historicalDay": "true",
            "from": "2013-03-07T16:24:30",
            "to": "2013-03-08T00:00:00",
            "when": "2013-03-09T00:00:00",
            "serviceToken": "st1",
            "deviceToken": "dt1",
            "userToken": "ut1",
        }
    )
    request = L.parse(payload(iq))
    assert request == sd.ReadoutRequest(
        "12",
        Category.MOMENTARY | Category.HISTORICAL,
        fields=("Temperature", "Pressure"),
        nodes=(NodeRef("Device01", "Source1", "Cache1"), NodeRef("Device02")),
        from_time=dt.datetime(2013, 3, 7, 16, 24, 30).astimezone(UTC),  # zone-less legacy times are local
        to_time=dt.datetime(2013, 3, 8).astimezone(UTC),
        when=dt.datetime(2013, 3, 9).astimezone(UTC),
        service_token="st1",
        device_token="dt1",
        user_token="ut1",
    )
    assert request.namespace == NS


def test_we_read_every_field_type_the_plugin_writes():
    msg = Message()
    msg["fields"]["seqnr"] = "3"
    node = msg["fields"].add_node("Device01", sourceId="S")
    ts = node.add_timestamp("2013-03-07T16:24:30")
    ts.add_data(
        typename="numeric",
        name="Temperature",
        value="-12.42",
        unit="K",
        flags={"momentary": "true", "automaticReadout": "true", "historicalHour": "true"},
    )
    ts.add_data(typename="string", name="SN", value="A1", flags={"identity": "true"})
    ts.add_data(typename="boolean", name="Ok", value="true", flags={"status": "true", "warning": "true"})
    ts.add_data(typename="dateTime", name="Since", value="2013-03-01T00:00:00Z")
    ts.add_data(typename="timeSpan", name="Up", value="P1DT2H")
    ts.add_data(typename="enum", name="Mode", value="Auto", dataType="Modes", flags={"signed": "true"})
    msg["fields"]["done"] = "true"
    response = L.parse(payload(msg))
    local_stamp = dt.datetime(2013, 3, 7, 16, 24, 30).astimezone(UTC)
    common = {"timestamp": local_stamp, "node": NodeRef("Device01", "S")}
    assert response == sd.ReadoutResponse(
        "3",
        (
            Field(
                "Temperature",
                -12.42,
                unit="K",
                decimals=2,
                qos=QoS.AUTOMATIC_READOUT,
                categories=Category.MOMENTARY | Category.HISTORICAL,
                **common,
            ),
            Field("SN", "A1", categories=Category.IDENTITY, **common),
            Field("Ok", True, categories=Category.STATUS, qos=QoS.WARNING, **common),
            Field("Since", dt.datetime(2013, 3, 1, tzinfo=UTC), **common),
            Field("Up", Duration(days=1, hours=2), **common),
            Field("Mode", "Auto", enum_type="Modes", qos=QoS.SIGNED, **common),
        ),
        more=False,
    )


def test_a_fields_message_without_done_promises_more():
    msg = Message()
    msg["fields"]["seqnr"] = "3"
    msg["fields"].add_node("D").add_timestamp("2013-03-07T16:24:30").add_data("boolean", "b", "false")
    response = L.parse_fields(payload(msg))
    assert response.more and [f.value for f in response.fields] == [False]


def test_python_spellings_from_plugin_users_are_accepted():
    msg = Message()
    msg["fields"]["seqnr"] = "3"
    ts = msg["fields"].add_node("D").add_timestamp("2013-03-07T16:24:30")
    ts.add_data("boolean", "b", str(True), flags={"momentary": "True"})
    ts.add_data("numeric", "n", str(float("nan")), unit="u")
    ts.add_data("numeric", "i", str(float("-inf")), unit="u")
    fields = L.parse_fields(payload(msg)).fields
    assert fields[0].value is True and fields[0].categories == Category.MOMENTARY
    assert fields[1].value != fields[1].value  # NaN
    assert fields[2].value == float("-inf")


def test_we_read_the_plugins_failure_accept_start_reject_cancel():
    msg = Message()
    msg["failure"]["seqnr"] = "4"
    msg["failure"]["error"]["text"] = "Timeout"
    msg["failure"]["error"]["nodeId"] = "Device01"
    msg["failure"]["error"]["timestamp"] = "2013-03-07T16:24:30"
    msg["failure"]["done"] = "true"
    assert L.parse(payload(msg)) == sd.ReadoutResponse(
        "4", errors=(ReadoutError("Timeout", dt.datetime(2013, 3, 7, 16, 24, 30).astimezone(UTC), NodeRef("Device01")),)
    )

    iq = Iq()
    iq["accepted"]["seqnr"] = "4"
    iq["accepted"]["queued"] = "true"
    assert L.parse(payload(iq)) == sd.Accepted("4", queued=True)
    msg = Message()
    msg["started"]["seqnr"] = "4"
    assert L.parse(payload(msg)) == sd.Started("4")
    iq = Iq()
    iq["rejected"]["seqnr"] = "4"
    iq["rejected"]["error"] = "Invalid field Foo"
    assert L.parse(payload(iq)) == L.Rejected("4", "Invalid field Foo")
    iq = Iq()
    iq["cancel"]["seqnr"] = "4"
    assert L.parse(payload(iq)) == sd.Cancel("4")
    iq = Iq()
    iq["cancelled"]["seqnr"] = "4"
    assert L.parse(payload(iq)) == L.Cancelled("4")


# --- we write, slixmpp reads ------------------------------------------------------------------------


def test_the_plugin_reads_our_request():
    request = sd.ReadoutRequest(
        "5",
        Category.MOMENTARY | Category.HISTORICAL,
        fields=("Temperature",),
        nodes=(NodeRef("Device01", "S", "C"),),
        from_time=STAMP,
        when=STAMP + dt.timedelta(hours=1),
        user_token="ut",
    )
    req = stanza(Iq, L.build_request(request))["req"]
    assert req["seqnr"] == "5"
    assert [(n["nodeId"], n["sourceId"], n["cacheType"]) for n in req["nodes"]] == [("Device01", "S", "C")]
    assert [f["name"] for f in req["fields"]] == ["Temperature"]
    assert req._get_flags() == {
        "momentary": "true",
        "historical": "true",
        "from": local_naive(STAMP),
        "when": local_naive(STAMP + dt.timedelta(hours=1)),
        "userToken": "ut",
    }
    # The plugin's device side parses these with exactly this format, or rejects the request.
    dt.datetime.strptime(req["when"], "%Y-%m-%dT%H:%M:%S")
    assert stanza(Iq, L.build_request(sd.ReadoutRequest("6")))["req"]._get_flags() == {"all": "true"}


ONE_OF_EACH = [
    Field("q", 21.5, unit="°C", decimals=2, categories=Category.MOMENTARY, qos=QoS.AUTOMATIC_READOUT, timestamp=STAMP),
    Field("b", True, categories=Category.STATUS, timestamp=STAMP),
    Field("i", -7, timestamp=STAMP),
    Field("l", 2**40, timestamp=STAMP),
    Field("s", "text", categories=Category.IDENTITY, timestamp=STAMP),
    Field("e", "Auto", enum_type="Modes", timestamp=STAMP),
    Field("d", dt.date(2013, 3, 7), timestamp=STAMP),
    Field("t", dt.time(16, 24, 30), timestamp=STAMP),
    Field("dt", dt.datetime(2013, 3, 7, 16, tzinfo=UTC), categories=Category.HISTORICAL, timestamp=STAMP),
    Field("dr", Duration(minutes=5), qos=QoS.SIGNED, timestamp=STAMP),
]


def plugin_view(element: ET.Element):
    """What the plugin's client hands its callback, per timestamp (cf. its _handle_event_fields)."""
    fields = stanza(Message, element)["fields"]
    seen = []
    for node in fields["nodes"]:
        for ts in node["timestamps"]:
            for d in ts["datas"]:
                seen.append(
                    (
                        node["nodeId"],
                        ts["value"],
                        d["name"],
                        d._get_typename(),
                        d["value"],
                        d["unit"],
                        d["dataType"],
                        d._get_flags(),
                    )
                )
    return seen, fields["done"]


def test_the_plugin_keeps_every_field_we_send_by_default():
    seen, done = plugin_view(L.build_fields(8, ONE_OF_EACH))
    assert done == "true"
    assert seen == [
        (
            "",
            "2013-03-07T16:24:30Z",
            "q",
            "numeric",
            "21.50",
            "°C",
            "",
            {"momentary": "true", "automaticReadout": "true"},
        ),
        ("", "2013-03-07T16:24:30Z", "b", "boolean", "true", "", "", {"status": "true"}),
        ("", "2013-03-07T16:24:30Z", "i", "numeric", "-7", "", "", {}),
        ("", "2013-03-07T16:24:30Z", "l", "numeric", "1099511627776", "", "", {}),
        ("", "2013-03-07T16:24:30Z", "s", "string", "text", "", "", {"identity": "true"}),
        ("", "2013-03-07T16:24:30Z", "e", "enum", "Auto", "", "Modes", {}),
        ("", "2013-03-07T16:24:30Z", "d", "string", "2013-03-07", "", "", {}),
        ("", "2013-03-07T16:24:30Z", "t", "string", "16:24:30", "", "", {}),
        ("", "2013-03-07T16:24:30Z", "dt", "dateTime", "2013-03-07T16:00:00Z", "", "", {"historicalOther": "true"}),
        ("", "2013-03-07T16:24:30Z", "dr", "timeSpan", "PT5M", "", "", {"signed": "true"}),
    ]


def test_the_plugin_drops_the_later_drafts_types():
    # Why build_fields does not write them by default: this is the plugin's defect, witnessed.
    seen, _ = plugin_view(L.build_fields(8, ONE_OF_EACH, xep_types=True))
    assert [s[2] for s in seen] == ["q", "b", "s", "e", "dt"]


def test_the_plugin_loses_in_progress_and_writable():
    field = Field("q", 1.0, qos=QoS.IN_PROGRESS | QoS.WARNING, writable=True, timestamp=STAMP)
    element = L.build_fields(8, [field])
    assert element.find(f".//{{{NS}}}numeric").attrib["inProgress"] == "true"
    assert element.find(f".//{{{NS}}}numeric").attrib["writable"] == "true"
    seen, _ = plugin_view(element)
    assert seen[0][-1] == {"warning": "true"}


def test_the_plugin_reads_our_failure_and_acknowledgements():
    errors = [ReadoutError("Timeout", STAMP, NodeRef("Device01")), ReadoutError("second", STAMP)]
    failure = stanza(Message, L.build_failure(9, errors, done=True))["failure"]
    assert (failure["seqnr"], failure["done"]) == ("9", "true")
    # The plugin sees one error only, the last one.
    assert (failure["error"]["nodeId"], failure["error"]["text"]) == ("", "second")
    assert failure["error"]["timestamp"] == "2013-03-07T16:24:30Z"
    assert stanza(Iq, L.build_accepted("9", queued=True))["accepted"]["queued"] == "true"
    assert stanza(Message, L.build_started(9))["started"]["seqnr"] == "9"
    assert stanza(Iq, L.build_cancelled(9))["cancelled"]["seqnr"] == "9"
    assert stanza(Iq, L.build_cancel(9))["cancel"]["seqnr"] == "9"
    assert stanza(Iq, L.build_rejected(9, "Access denied"))["rejected"]["error"] == "Access denied"


# --- our own round trip ------------------------------------------------------------------------------

DOWNGRADED = {
    ValueType.INTEGER: ValueType.QUANTITY,
    ValueType.LONG: ValueType.QUANTITY,
    ValueType.DATE: ValueType.STRING,
    ValueType.TIME: ValueType.STRING,
}


@pytest.mark.parametrize("vtype", list(ValueType))
@pytest.mark.parametrize("xep_types", [False, True])
@given(data=st.data())
def test_every_value_type_round_trips(vtype, xep_types, data):
    field = data.draw(S.fields(vtype, node=st.none() | S.nodes.filter(lambda n: n.id)))
    response = L.parse_fields(wire(L.build_fields("42", [field], done=False, xep_types=xep_types)))
    assert (response.id, response.more) == ("42", True)
    [parsed] = response.fields
    expected = S.expected_after_round_trip(field, parsed.decimals)
    if not xep_types and vtype in DOWNGRADED:
        # Same lexical value, under the type the plugin keeps.
        assert parsed.lexical_value.lower() == field.lexical_value.lower() or parsed.type is ValueType.QUANTITY
        assert parsed.type is DOWNGRADED[vtype]
        expected = dataclasses.replace(field, type=parsed.type, value=parsed.value, decimals=parsed.decimals)
    assert S.same_field(parsed, expected)


@given(st.lists(S.errors, min_size=1, max_size=3), st.booleans())
def test_failures_round_trip(errors, done):
    response = L.parse(wire(L.build_failure("1", errors, done=done)))
    assert response == sd.ReadoutResponse("1", errors=tuple(errors), more=not done)


def test_requests_round_trip_to_the_second():
    request = sd.ReadoutRequest(
        "77",
        Category.PEAK | Category.HISTORICAL,
        fields=("a", "b"),
        nodes=(NodeRef("n", None, "c"),),
        from_time=STAMP,
        to_time=STAMP,
        when=STAMP,
        service_token="s",
        device_token="d",
    )
    assert L.parse_request(wire(L.build_request(request))) == request
    assert L.parse(wire(L.build_request(sd.ReadoutRequest("1")))).categories == Category.ALL


def test_plain_device_fields_sit_in_a_node_with_the_empty_id():
    element = L.build_fields(1, [Field("x", 1.0, timestamp=STAMP)])
    assert element.find(f"{{{NS}}}node").get("nodeId") == ""
    assert L.parse_fields(element).fields[0].node is None


def test_malformed_string_ids_are_dropped_not_fatal():
    element = ET.fromstring(
        f"<fields xmlns='{NS}' seqnr='1'><node nodeId='n'><timestamp value='2013-03-07T16:24:30Z'>"
        "<numeric name='x' value='1' unit='u' stringIds='abc' module='M'/></timestamp></node></fields>"
    )
    [field] = L.parse_fields(element).fields
    assert (field.localization, field.localization_namespace) == (None, "M")


def test_unreadable_failure_timestamps_become_the_time_of_receipt():
    element = ET.fromstring(
        f"<failure xmlns='{NS}' seqnr='1'><error nodeId='n' timestamp='now-ish'>x</error></failure>"
    )
    before = dt.datetime.now(UTC)
    [error] = L.parse_failure(element).errors
    assert before <= error.timestamp <= dt.datetime.now(UTC)


# --- hostile input -------------------------------------------------------------------------------------


def _in_timestamp(fields: str) -> str:
    """A ``<fields/>`` answer holding ``fields`` in one node's timestamp."""
    return (
        f"<fields xmlns='{NS}' seqnr='1'><node nodeId='n'><timestamp value='2013-03-07T16:24:30'>"
        f"{fields}</timestamp></node></fields>"
    )


@pytest.mark.parametrize(
    "xml, message",
    [
        (f"<req xmlns='{NS}' seqnr='one'/>", "attribute 'seqnr' of <req>"),
        (f"<req xmlns='{NS}'/>", "lacks the required attribute 'seqnr'"),
        (f"<accepted xmlns='{NS}' seqnr='99999999999'/>", "-2147483648..2147483647"),
        (f"<req xmlns='{NS}' seqnr='1'>" + "<field name='f'/>" * 1001 + "</req>", "more than 1000 field names"),
        (f"<req xmlns='{NS}' seqnr='1'><node/></req>", "lacks the required attribute 'nodeId'"),
        (f"<req xmlns='{NS}' seqnr='1' when='soon'/>", "attribute 'when'"),
        (
            f"<fields xmlns='{NS}' seqnr='1'><node nodeId='n'><timestamp value='x'/></node></fields>",
            "attribute 'value' of <timestamp>",
        ),
        (_in_timestamp("<int name='i' value='1.5'/>"), "attribute 'value' of <int>"),
        (_in_timestamp("<boolean value='true'/>"), "lacks the required attribute 'name'"),
        (_in_timestamp("<boolean name='b' value='1'/>" * 10001), "more than 10000 fields"),
        (f"<fields xmlns='{NS}' seqnr='1' done='finished'/>", "attribute 'done'"),
        ("<fields xmlns='urn:nfi:iot:sd:1.0' seqnr='1'/>", "expected <req>"),
    ],
)
def test_hostile_legacy_input_raises_protocol_error(xml, message):
    with pytest.raises(ProtocolError) as caught:
        L.parse(ET.fromstring(xml))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "template, limit",
    [
        (f"<req xmlns='{NS}' seqnr='1'><node nodeId='{{x}}'/></req>", MAX_NAME_LENGTH),
        (f"<req xmlns='{NS}' seqnr='1'><node nodeId='n' sourceId='{{x}}'/></req>", MAX_NAME_LENGTH),
        (f"<req xmlns='{NS}' seqnr='1' userToken='{{x}}'/>", MAX_TOKEN_LENGTH),
    ],
)
def test_legacy_node_ids_and_tokens_beyond_their_limit_are_refused(template, limit):
    assert_attribute_limit(L.parse_request, template, limit)


def test_unknown_legacy_elements_are_ignored():
    element = ET.fromstring(
        f"<fields xmlns='{NS}' seqnr='1' done='true'><extra/><node nodeId='n'><junk/>"
        "<timestamp value='2013-03-07T16:24:30Z'><numeric2 name='x' value='1'/><boolean name='b' value='0'/>"
        "</timestamp></node></fields>"
    )
    assert [f.name for f in L.parse(element).fields] == ["b"]


def test_builders_refuse_ids_the_dialect_cannot_carry():
    with pytest.raises(ProtocolError, match="legacy seqnr"):
        L.build_request(sd.ReadoutRequest("abc"))
    with pytest.raises(TypeError, match="build_failure"):
        L.build_fields(1, [ReadoutError("x")])  # type: ignore[list-item]


# --- the plugin itself, on slixmpp's mock stream -------------------------------------------------------------


class TestAgainstTheRunningPlugin(SlixTest):
    """The plugin's own handlers, talking to what we build and fed to what we parse."""

    def setUp(self):
        self.stream_start(mode="client", plugins=["xep_0030", "xep_0323"])
        self.plugin = self.xmpp.plugin["xep_0323"]
        self.plugin.threaded = False

    def sent(self):
        """Every stanza the plugin sent since the last call, as our payload elements."""
        self.wait_for_send_queue()
        out = []
        while (data := self.xmpp.socket.next_sent(timeout=0.2)) is not None:
            element = ET.fromstring(data)
            out.append((element.get("type"), [c for c in element if c.tag.startswith(f"{{{NS}}}")]))
        return out

    def register_device(self):
        device = Device("Device22")
        device._add_field(name="Temperature", typename="numeric", unit="C")
        device._add_field(name="Mode", typename="enum", dataType="Modes")
        device._set_momentary_timestamp("2013-03-07T16:24:30")
        device._add_field_momentary_data("Temperature", "23.4", flags={"automaticReadout": "true"})
        device._add_field_momentary_data("Mode", "Auto")
        self.plugin.register_node(nodeId="Device22", device=device, commTimeout=5)

    def ask(self, request: sd.ReadoutRequest, iq_type: str = "get", payload=None):
        element = payload if payload is not None else L.build_request(request)
        self.recv(
            f"<iq type='{iq_type}' from='owner@localhost/lab' to='tester@localhost/resource' id='q1'>"
            f"{ET.tostring(element, encoding='unicode')}</iq>"
        )

    def test_its_device_answers_our_request(self):
        self.register_device()
        self.ask(sd.ReadoutRequest("1", Category.MOMENTARY))
        (iq_type, [accepted]), (_, [fields]) = self.sent()
        assert iq_type == "result" and L.parse(accepted) == sd.Accepted("1")
        response = L.parse(fields)
        stamp = dt.datetime(2013, 3, 7, 16, 24, 30).astimezone(UTC)
        assert response == sd.ReadoutResponse(
            "1",
            (
                Field(
                    "Temperature",
                    23.4,
                    unit="C",
                    decimals=1,
                    categories=Category.MOMENTARY,
                    qos=QoS.AUTOMATIC_READOUT,
                    timestamp=stamp,
                    node=NodeRef("Device22"),
                ),
                Field(
                    "Mode",
                    "Auto",
                    enum_type="Modes",
                    categories=Category.MOMENTARY,
                    timestamp=stamp,
                    node=NodeRef("Device22"),
                ),
            ),
        )

    def test_its_device_rejects_an_unknown_field(self):
        self.register_device()
        self.ask(sd.ReadoutRequest("2", fields=("Humidity",)))
        [(iq_type, [rejected])] = self.sent()
        assert iq_type == "error"
        assert L.parse(rejected) == L.Rejected("2", "Invalid field Humidity")

    def test_its_device_queues_our_timed_request_and_cancels_it(self):
        self.register_device()
        self.ask(sd.ReadoutRequest("3", when=dt.datetime.now(UTC) + dt.timedelta(hours=1)))
        [(_, [accepted])] = self.sent()
        assert L.parse(accepted) == sd.Accepted("3", queued=True)  # our 'when' format passed its strptime
        self.ask(None, payload=L.build_cancel(3))
        [(_, [cancelled])] = self.sent()
        assert L.parse(cancelled) == L.Cancelled("3")

    def test_its_client_takes_our_answers(self):
        calls = []
        seqnr = self.plugin.request_data(
            "tester@localhost/resource",
            "device@localhost/thing",
            lambda **kw: calls.append(kw),
            nodeIds=["Device22"],
            fields=["Temperature"],
            flags={"momentary": "true"},
        )
        [(iq_type, [req])] = self.sent()
        request = L.parse(req)
        assert (iq_type, request.id, request.fields, request.categories) == (
            "get",
            seqnr,
            ("Temperature",),
            Category.MOMENTARY,
        )
        assert request.nodes == (NodeRef("Device22"),)

        def answer(kind, element, extra=""):
            wrapper = "iq type='result' id='x'" if kind == "iq" else "message"
            self.recv(
                f"<{wrapper} from='device@localhost/thing' to='tester@localhost/resource' {extra}>"
                f"{ET.tostring(element, encoding='unicode')}</{kind}>"
            )

        answer("iq", L.build_accepted(request.id))
        fields = [
            Field(
                "Temperature",
                23.5,
                unit="C",
                decimals=1,
                timestamp=STAMP,
                node=NodeRef("Device22"),
                categories=Category.MOMENTARY,
            ),
            Field("Count", 3, timestamp=STAMP, node=NodeRef("Device22")),
        ]
        answer("message", L.build_fields(request.id, fields, done=True))
        self.wait_()
        assert [c["result"] for c in calls] == ["accepted", "fields", "done"]
        reported = calls[1]
        assert (reported["nodeId"], reported["timestamp"]) == ("Device22", "2013-03-07T16:24:30Z")
        assert [(f["name"], f["typename"], f["value"]) for f in reported["fields"]] == [
            ("Temperature", "numeric", "23.5"),
            ("Count", "numeric", "3"),
        ]

    def test_its_client_takes_our_failure(self):
        calls = []
        seqnr = self.plugin.request_data(
            "tester@localhost/resource", "device@localhost/thing", lambda **kw: calls.append(kw)
        )
        self.sent()
        self.recv(
            "<message from='device@localhost/thing' to='tester@localhost/resource'>"
            + ET.tostring(
                L.build_failure(seqnr, [ReadoutError("Sensor broken", STAMP, NodeRef("D"))]), encoding="unicode"
            )
            + "</message>"
        )
        self.wait_()
        assert [(c["result"], c["nodeId"], c["error_msg"]) for c in calls] == [("failure", "D", "Sensor broken")]
