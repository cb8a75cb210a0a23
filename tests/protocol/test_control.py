"""Control, current dialect: typed values, set/resp/getForm, the control form, errors, validate()."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xiotlab.errors import ParameterError, ProtocolError, StanzaError, XmppError
from xiotlab.protocol import control as c
from xiotlab.protocol import control_form as cf
from xiotlab.protocol import dataforms
from xiotlab.protocol import parameters as pa
from xiotlab.protocol.namespaces import CONTROL
from xiotlab.protocol.parameters import ControlParameter, ParameterOption, ParameterType, ParameterValue
from xiotlab.protocol.values import Duration, NodeRef

from .limits import assert_attribute_limit
from .schema import SCHEMA_FILES, assert_valid, specs_dir

T = ParameterType
NS = CONTROL


def wire(element: ET.Element) -> ET.Element:
    """Serialize and re-parse, as a peer would receive it."""
    return ET.fromstring(ET.tostring(element))


# --- value strategies --------------------------------------------------------------

_zone = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
_tz = st.none() | _zone
_xml_char = st.characters(min_codepoint=0x20, blacklist_categories=("Cs",)).filter(
    lambda ch: ch not in "\ufffe\uffff"
) | st.sampled_from("\t\n\r")
xml_text = st.text(_xml_char, max_size=30)
# XML end-of-line handling turns a CR in element text into LF, so form texts leave it out.
form_text = st.text(_xml_char.filter(lambda ch: ch != "\r"), max_size=30)
durations = st.builds(
    Duration,
    years=st.integers(0, 10**6),
    months=st.integers(0, 1000),
    days=st.integers(0, 10**6),
    hours=st.integers(0, 1000),
    minutes=st.integers(0, 1000),
    seconds=st.decimals(min_value=0, max_value=10**6, places=3),
    negative=st.booleans(),
)


def values_of(t: ParameterType, text=xml_text):
    return {
        T.BOOLEAN: st.booleans(),
        T.COLOR: st.from_regex(r"[0-9a-fA-F]{6}([0-9a-fA-F]{2})?", fullmatch=True),
        T.DATE: st.dates(),
        # naive datetimes are local time and come back zoned; see test_naive_datetimes_are_local
        T.DATETIME: st.datetimes(timezones=_zone),
        T.DOUBLE: st.floats(allow_nan=True, allow_infinity=True),
        T.DURATION: durations,
        T.ENUM: text,
        T.INT: st.integers(-(2**31), 2**31 - 1),
        T.LONG: st.integers(-(2**63), 2**63 - 1),
        T.STRING: text,
        T.TIME: st.times(timezones=_tz),
    }[t]


def key(v):
    """A comparison key that tells NaN from NaN equal and keeps time zone offsets apart."""
    if isinstance(v, float):
        return ("float", repr(v))
    if isinstance(v, (dt.date, dt.time)):
        return (type(v).__name__, v.isoformat())
    if isinstance(v, Duration):
        return ("duration", v, str(v))
    if isinstance(v, tuple):
        return tuple(key(x) for x in v)
    if isinstance(v, ParameterOption):
        return (key(v.value), v.label)
    return v


def param_key(p: ControlParameter):
    return tuple(key(getattr(p, f)) for f in ControlParameter.__dataclass_fields__)


@st.composite
def parameter_values(draw, types=tuple(ParameterType)):
    t = draw(st.sampled_from(types))
    name = draw(xml_text.filter(bool))
    enum_type = draw(xml_text) if t is T.ENUM else ""
    return ParameterValue(name, t, draw(values_of(t)), enum_type)


@st.composite
def control_parameters(draw, name=None):
    t = draw(st.sampled_from(tuple(ParameterType)))
    text = form_text
    vals = values_of(t, text)
    kw = {}
    if t.ordered and draw(st.booleans()):
        # bounds of times and dates without zones, so that they always compare
        bound = vals
        if t is T.TIME:
            bound = st.times()
        elif t is T.DOUBLE:
            bound = st.floats(allow_nan=False)
        lo, hi = sorted([draw(bound), draw(bound)])
        kw["min"] = draw(st.sampled_from([lo, None]))
        kw["max"] = draw(st.sampled_from([hi, None]))
    if t.numeric and draw(st.booleans()):
        kw["step"] = draw(st.integers(1, 10**6) if t in (T.INT, T.LONG) else st.floats(min_value=1e-9, max_value=1e9))
    if t is not T.BOOLEAN and (t is T.ENUM or draw(st.booleans())):
        kw["options"] = tuple(ParameterOption(v, lbl) for v, lbl in draw(st.lists(st.tuples(vals, text), max_size=4)))
    if t is T.ENUM:
        kw["enum_type"] = draw(text)
    if t is T.STRING and not kw.get("options") and draw(st.booleans()):
        kw["pattern"] = draw(st.sampled_from([r"[A-Z]+", r"\d{3}-\d{4}", r".*", r"on|off"]))
    return ControlParameter(
        name=name or draw(text.filter(lambda s: s and s != c.SESSION_FIELD)),
        type=t,
        value=draw(st.none() | vals),
        label=draw(text),
        description=draw(text),
        read_only=draw(st.booleans()),
        page=draw(st.sampled_from(["", "Output", "Direction", "Settings"])),
        group=draw(st.sampled_from(["", "direction", "g2"])),
        **kw,
    )


@st.composite
def parameter_lists(draw):
    names = draw(st.lists(form_text.filter(lambda s: s and s != c.SESSION_FIELD), unique=True, max_size=6))
    return [draw(control_parameters(name=n)) for n in names]


# --- schema conformance --------------------------------------------------------------

# Two defects of Control.xsd itself: the Color pattern wraps ^...$ around an
# alternation (in XML Schema regexes ^ and $ are ordinary characters, so no color
# validates), and <set/>'s choice lacks maxOccurs, so it admits one child only
# although the specification's own examples set several parameters at once.
_KNOWN_DEFECTS = ("XsdPatternFacets(['^([0-9a-fA-F]{6})|([0-9a-fA-F]{8})$'])", "model='choice', occurs=[0, 1]")


@pytest.fixture(scope="session")
def fixed_schema(nfi_schema, tmp_path_factory):
    """The same schemas with the two known Control.xsd defects repaired."""
    import xmlschema

    from .schema import _DATA_FORMS_STANDIN

    d = tmp_path_factory.mktemp("fixed-xsd")
    (d / "standin.xsd").write_text(_DATA_FORMS_STANDIN)
    files = [str(d / "standin.xsd")]
    for name in SCHEMA_FILES:
        text = (specs_dir() / name).read_text(encoding="utf-8-sig")
        if name == "Control.xsd":
            text = text.replace("^([0-9a-fA-F]{6})|([0-9a-fA-F]{8})$", "([0-9a-fA-F]{6})|([0-9a-fA-F]{8})")
            text = text.replace(
                "<xs:choice minOccurs='0'>\n\t\t\t\t<xs:element ref='nd'>",
                "<xs:choice minOccurs='0' maxOccurs='unbounded'>\n\t\t\t\t<xs:element ref='nd'>",
                1,
            )
            assert "maxOccurs='unbounded'>\n\t\t\t\t<xs:element ref='nd'>" in text
        (d / name).write_text(text)
        files.append(str(d / name))
    return xmlschema.XMLSchema(files, build=True)


def assert_conforms(official, fixed, element):
    """Valid against the official schemas, or failing only by their known defects and valid once repaired."""
    errors = [str(e) for e in official.iter_errors(element)]
    if errors:
        assert all(any(d in e for d in _KNOWN_DEFECTS) for e in errors), errors[0][:500]
        assert_valid(fixed, element)


def test_known_schema_defects_are_real(nfi_schema, fixed_schema):
    # If the shared schema is ever fixed, assert_conforms stops excusing anything.
    color = ET.fromstring(f"<set xmlns='{NS}'><cl n='c' v='FF00AA'/></set>")
    two = ET.fromstring(f"<set xmlns='{NS}'><b n='a' v='true'/><b n='b' v='false'/></set>")
    assert list(nfi_schema.iter_errors(color)) and list(nfi_schema.iter_errors(two))
    assert_valid(fixed_schema, color)
    assert_valid(fixed_schema, two)
    bad = ET.fromstring(f"<set xmlns='{NS}'><cl n='c' v='FF00A'/></set>")
    assert list(fixed_schema.iter_errors(bad))


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parameter_values())
def test_every_type_builds_schema_valid(nfi_schema, fixed_schema, value):
    el = c.build_set([value])
    assert_conforms(nfi_schema, fixed_schema, el)


def test_full_set_conforms(nfi_schema, fixed_schema):
    el = c.build_set(
        [
            ParameterValue("On", T.BOOLEAN, True),
            ParameterValue("Level", T.INT, 50),
            ParameterValue("Mode", T.ENUM, "Auto", "Modes"),
        ],
        nodes=[NodeRef("N1", "S", "P"), NodeRef("N2")],
        service_token="st1",
        device_token="dt1",
        user_token="ut1",
    )
    assert_conforms(nfi_schema, fixed_schema, el)
    for child in el:
        assert_valid(nfi_schema, child)


def test_set_form_conforms(nfi_schema):
    el = c.build_set_form([ParameterValue("On", T.BOOLEAN, True)], session="S1")
    assert_valid(nfi_schema, el)


def test_response_get_form_param_error_and_group_conform(nfi_schema):
    assert_valid(nfi_schema, c.build_set_response())
    assert_valid(nfi_schema, c.build_set_response(nodes=[NodeRef("N1", "S")], parameters=["A", "B"]))
    assert_valid(nfi_schema, c.build_get_form())
    assert_valid(nfi_schema, c.build_get_form(nodes=[NodeRef("N1"), NodeRef("N2", "x", "y")], user_token="u"))
    assert_valid(nfi_schema, c.build_param_error("Output", "out of range"))
    form = cf.build_control_form([ControlParameter("A", T.INT, 1, group="g")])
    groups = list(form.iter(f"{{{NS}}}pGroup"))
    assert len(groups) == 1
    assert_valid(nfi_schema, groups[0])


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parameter_lists())
def test_control_forms_conform(nfi_schema, params):
    assert_valid(nfi_schema, cf.build_control_form(params, title="T", session="s"))


# --- round trips ----------------------------------------------------------------------


@settings(max_examples=500)
@given(
    st.lists(parameter_values(), max_size=8),
    st.sampled_from(c.NAMESPACES),
    st.lists(
        st.builds(NodeRef, xml_text, st.none() | xml_text.filter(bool), st.none() | xml_text.filter(bool)), max_size=3
    ),
)
def test_set_round_trip(values, namespace, nodes):
    got = c.parse_set(wire(c.build_set(values, nodes=nodes, namespace=namespace, user_token="u")))
    assert got.namespace == namespace
    assert got.nodes == tuple(nodes)
    assert got.user_token == "u"
    assert [(v.name, v.type, key(v.value), v.enum_type) for v in got.values] == [
        (v.name, v.type, key(v.value), v.enum_type) for v in values
    ]


@settings(max_examples=300)
@given(parameter_lists(), st.sampled_from(c.NAMESPACES), form_text, form_text)
def test_form_round_trip_is_lossless(params, namespace, title, session):
    form = cf.parse_control_form(wire(cf.build_control_form(params, title=title, session=session, namespace=namespace)))
    assert [param_key(p) for p in form.parameters] == [param_key(p) for p in params]
    assert form.title == title
    assert form.session == session


@settings(max_examples=200)
@given(st.lists(parameter_values(), max_size=6, unique_by=lambda v: v.name), form_text)
def test_set_form_round_trip(values, session):
    values = [
        v
        for v in values
        if "\r" not in v.name + (v.value if isinstance(v.value, str) else "") and v.name != c.SESSION_FIELD
    ]
    got = c.parse_set(wire(c.build_set_form(values, session=session)))
    assert got.values == ()
    if session:
        assert got.form.fields[0].values == (session,)
    else:
        assert got.form.get_field(c.SESSION_FIELD) is None
    assert got.form_values == {v.name: v.lexical for v in values}


def test_set_form_values_are_validated_through_the_parameters():
    params = [ControlParameter("Level", T.INT, min=0, max=100), ControlParameter("On", T.BOOLEAN)]
    req = c.parse_set(
        wire(c.build_set_form([ParameterValue("Level", T.INT, 40), ParameterValue("On", T.BOOLEAN, True)], session="x"))
    )
    assert [(p.name, v) for p, v in c.resolve_set(req, params)] == [("Level", 40), ("On", True)]


def test_color_fields_use_xep_0331_datatypes():
    form = cf.build_control_form(
        [
            ControlParameter("rgb", T.COLOR, "3399FF"),
            ControlParameter("rgba", T.COLOR, "3399FF80"),
            ControlParameter("unknown", T.COLOR),
        ]
    )
    v = "{http://jabber.org/protocol/xdata-validate}"
    found = [
        (f.get("var"), f.find(v + "validate").get("datatype"), f.findtext(f"{v}validate/{v}regex"))
        for f in form.iter("{jabber:x:data}field")
    ]
    assert found == [
        ("rgb", "xdc:Color", "^[0-9a-fA-F]{6}$"),
        ("rgba", "xdc:ColorAlpha", "^[0-9a-fA-F]{8}$"),
        ("unknown", "xdc:Color", "^[0-9a-fA-F]{6}$"),
    ]


def test_carriage_returns_in_form_text_become_line_feeds():
    p = ControlParameter("S", T.STRING, "a\r\nb", description="x\ry")
    got = cf.parse_control_form(wire(cf.build_control_form([p]))).get("S")
    assert (got.value, got.description) == ("a\nb", "x\ny")


def test_naive_datetimes_are_local():
    naive = dt.datetime(2024, 5, 1, 12, 30)
    p = ControlParameter("At", T.DATETIME, naive)
    assert p.value == naive.astimezone(dt.UTC) and p.value.tzinfo is not None
    got = c.parse_set(wire(c.build_set([ParameterValue("At", T.DATETIME, naive)]))).values[0].value
    assert got == naive.astimezone()
    unzoned = c.parse_set(_set("<dt n='At' v='2024-05-01T12:30:00'/>")).values[0].value
    assert unzoned == dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)


@pytest.fixture
def berlin(monkeypatch):
    """Local time an hour or two east of UTC, so that a naive datetime's zone shows."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_datetimes_travel_and_stay_in_utc(berlin):
    naive = dt.datetime(2020, 1, 1, 12)
    sent = wire(c.build_set([ParameterValue("At", T.DATETIME, naive)]))
    assert sent.find(f"{{{CONTROL}}}dt").get("v") == "2020-01-01T11:00:00Z"
    assert ControlParameter("At", T.DATETIME, naive).value.utcoffset() == dt.timedelta(0)
    assert pa.to_lexical(T.DATETIME, naive) == "2020-01-01T11:00:00Z"


def test_typed_set_keeps_carriage_returns():
    v = ParameterValue("S", T.STRING, "a\r\nb\tc")
    assert c.parse_set(wire(c.build_set([v]))).values[0].value == "a\r\nb\tc"


# --- specification examples ------------------------------------------------------------

SPOTLIGHT_SET = f"""<set xmlns='{NS}'>
<b n="MainSwitch" v="true"/>
<db n="HorizontalAngle" v="0"/>
<db n="ElevationAngle" v="0"/>
</set>"""

SIMPLE_ACTION = """<iq type='set' from='client@example.org/1234' to='device@example.org/abcd' id='R0001'>
  <set xmlns='urn:nf:iot:ctr:1.0'>
    <b n="MainSwitch" v="true"/>
    <db n="HorizontalAngle" v="0"/>
    <db n="ElevationAngle" v="0"/>
  </set>
</iq>"""

SIMPLE_RESPONSE = """<iq type='result' from='device@example.org/abcd' to='client@example.org/1234' id='R0001'>
  <resp xmlns='urn:nf:iot:ctr:1.0'>
    <p n="MainSwitch"/>
    <p n="HorizontalAngle"/>
    <p n="ElevationAngle"/>
  </resp>
</iq>"""

FORM_RESPONSE = """<x type='form'
    xmlns='jabber:x:data'
    xmlns:xdv='http://jabber.org/protocol/xdata-validate'
    xmlns:xdl='http://jabber.org/protocol/xdata-layout'
    xmlns:xdd='urn:xmpp:xdata:dynamic'>
  <title>Spotlight</title>
  <xdl:page label='Output'>
    <xdl:fieldref var='MainSwitch'/>
  </xdl:page>
  <xdl:page label='Direction'>
    <xdl:fieldref var='HorizontalAngle'/>
    <xdl:fieldref var='ElevationAngle'/>
  </xdl:page>
  <field var='xdd session' type='hidden'>
    <value>83CAA4BC-6D3A-40E6-90DC-5C3CAA030AE1</value>
  </field>
  <field var='MainSwitch' type='boolean' label='Main switch'>
    <desc>If the spotlight is turned on or off.</desc>
    <value>true</value>
    <xdd:notSame/>
  </field>
  <field var='HorizontalAngle' type='text-single' label='Horizontal angle:'>
    <desc>Horizontal angle of the spotlight.</desc>
    <value>0</value>
    <xdv:validate datatype='xs:double'>
      <xdv:range min='-180' max='180'/>
    </xdv:validate>
    <xdd:notSame/>
    <pGroup xmlns='urn:nfi:iot:ctr:1.0' name='direction'/>
  </field>
  <field var='ElevationAngle' type='text-single' label='Elevation angle:'>
   <desc>Elevation angle of the spotlight.</desc>
   <value>0</value>
   <xdv:validate datatype='xs:double'>
     <xdv:range min='-90' max='90'/>
   </xdv:validate>
   <xdd:notSame/>
   <pGroup xmlns='urn:nfi:iot:ctr:1.0' name='direction'/>
  </field>
</x>"""

FORM_SET = """<set xmlns='urn:nfi:iot:ctr:1.0'>
    <x type='submit' xmlns='jabber:x:data'>
      <field var='xdd session' type='hidden'>
        <value>83CAA4BC-6D3A-40E6-90DC-5C3CAA030AE1</value>
      </field>
      <field var='MainSwitch' type='boolean'>
        <value>true</value>
      </field>
      <field var='HorizontalAngle' type='text-single'>
        <value>0</value>
      </field>
      <field var='ElevationAngle' type='text-single'>
       <value>0</value>
      </field>
    </x>
  </set>"""


def test_spec_parameter_example():
    req = c.parse_set(ET.fromstring(SPOTLIGHT_SET))
    assert [(v.name, v.type, v.value) for v in req.values] == [
        ("MainSwitch", T.BOOLEAN, True),
        ("HorizontalAngle", T.DOUBLE, 0.0),
        ("ElevationAngle", T.DOUBLE, 0.0),
    ]


def test_spec_simple_action_in_alias_namespace():
    iq = ET.fromstring(SIMPLE_ACTION)
    req = c.parse_set(iq[0])
    assert req.namespace == "urn:nf:iot:ctr:1.0"
    assert req.parameter_names == ("MainSwitch", "HorizontalAngle", "ElevationAngle")
    resp = c.parse_set_response(ET.fromstring(SIMPLE_RESPONSE)[0])
    assert resp.namespace == "urn:nf:iot:ctr:1.0"
    assert resp.parameters == ("MainSwitch", "HorizontalAngle", "ElevationAngle")
    assert not resp.as_requested
    # the answer goes back in the namespace asked
    answer = c.build_set_response(namespace=req.namespace)
    assert answer.tag == "{urn:nf:iot:ctr:1.0}resp" and c.parse_set_response(answer).as_requested


def test_spec_get_form_and_form():
    req = c.parse_get_form(ET.fromstring(f"<getForm xmlns='{NS}'/>"))
    assert req.nodes == () and req.namespace == NS
    form = cf.parse_control_form(ET.fromstring(FORM_RESPONSE))
    assert form.title == "Spotlight"
    assert form.session == "83CAA4BC-6D3A-40E6-90DC-5C3CAA030AE1"
    main, h, e = form.parameters
    assert (main.type, main.value, main.label, main.page) == (T.BOOLEAN, True, "Main switch", "Output")
    assert main.description == "If the spotlight is turned on or off."
    assert (h.type, h.value, h.min, h.max, h.page, h.group) == (T.DOUBLE, 0.0, -180.0, 180.0, "Direction", "direction")
    assert (e.min, e.max, e.group) == (-90.0, 90.0, "direction")


def test_spec_form_set():
    req = c.parse_set(ET.fromstring(FORM_SET))
    assert req.form_values == {"MainSwitch": "true", "HorizontalAngle": "0", "ElevationAngle": "0"}
    form = cf.parse_control_form(ET.fromstring(FORM_RESPONSE))
    resolved = c.resolve_set(req, form.parameters)
    assert [(p.name, v) for p, v in resolved] == [
        ("MainSwitch", True),
        ("HorizontalAngle", 0.0),
        ("ElevationAngle", 0.0),
    ]


IOTGATEWAY_STYLE_FORM = """<x xmlns='jabber:x:data' xmlns:xdv='http://jabber.org/protocol/xdata-validate'
    xmlns:xdd='urn:xmpp:xdata:dynamic' type='form'>
  <title>lamp@example.org</title>
  <field var='Color' type='text-single' label='Color'><desc>Lamp color.</desc><value>FF8000</value>
    <xdv:validate xmlns:xdc='urn:xmpp:xdata:color' datatype='xdc:color'><xdv:regex>^[0-9a-fA-F]{6}$</xdv:regex>
    </xdv:validate><xdd:notSame/></field>
  <field var='Level' type='text-single' label='Level'><desc>Unknown now.</desc><value></value>
    <xdv:validate datatype='xs:int'><xdv:range min='0' max='100'/></xdv:validate><xdd:notSame/></field>
  <field var='Mode' type='list-single' label='Mode'><desc>Mode.</desc><value>Eco</value>
    <option label='Economy'><value>Eco</value></option><option label='Full'><value>Full</value></option>
    <xdd:notSame/></field>
  <field var='Note' type='text-multi' label='Note'><desc/><value>line 1</value><value>line 2</value>
    <xdv:validate datatype='xs:string'/><xdd:notSame/></field>
</x>"""


def test_iotgateway_style_form():
    color, level, mode, note = cf.parse_control_form(ET.fromstring(IOTGATEWAY_STYLE_FORM)).parameters
    assert (color.type, color.value) == (T.COLOR, "FF8000")
    assert (level.type, level.value, level.min, level.max) == (T.INT, None, 0, 100)
    assert (mode.type, mode.value) == (T.STRING, "Eco")
    assert mode.options == (ParameterOption("Eco", "Economy"), ParameterOption("Full", "Full"))
    assert (note.type, note.value) == (T.STRING, "line 1\nline 2")


# --- errors ------------------------------------------------------------------------------


def test_parameter_error_is_an_xmpp_stanza_error_and_a_value_error():
    err = ParameterError("Level", "too big", hint="send at most 100")
    assert isinstance(err, StanzaError) and isinstance(err, XmppError) and isinstance(err, ValueError)
    assert (err.parameter, err.text, err.condition) == ("Level", "too big", "bad-request")
    assert "Level" in str(err) and "send at most 100" in str(err)


@given(
    xml_text.filter(bool), form_text, st.sampled_from(["bad-request", "item-not-found"]), st.sampled_from(c.NAMESPACES)
)
def test_error_round_trip(name, text, condition, namespace):
    el = c.build_error(ParameterError(name, text, condition=condition), namespace=namespace)
    iq = ET.Element("{jabber:client}iq", type="error")
    iq.append(el)
    got = c.parse_error(wire(iq))
    assert isinstance(got, ParameterError)
    assert (got.parameter, got.condition) == (name, condition)
    assert got.text == (text or "the parameter was refused")
    assert got.kind == ("modify" if condition == "bad-request" else "cancel")
    assert el.find(f"{{{namespace}}}paramError") is not None


def test_error_types_follow_the_condition():
    assert c.build_error(ParameterError("a", "b")).get("type") == "modify"
    assert c.build_error(ParameterError("a", "b", condition="item-not-found")).get("type") == "cancel"
    assert c.build_error(StanzaError("x", condition="conflict", text="locked", kind="wait")).get("type") == "wait"


def test_refusals_carry_their_param_error_for_the_runtime():
    # The runtime answers a StanzaError from a handler with kind, condition, text and details.
    params = [ControlParameter("Level", T.INT, max=10)]
    for ns in c.NAMESPACES:
        with pytest.raises(ParameterError) as info:
            c.resolve_set(c.parse_set(c.build_set([ParameterValue("Level", T.INT, 11)], namespace=ns)), params)
        (detail,) = info.value.details
        assert c.parse_param_error(detail) == ("Level", info.value.text)
        assert detail.tag == f"{{{ns}}}paramError"
        assert (info.value.kind, info.value.condition) == ("modify", "bad-request")
    with pytest.raises(ParameterError) as info:
        c.parse_set(ET.fromstring("<set xmlns='urn:ieee:iot:ctr:1.0'><i n='L' v='x'/></set>"))
    assert info.value.details[0].tag == "{urn:ieee:iot:ctr:1.0}paramError"


def test_error_without_param_error_is_a_plain_stanza_error():
    el = c.build_error(StanzaError("no", condition="forbidden", text="Access denied."))
    got = c.parse_error(wire(el))
    assert type(got) is StanzaError
    assert (got.condition, got.text) == ("forbidden", "Access denied.")


def test_iotgateway_param_error_with_n_attribute():
    el = ET.fromstring(
        "<error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "<paramError xmlns='urn:ieee:iot:ctr:1.0' n='Output'>Invalid parameter type.</paramError></error>"
    )
    got = c.parse_error(el)
    assert (got.parameter, got.text, got.condition) == ("Output", "Invalid parameter type.", "bad-request")


def test_several_param_errors():
    err = ParameterError("a", "x", others=(("b", "y"),))
    got = c.parse_error(wire(c.build_error(err)))
    assert (got.parameter, got.others) == ("a", (("b", "y"),))


# --- validate ----------------------------------------------------------------------------


def refused(param, value, *fragments):
    with pytest.raises(ParameterError) as info:
        pa.validate(param, value)
    assert info.value.parameter == param.name
    for f in fragments:
        assert f in str(info.value), str(info.value)
    return info.value


def test_validate_converts_lexical_and_python_values():
    assert pa.validate(ControlParameter("i", T.INT), "42") == 42
    assert pa.validate(ControlParameter("i", T.INT), 42) == 42
    assert pa.validate(ControlParameter("d", T.DOUBLE), 3) == 3.0
    assert pa.validate(ControlParameter("b", T.BOOLEAN), "1") is True
    assert pa.validate(ControlParameter("t", T.TIME), "08:00:00") == dt.time(8)
    assert pa.validate(ControlParameter("dr", T.DURATION), dt.timedelta(minutes=3, seconds=30)) == Duration(
        minutes=3, seconds=Decimal(30)
    )
    assert pa.validate(ControlParameter("dr", T.DURATION), "PT3M30S").to_timedelta() == dt.timedelta(seconds=210)
    assert pa.validate(ControlParameter("dt", T.DATETIME), "2013-04-02T08:00:00Z") == dt.datetime(
        2013, 4, 2, 8, tzinfo=dt.UTC
    )
    assert pa.validate(ControlParameter("c", T.COLOR), "3399FF") == "3399FF"


def test_validate_out_of_range():
    p = ControlParameter("Output", T.INT, min=0, max=100)
    refused(p, 200, "200 is above the maximum 100", "from 0 to 100")
    refused(p, -1, "below the minimum 0")
    assert pa.validate(p, 100) == 100
    refused(ControlParameter("d", T.DOUBLE, max=1.5), 1.6, "above the maximum 1.5")
    refused(ControlParameter("d", T.DOUBLE, min=0), math.nan, "NaN")
    refused(ControlParameter("day", T.DATE, min=dt.date(2024, 1, 1)), "2023-12-31", "below the minimum 2024-01-01")


def test_validate_wrong_step():
    p = ControlParameter("Percent", T.INT, min=5, max=100, step=5)
    refused(p, 12, "not on the step grid 5 + k*5")
    assert pa.validate(p, 15) == 15
    d = ControlParameter("Angle", T.DOUBLE, step=0.1)
    assert pa.validate(d, 0.3) == 0.3
    refused(d, 0.35, "step grid")
    refused(d, math.inf, "step")


def test_validate_unknown_option():
    p = ControlParameter("Mode", T.ENUM, options=["Auto", "Manual"], enum_type="Modes")
    refused(p, "Off", "not one of the options", "Auto, Manual")
    assert pa.validate(p, "Auto") == "Auto"
    i = ControlParameter("Speed", T.INT, options=[1, 2, 3])
    refused(i, "4", "not one of the options")
    assert pa.validate(i, "2") == 2


def test_validate_wrong_type():
    refused(ControlParameter("i", T.INT), 1.5, "wrong type")
    refused(ControlParameter("i", T.INT), True, "wrong type")
    refused(ControlParameter("i", T.INT), "1.5", "syntax error")
    refused(ControlParameter("i", T.INT), str(2**31), "syntax error")
    refused(ControlParameter("b", T.BOOLEAN), 1, "wrong type")
    refused(ControlParameter("b", T.BOOLEAN), "yes", "syntax error")
    refused(ControlParameter("s", T.STRING), 5, "wrong type")
    refused(ControlParameter("d", T.DATE), dt.datetime(2020, 1, 1), "wrong type")
    refused(ControlParameter("c", T.COLOR), "red", "syntax error")
    refused(ControlParameter("db", T.DOUBLE), "infinity", "syntax error")
    refused(ControlParameter("db", T.DOUBLE), "1_000", "syntax error")


def test_validate_read_only_pattern_and_zones():
    refused(ControlParameter("ro", T.INT, read_only=True), 1, "read-only")
    refused(ControlParameter("code", T.STRING, pattern=r"\d{3}"), "12a", "does not match")
    assert pa.validate(ControlParameter("code", T.STRING, pattern=r"\d{3}"), "123") == "123"
    p = ControlParameter("at", T.TIME, min=dt.time(8))
    refused(p, "09:00:00Z", "cannot be compared")


def test_resolve_set_names_the_refused_parameter():
    params = [
        ControlParameter("On", T.BOOLEAN),
        ControlParameter("Level", T.DOUBLE, min=0, max=1),
        ControlParameter("Mode", T.ENUM, options=["A", "B"], enum_type="M"),
    ]
    ok = c.parse_set(
        c.build_set(
            [
                ParameterValue("On", T.BOOLEAN, True),
                ParameterValue("Level", T.INT, 1),
                ParameterValue("Mode", T.ENUM, "B", "M"),
            ]
        )
    )
    assert [v for _, v in c.resolve_set(ok, params)] == [True, 1.0, "B"]
    for values, name, condition, fragment in [
        ([ParameterValue("Nope", T.BOOLEAN, True)], "Nope", "item-not-found", "no such parameter"),
        ([ParameterValue("On", T.STRING, "x")], "On", "bad-request", "wrong type"),
        ([ParameterValue("Level", T.DOUBLE, 2.0)], "Level", "bad-request", "above the maximum"),
        ([ParameterValue("Mode", T.ENUM, "A", "Other")], "Mode", "bad-request", "enumeration type"),
    ]:
        with pytest.raises(ParameterError) as info:
            c.resolve_set(c.parse_set(c.build_set(values)), params)
        assert (info.value.parameter, info.value.condition) == (name, condition)
        assert fragment in str(info.value)


def test_control_parameter_refuses_inconsistent_descriptions():
    for kw, fragment in [
        (dict(type=T.STRING, min="a"), "min applies"),
        (dict(type=T.INT, min=5, max=1), "above max"),
        (dict(type=T.DOUBLE, step=0), "positive"),
        (dict(type=T.DATE, step=1), "step applies"),
        (dict(type=T.BOOLEAN, options=[True]), "cannot have options"),
        (dict(type=T.INT, enum_type="X"), "enum_type"),
        (dict(type=T.STRING, pattern="("), "not a regular expression"),
        (dict(type="float"), "float"),
        (dict(type=T.INT, value="x"), "xs:int"),
        (dict(type=T.STRING, label="\x00"), "U+0000"),
    ]:
        with pytest.raises(ProtocolError, match=re.escape(fragment)):
            ControlParameter("p", **kw)


# --- hostile input --------------------------------------------------------------------------


def _set(children: str, ns: str = NS) -> ET.Element:
    return ET.fromstring(f"<set xmlns='{ns}'>{children}</set>")


def test_parameter_limit():
    at_limit = "".join(f"<b n='p{i}' v='true'/>" for i in range(c.MAX_PARAMETERS))
    assert len(c.parse_set(_set(at_limit)).values) == c.MAX_PARAMETERS
    with pytest.raises(ProtocolError, match="at most 256 parameters"):
        c.parse_set(_set(at_limit + "<b n='one-more' v='true'/>"))
    with pytest.raises(ProtocolError, match="at most 256"):
        c.build_set(ParameterValue(f"p{i}", T.BOOLEAN, True) for i in range(c.MAX_PARAMETERS + 1))
    with pytest.raises(ProtocolError, match="at most 256 nodes"):
        c.parse_set(_set("<nd id='n'/>" * (c.MAX_NODES + 1)))


def test_huge_documents_are_refused():
    fields = "".join(f"<field var='f{i}'><value>1</value></field>" for i in range(300))
    with pytest.raises(ProtocolError):
        c.parse_set(_set(f"<x xmlns='jabber:x:data' type='submit'>{fields}</x>"))
    many = "<x xmlns='jabber:x:data' type='form'><field var='a'>" + "<o xmlns='urn:other'/>" * 20000 + "</field></x>"
    with pytest.raises(ProtocolError, match="more than 16384 elements"):
        cf.parse_control_form(ET.fromstring(many))


def test_deep_nesting_is_refused():
    deep = "<b n='a' v='true'>" + "<q>" * 50 + "</q>" * 50 + "</b>"
    with pytest.raises(ProtocolError):
        c.parse_set(_set(deep))
    nested = "<e xmlns='urn:other'>" * 40 + "</e>" * 40
    form = f"<x xmlns='jabber:x:data' type='form'><field var='a'>{nested}</field></x>"
    with pytest.raises(ProtocolError, match="deeper than 8"):
        cf.parse_control_form(ET.fromstring(form))
    with pytest.raises(ProtocolError, match="deeper"):
        c.parse_set(_set(f"<x xmlns='jabber:x:data' type='submit'><field var='a'>{nested}</field></x>"))


def test_unknown_elements_are_refused():
    for bad in [
        "<foo/>",
        "<b xmlns='urn:other' n='a' v='1'/>",
        "<p n='a'/>",
        "<x xmlns='jabber:x:data' type='form'/>",
        "<b n='a' v='true'><extra/></b>",
    ]:
        with pytest.raises(ProtocolError):
            c.parse_set(_set(bad))
    with pytest.raises(ProtocolError):
        c.parse_set_response(ET.fromstring(f"<resp xmlns='{NS}'><b n='x' v='1'/></resp>"))
    with pytest.raises(ProtocolError):
        c.parse_get_form(ET.fromstring(f"<getForm xmlns='{NS}'><p n='x'/></getForm>"))
    with pytest.raises(ProtocolError):
        cf.parse_control_form(ET.fromstring("<x xmlns='jabber:x:data' type='form'><bogus/></x>"))


def test_wrong_roots_and_missing_attributes():
    with pytest.raises(ProtocolError, match="expected <set>"):
        c.parse_set(ET.fromstring("<set xmlns='urn:xmpp:iot:control'/>"))
    with pytest.raises(ProtocolError, match="expected <set>"):
        c.parse_set(ET.fromstring(f"<resp xmlns='{NS}'/>"))
    with pytest.raises(ProtocolError, match="lacks the required attribute 'n'"):
        c.parse_set(_set("<b v='true'/>"))
    with pytest.raises(ProtocolError, match="lacks the required attribute 'id'"):
        c.parse_set(_set("<nd/>"))
    with pytest.raises(ProtocolError, match="not a control namespace"):
        c.build_set([], namespace="urn:other")


def test_bad_values_name_the_parameter():
    with pytest.raises(ParameterError) as info:
        c.parse_set(_set("<i n='Level' v='ten'/>"))
    assert info.value.parameter == "Level" and "xs:int" in str(info.value)
    with pytest.raises(ParameterError) as info:
        c.parse_set(_set("<db n='X'/>"))
    assert info.value.parameter == "X" and "missing" in str(info.value)
    with pytest.raises(ParameterError):
        c.parse_set(_set(f"<s n='Long' v='{'a' * (pa.MAX_VALUE_LENGTH + 1)}'/>"))
    with pytest.raises(ProtocolError, match="'Level'"):
        c.build_set([ParameterValue("Level", T.INT, 2**40)])
    with pytest.raises(ProtocolError, match=r"U\+0001, which XML cannot carry"):
        c.build_set([ParameterValue("S", T.STRING, "a\x01b")])


@pytest.mark.parametrize(
    "parse, template, limit",
    [
        (c.parse_set, f"<set xmlns='{NS}'><b n='{{x}}' v='true'/></set>", c.MAX_NAME_LENGTH),
        (c.parse_set, f"<set xmlns='{NS}'><e n='E' v='A' t='{{x}}'/></set>", c.MAX_NAME_LENGTH),
        (c.parse_set, f"<set xmlns='{NS}'><nd id='{{x}}'/></set>", c.MAX_NAME_LENGTH),
        (c.parse_set, f"<set xmlns='{NS}'><nd id='n' src='{{x}}'/></set>", c.MAX_NAME_LENGTH),
        (c.parse_set, f"<set xmlns='{NS}' ut='{{x}}'/>", c.MAX_TOKEN_LENGTH),
        (
            c.parse_set,
            f"<set xmlns='{NS}'><x xmlns='jabber:x:data' type='submit'><field var='{{x}}'/></x></set>",
            c.MAX_NAME_LENGTH,
        ),
        (c.parse_set_response, f"<resp xmlns='{NS}'><p n='{{x}}'/></resp>", c.MAX_NAME_LENGTH),
        (c.parse_set_response, f"<resp xmlns='{NS}'><nd id='n' pt='{{x}}'/></resp>", c.MAX_NAME_LENGTH),
        (c.parse_get_form, f"<getForm xmlns='{NS}'><nd id='{{x}}'/></getForm>", c.MAX_NAME_LENGTH),
        (c.parse_get_form, f"<getForm xmlns='{NS}' st='{{x}}'/>", c.MAX_TOKEN_LENGTH),
        (c.parse_param_error, f"<paramError xmlns='{NS}' var='{{x}}'>why</paramError>", c.MAX_NAME_LENGTH),
    ],
)
def test_names_ids_and_tokens_beyond_their_limit_are_refused(parse, template, limit):
    # A hostile 200,000-character id would make the answer, which echoes it, exceed the server's stanza limit.
    assert_attribute_limit(parse, template, limit)


def test_form_values_that_do_not_fit_their_type_are_refused():
    form = (
        "<x xmlns='jabber:x:data' xmlns:v='http://jabber.org/protocol/xdata-validate' type='form'>"
        "<field var='L' type='text-single'><value>abc</value><v:validate datatype='xs:int'/></field></x>"
    )
    with pytest.raises(ProtocolError, match="'L'"):
        cf.parse_control_form(ET.fromstring(form))


def test_form_builder_refuses_duplicates_and_the_session_name():
    with pytest.raises(ProtocolError, match="share a name"):
        cf.build_control_form([ControlParameter("a", T.INT), ControlParameter("a", T.LONG)])
    with pytest.raises(ProtocolError, match="reserved"):
        cf.build_control_form([ControlParameter(c.SESSION_FIELD, T.STRING)])


def test_dataforms_reject_malformed_forms():
    for bad in [
        "<x xmlns='jabber:x:data' type='weird'/>",
        "<x xmlns='jabber:x:data' type='form'><field var='a' type='nope'/></x>",
        "<x xmlns='jabber:x:data' type='form'><field var='a'><option/></field></x>",
        "<x xmlns='jabber:x:data' type='form'><title><b/></title></x>",
    ]:
        with pytest.raises(ProtocolError):
            dataforms.parse_form(ET.fromstring(bad))
