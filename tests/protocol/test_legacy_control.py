"""Legacy control (urn:xmpp:iot:control) against slixmpp 1.17's xep_0325 as a third-party witness.

slixmpp is imported here only, never by the package: its stanza classes build
what a slixmpp peer sends and parse what we send, and its plugin's own
handlers answer our requests and receive our answers (with ``send`` captured,
no network).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import slixmpp.plugins.xep_0325.stanza
from hypothesis import given, settings
from hypothesis import strategies as st
from slixmpp.xmlstream.matcher import StanzaPath

from xiotlab.errors import ParameterError, ProtocolError, StanzaError
from xiotlab.protocol import control, control_form
from xiotlab.protocol import legacy_control as lc
from xiotlab.protocol.parameters import ControlParameter, ParameterType, ParameterValue
from xiotlab.protocol.values import Duration, NodeRef

from .limits import assert_attribute_limit
from .test_control import form_text, key, values_of, xml_text

T = ParameterType
NS = lc.NAMESPACE
LEGACY_TYPES = tuple(t for t in ParameterType if t is not T.ENUM)


def wire(element: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(element))


def slix_wire(stanza) -> ET.Element:
    """What a slixmpp peer puts on the wire, through slixmpp's own serializer."""
    return ET.fromstring(str(stanza))


@pytest.fixture
def xmpp():
    """A slixmpp client with the xep_0325 plugin, never connected; ``xmpp.sent`` collects what it sends."""
    loop = asyncio.new_event_loop()
    client = slixmpp.ClientXMPP("peer@example.org/slix", "secret", loop=loop)
    client.register_plugin("xep_0325")
    client.sent = []
    client.send = lambda stanza, *a, **kw: client.sent.append(slix_wire(stanza))
    yield client
    for timer in [h for s in client.plugin["xep_0325"].sessions.values() for h in s.get("commTimers", {}).values()]:
        timer.cancel()
    loop.close()


def iq_from(xmpp, payload: ET.Element | list[ET.Element], type_: str = "set", id_: str = "q1"):
    iq = ET.Element(
        "{jabber:client}iq", {"type": type_, "id": id_, "from": "owner@example.org/lab", "to": "peer@example.org/slix"}
    )
    iq.extend(payload if isinstance(payload, list) else [payload])
    return xmpp.Iq(xml=wire(iq))


# --- slixmpp builds, we parse ------------------------------------------------------------


# slixmpp's serializer leaves tabs and line breaks in attribute values unescaped,
# so a receiving parser turns them into spaces; texts sent through it avoid them.
slix_text = xml_text.filter(lambda s: not any(ch in s for ch in "\t\n\r"))


def slix_values_of(t):
    return slix_text if t is T.STRING else values_of(t)


def test_slixmpp_serializer_flattens_line_breaks_in_attributes():
    iq = slixmpp.Iq()
    iq["set"].add_data("Text", "string", "two\nlines")
    assert lc.parse_set(slix_wire(iq).find(f"{{{NS}}}set")).values[0].value == "two lines"
    ours = wire(lc.build_set([ParameterValue("Text", T.STRING, "two\nlines")]))
    assert lc.parse_set(ours).values[0].value == "two\nlines"


@settings(max_examples=300)
@given(st.data())
def test_slixmpp_set_parsed_by_us(data):
    t = data.draw(st.sampled_from(LEGACY_TYPES))
    value = data.draw(slix_values_of(t))
    name = data.draw(slix_text.filter(bool))
    iq = slixmpp.Iq()
    iq["type"] = "set"
    # slixmpp takes the value as its user's string; that is the lexical form.
    iq["set"].add_data(name=name, typename=t.value, value=ParameterValue(name, t, value).lexical)
    iq["set"].add_node("N1", sourceId="S1", cacheType="C1")
    req = lc.parse_set(slix_wire(iq).find(f"{{{NS}}}set"))
    assert req.nodes == (NodeRef("N1", "S1", "C1"),)
    (got,) = req.values
    assert (got.name, got.type, key(got.value)) == (name, t, key(value))


def test_slixmpp_message_set_parsed_by_us():
    msg = slixmpp.Message()
    msg["type"] = "set"  # what its set_command asks for; slixmpp drops it
    msg["set"].add_data("Output", "boolean", "true")
    msg["set"].add_data("Level", "int", "50")
    el = slix_wire(msg)
    assert el.get("type") is None  # arrives as a normal message
    req = lc.parse_set(el.find(f"{{{NS}}}set"))
    assert [(v.name, v.value) for v in req.values] == [("Output", True), ("Level", 50)]


def test_python_booleans_from_slixmpp_users_are_accepted():
    iq = slixmpp.Iq()
    iq["set"].add_data("A", "boolean", str(True))
    iq["set"].add_data("B", "boolean", str(False))
    req = lc.parse_set(slix_wire(iq).find(f"{{{NS}}}set"))
    assert [v.value for v in req.values] == [True, False]
    with pytest.raises(ParameterError) as info:
        iq = slixmpp.Iq()
        iq["set"].add_data("C", "int", "True")
        lc.parse_set(slix_wire(iq).find(f"{{{NS}}}set"))
    assert info.value.parameter == "C"


# --- we build, slixmpp parses ---------------------------------------------------------------


@settings(max_examples=300)
@given(st.data())
def test_our_set_parsed_by_slixmpp(data):
    values = []
    for i in range(data.draw(st.integers(1, 6))):
        t = data.draw(st.sampled_from(LEGACY_TYPES))
        values.append(ParameterValue(f"p{i}", t, data.draw(values_of(t))))
    iq = ET.Element("{jabber:client}iq", type="set")
    iq.append(lc.build_set(values, nodes=[NodeRef("N1", "S1")]))
    iq = slixmpp.Iq(xml=wire(iq))
    datas = iq["set"]["datas"]
    assert [(d["name"], d._get_typename(), d["value"]) for d in datas] == [
        (v.name, v.type.value, v.lexical) for v in values
    ]
    assert [(n["nodeId"], n["sourceId"]) for n in iq["set"]["nodes"]] == [("N1", "S1")]


def test_legacy_set_round_trip_and_no_enums():
    values = [
        ParameterValue("On", T.BOOLEAN, True),
        ParameterValue("At", T.TIME, dt.time(8)),
        ParameterValue("For", T.DURATION, Duration(minutes=3, seconds=30)),
    ]
    req = lc.parse_set(wire(lc.build_set(values, service_token="s", nodes=[NodeRef("n", partition="c")])))
    assert req.values == tuple(values)
    assert req.service_token == "s" and req.nodes == (NodeRef("n", None, "c"),)
    with pytest.raises(ProtocolError, match="no enumerations"):
        lc.build_set([ParameterValue("Mode", T.ENUM, "Auto", "Modes")])


# --- an xiotlab owner controls a slixmpp-plugin device -------------------------------------------


class Device:
    """A device as slixmpp's plugin wants one: it knows its fields and calls back."""

    def __init__(self, fields, fail=None):
        self.fields, self.fail, self.got = fields, fail, []

    def has_control_field(self, name, typename):
        return self.fields.get(name) == typename

    def set_control_fields(self, fields, session, callback):
        self.got.extend(fields)
        if self.fail:
            callback(session, "Lamp", "error", error_field=self.fail[0], error_msg=self.fail[1])
        else:
            callback(session, "Lamp", "ok")


def test_owner_sets_slixmpp_device(xmpp):
    device = Device({"Output": "boolean", "Level": "int"})
    plugin = xmpp.plugin["xep_0325"]
    plugin.register_node("Lamp", device, 5)
    values = [ParameterValue("Output", T.BOOLEAN, True), ParameterValue("Level", T.INT, 7)]
    plugin._handle_set_req(iq_from(xmpp, lc.build_set(values)))
    assert device.got == [("Output", "boolean", "true"), ("Level", "int", "7")]
    (answer,) = xmpp.sent
    assert (answer.get("type"), answer.get("id")) == ("result", "q1")
    resp = lc.parse_set_response(answer.find(f"{{{NS}}}setResponse"))
    assert resp.as_requested and resp.response_code == "OK"


def test_slixmpp_device_refusing_an_unknown_field(xmpp):
    plugin = xmpp.plugin["xep_0325"]
    plugin.register_node("Lamp", Device({"Output": "boolean"}), 5)
    plugin._handle_set_req(iq_from(xmpp, lc.build_set([ParameterValue("Dimmer", T.INT, 3)])))
    (answer,) = xmpp.sent
    assert answer.get("type") == "error"
    assert answer.find("{jabber:client}error") is None  # no XMPP error element at all
    err = lc.parse_error(answer)
    # slixmpp says var="Output" here; the field really refused is Dimmer
    assert isinstance(err, ParameterError)
    assert (err.parameter, err.condition) == ("Dimmer", "item-not-found")


def test_slixmpp_device_refusing_an_unknown_node(xmpp):
    plugin = xmpp.plugin["xep_0325"]
    plugin.register_node("Lamp", Device({"Output": "boolean"}), 5)
    plugin._handle_set_req(
        iq_from(xmpp, lc.build_set([ParameterValue("Output", T.BOOLEAN, True)], nodes=[NodeRef("Fan")]))
    )
    err = lc.parse_error(xmpp.sent[0])
    assert type(err) is StanzaError and err.condition == "item-not-found"
    assert "Fan" in str(err) and "Output" not in str(err)


def test_slixmpp_device_failing_a_field(xmpp):
    plugin = xmpp.plugin["xep_0325"]
    plugin.register_node("Lamp", Device({"Level": "int"}, fail=("Level", "Out of range")), 5)
    plugin._handle_set_req(iq_from(xmpp, lc.build_set([ParameterValue("Level", T.INT, 900)])))
    err = lc.parse_error(xmpp.sent[0])
    assert isinstance(err, ParameterError)
    assert (err.parameter, err.text, err.condition) == ("Level", "Out of range", "bad-request")


def test_slixmpp_device_takes_message_sets(xmpp):
    device = Device({"Output": "boolean"})
    plugin = xmpp.plugin["xep_0325"]
    plugin.register_node("Lamp", device, 5)
    msg = ET.Element("{jabber:client}message", {"from": "owner@example.org/lab"})
    msg.append(lc.build_set([ParameterValue("Output", T.BOOLEAN, False)]))
    stanza = xmpp.Message(xml=wire(msg))
    assert StanzaPath("message/set").match(stanza)
    plugin._handle_direct_set(stanza)
    assert device.got == [("Output", "boolean", "false")] and xmpp.sent == []


# --- a slixmpp-plugin client controls an xiotlab thing -------------------------------------------


def test_slixmpp_client_sets_our_thing(xmpp):
    plugin = xmpp.plugin["xep_0325"]
    results = []
    plugin.set_request(
        "peer@example.org/slix",
        "thing@example.org/lab",
        lambda **kw: results.append(kw),
        [("Output", "boolean", "true"), ("Level", "double", "0.5")],
        nodeIds=["Lamp"],
    )
    (request,) = xmpp.sent
    assert request.get("type") == "set"
    req = lc.parse_set(request.find(f"{{{NS}}}set"))
    params = [ControlParameter("Output", T.BOOLEAN), ControlParameter("Level", T.DOUBLE, min=0, max=1)]
    assert [(p.name, v) for p, v in control.resolve_set(req, params)] == [("Output", True), ("Level", 0.5)]
    assert req.nodes == (NodeRef("Lamp"),)
    answer = iq_from(xmpp, lc.build_set_response(), type_="result", id_=request.get("id"))
    assert StanzaPath("iq@type=result/setResponse").match(answer)
    plugin._handle_set_response(answer)
    assert results[0]["result"] == "OK"


def test_slixmpp_client_hears_our_refusal(xmpp):
    plugin = xmpp.plugin["xep_0325"]
    results = []
    plugin.set_request(
        "peer@example.org/slix", "thing@example.org/lab", lambda **kw: results.append(kw), [("Level", "double", "5")]
    )
    (request,) = xmpp.sent
    req = lc.parse_set(request.find(f"{{{NS}}}set"))
    with pytest.raises(ParameterError) as info:
        control.resolve_set(req, [ControlParameter("Level", T.DOUBLE, min=0, max=1)])
    assert info.value.details[0].tag == f"{{{NS}}}paramError"
    answer = iq_from(xmpp, list(lc.build_set_error(info.value)), type_="error", id_=request.get("id"))
    assert StanzaPath("iq@type=error/setResponse").match(answer)
    assert answer["error"]["condition"] == "bad-request"  # the XMPP error is there for everyone else
    plugin._handle_set_response(answer)
    assert results[0]["result"] == "OtherError"
    # and an xiotlab owner reads the same answer back exactly
    err = lc.parse_error(wire(answer.xml))
    assert (err.parameter, err.condition) == ("Level", "bad-request")
    assert "above the maximum" in err.text


def test_a_standard_error_alone_never_reaches_the_slixmpp_callback(xmpp):
    err = control.build_error(ParameterError("Level", "too big"), namespace=NS)
    answer = iq_from(xmpp, err, type_="error")
    assert not StanzaPath("iq@type=error/setResponse").match(answer)


def test_the_plugin_shaped_half_alone_still_names_the_parameter():
    _, resp = lc.build_set_error(ParameterError("Level", "above the maximum 1"))
    private = resp.find(f"{{{NS}}}error")
    assert (private.get("var"), private.text) == ("Level", "above the maximum 1")
    iq = ET.Element("{jabber:client}iq", type="error")
    iq.append(resp)
    err = lc.parse_error(wire(iq))
    assert (err.parameter, err.text, err.condition) == ("Level", "above the maximum 1", "bad-request")


def test_unknown_parameter_maps_to_not_found(xmpp):
    err = ParameterError("Nope", "no such parameter", condition="item-not-found")
    std, resp = lc.build_set_error(err)
    assert resp.get("responseCode") == "NotFound"
    assert std.find("{urn:ietf:params:xml:ns:xmpp-stanzas}item-not-found") is not None
    answer = iq_from(xmpp, [std, resp], type_="error")
    assert answer["setResponse"]["responseCode"] == "NotFound"


# --- the XEP's own shapes ------------------------------------------------------------------------


def test_xep_error_with_param_error():
    iq = ET.fromstring(
        "<iq xmlns='jabber:client' type='error' id='2'><error type='modify'>"
        "<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "<paramError xmlns='urn:xmpp:iot:control' var='Output'>Invalid parameter type.</paramError>"
        "</error></iq>"
    )
    err = lc.parse_error(iq)
    assert (err.parameter, err.text, err.condition) == ("Output", "Invalid parameter type.", "bad-request")


def test_xep_examples():
    req = lc.parse_set(
        ET.fromstring(
            "<set xmlns='urn:xmpp:iot:control' xml:lang='en'>"
            "<node nodeId='DigitalOutput1'/><node nodeId='DigitalOutput2'/>"
            "<boolean name='Output' value='false'/></set>"
        )
    )
    assert [n.id for n in req.nodes] == ["DigitalOutput1", "DigitalOutput2"]
    req = lc.parse_set(
        ET.fromstring(
            "<set xmlns='urn:xmpp:iot:control'><int name='FadeTimeMilliseconds' value='500'/>"
            "<int name='OutputPercent' value='10'/><long name='L' value='500000000000000'/>"
            "<string name='Row1' value='Temperature: 21.4 \u00b0C'/><double name='4-20mA' value='8.192'/>"
            "<date name='TariffStartDate' value='2013-05-01'/><time name='Alarm Time' value='08:00:00'/>"
            "<dateTime name='At' value='2013-04-02T08:00:00'/><duration name='D' value='PT3M30S'/>"
            "<color name='Color' value='3399FF'/></set>"
        )
    )
    assert [v.value for v in req.values] == [
        500,
        10,
        500000000000000,
        "Temperature: 21.4 \u00b0C",
        8.192,
        dt.date(2013, 5, 1),
        dt.time(8),
        dt.datetime(2013, 4, 2, 8).astimezone(),
        Duration(minutes=3, seconds=30),
        "3399FF",
    ]
    assert lc.parse_set_response(ET.fromstring("<setResponse xmlns='urn:xmpp:iot:control'/>")).as_requested
    assert lc.parse_get_form(
        ET.fromstring("<getForm xmlns='urn:xmpp:iot:control' xml:lang='en'><node nodeId='D1'/></getForm>")
    ).nodes == (NodeRef("D1"),)
    form_set = lc.parse_set(
        ET.fromstring(
            "<set xmlns='urn:xmpp:iot:control'><x type='submit' xmlns='jabber:x:data'>"
            "<field var='xdd session' type='hidden'><value>325ED0F3</value></field>"
            "<field var='OutputPercent' type='text-single'><value>10</value></field></x></set>"
        )
    )
    assert form_set.form_values == {"OutputPercent": "10"}


@settings(max_examples=100)
@given(form_text, st.sampled_from(["", "g1"]))
def test_legacy_form_groups(label, group):
    params = [ControlParameter("A", T.INT, 1, label=label, group=group, min=0, max=9, step=3)]
    form = lc.build_control_form(params, title="Dimmer")
    assert (form.find(".//{urn:xmpp:iot:control}parameterGroup") is not None) == bool(group)
    assert control_form.parse_control_form(wire(form)).parameters == tuple(params)


def test_response_and_get_form_round_trips():
    resp = lc.parse_set_response(
        wire(lc.build_set_response(nodes=[NodeRef("n", "s", "c")], parameters=["a"], response_code=None))
    )
    assert (resp.nodes, resp.parameters, resp.response_code) == ((NodeRef("n", "s", "c"),), ("a",), "")
    request = lc.parse_get_form(wire(lc.build_get_form(nodes=[NodeRef("x")], user_token="u")))
    assert (request.nodes, request.user_token, request.namespace) == ((NodeRef("x"),), "u", lc.NAMESPACE)


# --- hostile input -------------------------------------------------------------------------------


def test_legacy_hostile_input():
    many = "".join(f"<boolean name='p{i}' value='true'/>" for i in range(control.MAX_PARAMETERS + 1))
    with pytest.raises(ProtocolError, match="at most 256"):
        lc.parse_set(ET.fromstring(f"<set xmlns='{NS}'>{many}</set>"))
    for bad in [
        "<enum name='a' value='b'/>",
        "<foo/>",
        "<b n='a' v='true'/>",
        "<boolean name='a' value='true'>" + "<q>" * 30 + "</q>" * 30 + "</boolean>",
        "<node/>",
    ]:
        with pytest.raises(ProtocolError):
            lc.parse_set(ET.fromstring(f"<set xmlns='{NS}'>{bad}</set>"))
    with pytest.raises(ProtocolError):
        lc.parse_set(ET.fromstring("<set xmlns='urn:nfi:iot:ctr:1.0'/>"))
    with pytest.raises(ProtocolError):
        lc.parse_error(ET.fromstring("<iq xmlns='jabber:client' type='error'/>"))
    with pytest.raises(ParameterError) as info:
        lc.parse_set(ET.fromstring(f"<set xmlns='{NS}'><int name='Level'/></set>"))
    assert info.value.parameter == "Level"
    assert info.value.details[0].tag == f"{{{NS}}}paramError"


def _plugin_error(response: str) -> str:
    """An iq error holding only the plugin's ``<setResponse/>`` shape."""
    return f"<iq xmlns='jabber:client' type='error'>{response}</iq>"


@pytest.mark.parametrize(
    "parse, template, limit",
    [
        (lc.parse_set, f"<set xmlns='{NS}'><boolean name='{{x}}' value='true'/></set>", control.MAX_NAME_LENGTH),
        (lc.parse_set, f"<set xmlns='{NS}'><node nodeId='{{x}}'/></set>", control.MAX_NAME_LENGTH),
        (lc.parse_set, f"<set xmlns='{NS}'><node nodeId='n' cacheType='{{x}}'/></set>", control.MAX_NAME_LENGTH),
        (lc.parse_set, f"<set xmlns='{NS}' serviceToken='{{x}}'/>", control.MAX_TOKEN_LENGTH),
        (
            lc.parse_set_response,
            f"<setResponse xmlns='{NS}'><parameter name='{{x}}'/></setResponse>",
            control.MAX_NAME_LENGTH,
        ),
        (lc.parse_set_response, f"<setResponse xmlns='{NS}' responseCode='{{x}}'/>", control.MAX_NAME_LENGTH),
        (
            lc.parse_get_form,
            f"<getForm xmlns='{NS}'><node nodeId='n' sourceId='{{x}}'/></getForm>",
            control.MAX_NAME_LENGTH,
        ),
        (lc.parse_get_form, f"<getForm xmlns='{NS}' userToken='{{x}}'/>", control.MAX_TOKEN_LENGTH),
        (
            lc.parse_error,
            _plugin_error(
                f"<setResponse xmlns='{NS}' responseCode='NotFound'><error var='{{x}}'>why</error></setResponse>"
            ),
            control.MAX_NAME_LENGTH,
        ),
    ],
)
def test_legacy_names_ids_and_tokens_beyond_their_limit_are_refused(parse, template, limit):
    assert_attribute_limit(parse, template, limit)


def test_the_default_error_slixmpp_inserts_does_not_hide_the_devices_answer():
    # What an owner's slixmpp hands over for a 2014-draft refusal: its own bare
    # feature-not-implemented, inserted beside the device's setResponse.
    iq = ET.fromstring(
        "<iq xmlns='jabber:client' type='error'>"
        f"<setResponse xmlns='{NS}' responseCode='NotFound'><parameter name='dimmer'/>"
        "<error var='Output'>Invalid field dimmer</error></setResponse>"
        "<error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    )
    refusal = lc.parse_error(iq)
    assert refusal.parameter == "dimmer" and "Invalid field dimmer" in str(refusal)
