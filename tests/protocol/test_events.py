"""Event subscriptions, urn:nfi:iot:events:1.0 and its aliases."""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol import events as ev
from xiotlab.protocol import sensordata as sd
from xiotlab.protocol.elements import MAX_NAME_LENGTH
from xiotlab.protocol.namespaces import EVENTS, SENSOR_DATA
from xiotlab.protocol.values import UTC, Category, Duration, Field, NodeRef, QoS, ReadoutError

from . import strategies as S
from .limits import assert_attribute_limit
from .schema import assert_valid
from .test_sensordata import assert_same_fields, grouped, wire, without_loc

any_namespace = st.sampled_from(ev.NAMESPACES)
positive = st.floats(min_value=0, exclude_min=True, allow_nan=False)
triggers = st.builds(
    ev.FieldTrigger,
    S.names,
    current=st.none() | st.floats(allow_nan=False),
    by=st.none() | positive,
    up=st.none() | positive,
    down=st.none() | positive,
)
subscriptions = st.builds(
    ev.Subscription,
    id=S.names,
    categories=S.categories,
    fields=st.lists(triggers, max_size=4).map(tuple),
    nodes=st.lists(S.nodes, max_size=3).map(tuple),
    max_age=st.none() | S.durations,
    min_interval=st.none() | S.durations,
    max_interval=st.none() | S.durations,
    service_token=st.none() | S.text,
    device_token=st.none() | S.text,
    user_token=st.none() | S.text,
    request=st.booleans(),
)


# --- round trips -------------------------------------------------------------------------------------


@given(subscriptions, any_namespace)
def test_subscriptions_round_trip_and_report_their_namespace(subscription, ns):
    parsed = ev.parse_subscribe(wire(ev.build_subscribe(subscription, ns=ns)))
    assert parsed == subscription
    assert parsed.namespace == ns
    assert ev.parse(wire(ev.build_subscribe(subscription, ns=ns))) == subscription


@pytest.mark.parametrize("ns", ev.NAMESPACES)
def test_unsubscribe_round_trips(ns):
    parsed = ev.parse(wire(ev.build_unsubscribe("sub-1", ns=ns)))
    assert parsed == ev.Unsubscription("sub-1")
    assert parsed.namespace == ns


@given(st.lists(S.fields(), max_size=6), st.lists(S.errors, max_size=2), st.booleans(), any_namespace)
def test_events_round_trip_in_the_paired_sensor_data_namespace(fields, errors, more, ns):
    element = wire(ev.build_event("sub-1", fields, errors, more=more, ns=ns))
    assert element.tag == f"{{{ev.sensor_data_namespace(ns)}}}resp"
    event = ev.parse_event(element)
    assert (event.id, event.more) == ("sub-1", more)
    written = grouped([*fields, *errors])
    assert_same_fields(event.fields, [i for i in written if isinstance(i, Field)])
    assert event.errors == tuple(i for i in written if isinstance(i, ReadoutError))


def test_namespaces_pair_up():
    pairs = {ev_ns: ev.sensor_data_namespace(ev_ns) for ev_ns in ev.NAMESPACES}
    assert pairs == {
        "urn:nfi:iot:events:1.0": "urn:nfi:iot:sd:1.0",
        "urn:nf:iot:events:1.0": "urn:nf:iot:sd:1.0",
        "urn:ieee:iot:events:1.0": "urn:ieee:iot:sd:1.0",
    }
    assert all(ev.events_namespace(sd_ns) == ev_ns for ev_ns, sd_ns in pairs.items())
    with pytest.raises(ValueError):
        ev.sensor_data_namespace(SENSOR_DATA)


@pytest.mark.parametrize("ns", ev.NAMESPACES)
def test_subscription_is_accepted_in_the_sensor_data_namespace(ns):
    element = wire(ev.build_subscription_accepted("sub-1", ns=ns))
    assert element.tag == f"{{{ev.sensor_data_namespace(ns)}}}accepted"
    assert ev.parse_subscription_accepted(element) == sd.Accepted("sub-1")


# --- conformance ------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(subscriptions)
def test_subscriptions_validate(nfi_schema, subscription):
    assert_valid(nfi_schema, ev.build_subscribe(subscription))


@settings(max_examples=25, deadline=None)
@given(st.lists(S.fields(), max_size=5))
def test_events_validate(nfi_schema, fields):
    assert_valid(nfi_schema, without_loc(ev.build_event("sub-1", fields, more=True)))


def test_unsubscribe_and_accepted_validate(nfi_schema):
    assert_valid(nfi_schema, ev.build_unsubscribe("sub-1"))
    assert_valid(nfi_schema, ev.build_subscription_accepted("sub-1"))


# --- the specification's example ---------------------------------------------------------------------------

SPEC_SUBSCRIBE = """<iq type='get' id='28' from='client@example.org/1234' to='device@example.org/abcd'>
  <subscribe xmlns='urn:nfi:iot:events:1.0' id='d4fe61155cb14e649e302092d3b406a8' m='true' minInt='PT1S' maxInt='PT1M'>
    <f n='Light' v='25.72' by='1'/>
    <f n='Motion' v='0' by='1'/>
  </subscribe>
</iq>"""

SPEC_ACCEPTED = """<iq id='28' type='result' to='client@example.org/1234' from='device@example.org/abcd'>
  <accepted xmlns='urn:nfi:iot:sd:1.0' id='d4fe61155cb14e649e302092d3b406a8'/>
</iq>"""

SPEC_EVENT = """<message to='client@example.org/1234' from='device@example.org/abcd'>
  <resp id="d4fe61155cb14e649e302092d3b406a8" xmlns="urn:nfi:iot:sd:1.0">
    <ts v="2018-07-18T15:19:57.732">
      <q n="Light" m="true" ar="true" v="26.11" u="%" />
      <b n="Motion" m="true" ar="true" v="true" />
    </ts>
  </resp>
</message>"""

SPEC_UNSUBSCRIBE = """<iq type='get' id='29' from='client@example.org/1234' to='device@example.org/abcd'>
  <unsubscribe xmlns='urn:nfi:iot:events:1.0' id='d4fe61155cb14e649e302092d3b406a8'/>
</iq>"""

SUB_ID = "d4fe61155cb14e649e302092d3b406a8"


def test_spec_example_flow():
    subscription = ev.parse(ET.fromstring(SPEC_SUBSCRIBE)[0])
    assert subscription == ev.Subscription(
        SUB_ID,
        Category.MOMENTARY,
        fields=(ev.FieldTrigger("Light", 25.72, by=1.0), ev.FieldTrigger("Motion", 0.0, by=1.0)),
        min_interval=Duration(seconds=1),
        max_interval=Duration(minutes=1),
    )
    assert ev.parse_subscription_accepted(ET.fromstring(SPEC_ACCEPTED)[0]) == sd.Accepted(SUB_ID)
    event = ev.parse_event(ET.fromstring(SPEC_EVENT)[0])
    stamp = dt.datetime(2018, 7, 18, 15, 19, 57, 732000, tzinfo=UTC)  # zone-less: read as UTC
    flags = {"categories": Category.MOMENTARY, "qos": QoS.AUTOMATIC_READOUT, "timestamp": stamp}
    assert event == sd.ReadoutResponse(
        SUB_ID, (Field("Light", 26.11, unit="%", decimals=2, **flags), Field("Motion", True, **flags))
    )
    assert ev.parse(ET.fromstring(SPEC_UNSUBSCRIBE)[0]) == ev.Unsubscription(SUB_ID)


# --- semantics ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger, reference, value, fires",
    [
        (ev.FieldTrigger("x", by=1), 10, 11, False),  # "larger than", not "at least"
        (ev.FieldTrigger("x", by=1), 10, 11.5, True),
        (ev.FieldTrigger("x", by=1), 10, 8.5, True),
        (ev.FieldTrigger("x", up=2), 10, 7, False),
        (ev.FieldTrigger("x", up=2), 10, 12.1, True),
        (ev.FieldTrigger("x", down=2), 10, 12.5, False),
        (ev.FieldTrigger("x", down=2), 10, 7.9, True),
        (ev.FieldTrigger("x", up=5, down=1), 10, 8.5, True),
        (ev.FieldTrigger("x"), 10, 10, False),
        (ev.FieldTrigger("x"), 10, 10.001, True),
    ],
)
def test_triggers(trigger, reference, value, fires):
    assert trigger.triggered(reference, value) is fires


def test_the_readout_each_event_performs():
    stamp = dt.datetime(2024, 3, 31, 12, tzinfo=UTC)
    subscription = ev.Subscription(
        "s",
        Category.HISTORICAL,
        fields=("Light", ev.FieldTrigger("Motion", by=1)),
        nodes=(NodeRef("N"),),
        max_age=Duration(months=1),
        user_token="u",
        namespace="urn:nf:iot:events:1.0",
    )
    request = subscription.readout_request(now=stamp)
    assert request == sd.ReadoutRequest(
        "s",
        Category.HISTORICAL,
        fields=("Light", "Motion"),
        nodes=(NodeRef("N"),),
        from_time=dt.datetime(2024, 2, 29, 12, tzinfo=UTC),
        user_token="u",
    )
    assert request.namespace == "urn:nf:iot:sd:1.0"


def test_ages_beyond_the_calendar_mean_no_lower_bound():
    subscription = ev.Subscription("s", max_age=Duration(years=9999))
    assert subscription.readout_request().from_time is None
    assert ev.parse_subscribe(ev.build_subscribe(subscription)) == subscription


def test_subscription_accepts_timedeltas_and_names():
    subscription = ev.Subscription("s", fields=["T"], min_interval=dt.timedelta(seconds=90))
    assert subscription.fields == (ev.FieldTrigger("T"),)
    assert str(ev.build_subscribe(subscription).get("minInt")) == "PT1M30S"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"by": 0}, "greater than 0"),
        ({"up": -1}, "greater than 0"),
        ({"down": math.nan}, "greater than 0"),
        ({"by": "1"}, "must be a number"),
    ],
)
def test_triggers_refuse_thresholds_the_schema_forbids(kwargs, error):
    with pytest.raises((ValueError, TypeError), match=error):
        ev.FieldTrigger("x", **kwargs)


def test_nodes_without_id_are_the_device_itself():
    element = ET.fromstring(f"<subscribe xmlns='{EVENTS}' id='1'><nd/></subscribe>")
    assert ev.parse_subscribe(element).nodes == (NodeRef(""),)


# --- hostile input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        f"<subscribe xmlns='{EVENTS}' id='{{x}}'/>",
        f"<subscribe xmlns='{EVENTS}' id='1'><nd id='{{x}}'/></subscribe>",
        f"<unsubscribe xmlns='{EVENTS}' id='{{x}}'/>",
    ],
)
def test_subscription_ids_beyond_their_limit_are_refused(template):
    assert_attribute_limit(ev.parse, template, MAX_NAME_LENGTH)


@pytest.mark.parametrize(
    "xml, message",
    [
        (f"<subscribe xmlns='{EVENTS}' id='1'><f n='x' by='0'/></subscribe>", "greater than 0"),
        (f"<subscribe xmlns='{EVENTS}' id='1'><f n='x' dn='-3'/></subscribe>", "attribute 'dn' of <f n='x'>"),
        (f"<subscribe xmlns='{EVENTS}' id='1'><f n='x' v='warm'/></subscribe>", "xs:double"),
        (f"<subscribe xmlns='{EVENTS}' id='1' minInt='1 minute'/>", "attribute 'minInt'"),
        (f"<subscribe xmlns='{EVENTS}' id='1' maxInt='2017-09-22T15:22:33Z'/>", "xs:duration"),
        (f"<subscribe xmlns='{EVENTS}' id='1' req='sure'/>", "attribute 'req'"),
        (f"<subscribe xmlns='{EVENTS}'/>", "lacks the required attribute 'id'"),
        (f"<subscribe xmlns='{EVENTS}' id='1'>" + "<f n='x'/>" * 1001 + "</subscribe>", "more than 1000 field names"),
        (f"<subscribe xmlns='{EVENTS}' id='1'>" + "<nd id='x'/>" * 1001 + "</subscribe>", "more than 1000 node"),
        (f"<unsubscribe xmlns='{EVENTS}'/>", "lacks the required attribute 'id'"),
        (f"<subscribe xmlns='{SENSOR_DATA}' id='1'/>", "expected <subscribe>"),
    ],
)
def test_hostile_subscriptions_raise_protocol_error(xml, message):
    with pytest.raises(ProtocolError) as caught:
        ev.parse(ET.fromstring(xml))
    assert message in str(caught.value)


def test_event_parser_refuses_non_elements():
    with pytest.raises(ProtocolError):
        ev.parse_event(None)  # type: ignore[arg-type]
