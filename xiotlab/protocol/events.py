"""Sensor data event subscriptions, ``urn:nfi:iot:events:1.0`` and its older names.

A client subscribes with ``<subscribe>`` in an iq; the device answers with
``<accepted>`` *in the sensor data namespace* and from then on reports each
event as a sensor data ``<resp id=subscription-id>`` in a message, possibly
preceded by ``<started>`` and fragmented with ``more``, exactly like a readout
(:mod:`.sensordata` builds and reads those; this module only maps the
namespace). ``<unsubscribe>`` is answered by an empty iq result.

Namespaces pair up: ``urn:nfi:iot:events:1.0`` goes with
``urn:nfi:iot:sd:1.0``, ``urn:nf:…`` with ``urn:nf:…``, ``urn:ieee:…`` with
``urn:ieee:…`` (:func:`sensor_data_namespace`). Builders take the *events*
namespace the subscription used.

Where the specification page and its schema disagree, this module follows the
schema (the reference implementation does too): ``minInt``, ``maxInt`` and
``maxAge`` are xs:duration (the page says xs:dateTime), ``req`` is a boolean,
and the per-field ``v``, ``by``, ``up``, ``dn`` are numbers, the last three
strictly positive. The page's example sends ``subscribe`` in an iq of type
get while its text says set; a device should accept both.

Limits: those of :mod:`.sensordata` (whose selection a subscription shares):
at most :data:`MAX_FIELD_TRIGGERS` fields; a subscription id, which events and
the accepted answer echo, and each field name, which the device keeps as long
as the subscription lives, may be at most :data:`~.elements.MAX_NAME_LENGTH`
characters long. Longer or more raise ``ProtocolError`` (``bad-request`` on the
wire). What a device accepts beyond these (intervals, subscriptions per
friend) is the device's policy: :mod:`xiotlab.roles.subscriptions`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable

from ..errors import ProtocolError
from . import elements as x
from . import sensordata
from .namespaces import EVENTS, EVENTS_ALIASES
from .sensordata import Accepted, ReadoutRequest, ReadoutResponse
from .values import UTC, Category, Duration, Field, NodeRef, ReadoutError, check_xml_text, format_double, parse_double

__all__ = [
    "NAMESPACES", "MAX_FIELD_TRIGGERS",
    "FieldTrigger", "Subscription", "Unsubscription",
    "sensor_data_namespace", "events_namespace",
    "build_subscribe", "parse_subscribe", "build_unsubscribe", "parse_unsubscribe",
    "build_subscription_accepted", "parse_subscription_accepted", "build_event", "parse_event", "parse",
]  # fmt: skip

NAMESPACES: tuple[str, ...] = (EVENTS, *EVENTS_ALIASES)
"""Every namespace of this dialect, the current one first."""

MAX_FIELD_TRIGGERS = sensordata.MAX_FIELD_NAMES
"""Most fields a subscription may name."""

_SENSOR_DATA_OF = dict(zip(NAMESPACES, sensordata.NAMESPACES, strict=True))
_EVENTS_OF = {sd: ev for ev, sd in _SENSOR_DATA_OF.items()}


def sensor_data_namespace(events_ns: str) -> str:
    """The sensor data namespace that goes with an events namespace (accepted, events)."""
    x.check_namespace(events_ns, NAMESPACES, "events")
    return _SENSOR_DATA_OF[events_ns]


def events_namespace(sensor_data_ns: str) -> str:
    """The events namespace that goes with a sensor data namespace."""
    x.check_namespace(sensor_data_ns, sensordata.NAMESPACES, "sensor data")
    return _EVENTS_OF[sensor_data_ns]


def _number(value: float | None, what: str, *, positive: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, not {value!r}")
    value = float(value)
    if positive and not value > 0:  # also refuses NaN
        raise ValueError(f"{what} must be greater than 0, not {value}; leave it out to not trigger on it")
    return value


@dataclasses.dataclass(frozen=True)
class FieldTrigger:
    """A field a subscription watches, with its change triggers.

    Attributes:
        name: the field name.
        current: the value as the client last saw it; changes are measured
            from it. ``None`` lets the device use its own current value.
        by: trigger when the value moves more than this, either way.
        up: trigger when it rises more than this.
        down: trigger when it falls more than this (``dn`` on the wire).
    """

    name: str
    current: float | None = None
    by: float | None = None
    up: float | None = None
    down: float | None = None

    def __post_init__(self) -> None:
        check_xml_text(self.name, "a field name")
        object.__setattr__(self, "current", _number(self.current, f"current value of {self.name!r}", positive=False))
        for part in ("by", "up", "down"):
            object.__setattr__(self, part, _number(getattr(self, part), f"{part} of {self.name!r}", positive=True))

    def triggered(self, reference: float, value: float) -> bool:
        """Whether moving from ``reference`` to ``value`` fires this trigger.

        Changes must be *larger* than the thresholds. A trigger without any
        threshold fires on every change.
        """
        change = value - reference
        if self.by is None and self.up is None and self.down is None:
            return change != 0
        return (
            (self.by is not None and abs(change) > self.by)
            or (self.up is not None and change > self.up)
            or (self.down is not None and -change > self.down)
        )


def _duration(value: Duration | dt.timedelta | None, what: str) -> Duration | None:
    if value is None or isinstance(value, Duration):
        return value
    if isinstance(value, dt.timedelta):
        return Duration.from_timedelta(value)
    raise TypeError(f"{what} must be a Duration or timedelta, not {value!r}")


def _trigger(value: FieldTrigger | str) -> FieldTrigger:
    if isinstance(value, str):
        return FieldTrigger(value)
    if not isinstance(value, FieldTrigger):
        raise TypeError(f"subscription fields must be FieldTrigger or str, not {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Subscription:
    """A subscription to sensor data events (``<subscribe>``).

    Attributes:
        id: the subscription id; events carry it. Unique per client full JID;
            reuse it to renew a subscription that seems dead.
        categories: field categories wanted; ``Category.ALL`` by default.
        fields: the watched fields (:class:`FieldTrigger`, or plain names);
            empty means all fields.
        nodes: concentrator nodes; empty means the device itself.
        max_age: how old historical data in events may be.
        min_interval: least time between two events; earlier triggers wait.
        max_interval: most time between two events; an event fires when it
            passes. A client can watch the subscription's health with it.
        service_token, device_token, user_token: provisioning tokens.
        request: also read out at once, as a readout request would.
        namespace: the events namespace it came in; not compared.
    """

    id: str
    categories: Category = Category.ALL
    fields: tuple[FieldTrigger, ...] = ()
    nodes: tuple[NodeRef, ...] = ()
    max_age: Duration | None = None
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    service_token: str | None = None
    device_token: str | None = None
    user_token: str | None = None
    request: bool = False
    namespace: str = dataclasses.field(default=EVENTS, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if isinstance(self.fields, str):
            raise TypeError(f"fields must be a sequence, not a single str; wrap it: ({self.fields!r},)")
        set_(self, "fields", tuple(_trigger(f) for f in self.fields))
        set_(self, "nodes", tuple(self.nodes))
        for name in ("max_age", "min_interval", "max_interval"):
            set_(self, name, _duration(getattr(self, name), name))
        set_(self, "request", bool(self.request))
        # The paired readout request checks id, categories, nodes, tokens and limits, once for both.
        self._request(None)

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of the watched fields."""
        return tuple(f.name for f in self.fields)

    def readout_request(self, now: dt.datetime | None = None) -> ReadoutRequest:
        """The readout each event performs, as a request in the paired sensor data namespace.

        With a ``max_age``, fields older than ``now - max_age`` are excluded.
        """
        from_time = None
        if self.max_age is not None:
            try:
                from_time = _negated(self.max_age).add_to(now or dt.datetime.now(UTC))
            except (OverflowError, ValueError):
                pass  # an age beyond the calendar Python knows: no lower bound
        return self._request(from_time)

    def _request(self, from_time: dt.datetime | None) -> ReadoutRequest:
        return ReadoutRequest(
            id=self.id,
            categories=self.categories,
            fields=self.field_names,
            nodes=tuple(self.nodes),
            from_time=from_time,
            service_token=self.service_token,
            device_token=self.device_token,
            user_token=self.user_token,
            namespace=_SENSOR_DATA_OF.get(self.namespace, sensordata.NAMESPACES[0]),
        )


def _negated(duration: Duration) -> Duration:
    return dataclasses.replace(duration, negative=not duration.negative)


@dataclasses.dataclass(frozen=True)
class Unsubscription:
    """The client ends a subscription (``<unsubscribe>``); answered by an empty iq result."""

    id: str
    namespace: str = dataclasses.field(default=EVENTS, compare=False)


# --- subscribe ------------------------------------------------------------------------------


def build_subscribe(subscription: Subscription, *, ns: str = EVENTS) -> ET.Element:
    """``<subscribe>`` for an iq (set, by the text of the specification)."""
    x.check_namespace(ns, NAMESPACES, "events")
    element = ET.Element(x.qname(ns, "subscribe"), id=subscription.id)
    sensordata.write_categories(element, subscription.categories)
    for attribute, duration in (
        ("maxAge", subscription.max_age),
        ("minInt", subscription.min_interval),
        ("maxInt", subscription.max_interval),
    ):
        x.put(element, attribute, None if duration is None else str(duration))
    x.write_tokens(element, subscription.service_token, subscription.device_token, subscription.user_token)
    x.put_true(element, "req", subscription.request)
    x.add_nodes(element, x.qname(ns, "nd"), subscription.nodes)
    for trigger in subscription.fields:
        f = ET.SubElement(element, x.qname(ns, "f"), n=trigger.name)
        for attribute, number in (("v", trigger.current), ("by", trigger.by), ("up", trigger.up), ("dn", trigger.down)):
            x.put(f, attribute, None if number is None else format_double(number))
    return element


def _read_number(element: ET.Element, name: str, *, positive: bool) -> float | None:
    text = x.optional(element, name)
    if text is None:
        return None
    value, _ = parse_double(text, x.where(element, name))
    if positive and not value > 0:
        raise ProtocolError(
            f"{x.where(element, name)} is {text!r}; a change threshold must be greater than 0 "
            "(leave the attribute out to not trigger on it)"
        )
    return value


def _read_duration(element: ET.Element, name: str) -> Duration | None:
    text = x.optional(element, name)
    return None if text is None else Duration.parse(text, x.where(element, name))


@x.guard
def parse_subscribe(element: ET.Element) -> Subscription:
    """Read a ``<subscribe>`` in any of the dialect's namespaces."""
    ns, _ = x.expect(element, NAMESPACES, ("subscribe",))
    # The schema makes the node id optional here, unlike in readout requests.
    nodes, fields = sensordata.read_selection(
        element, ns, max_nodes=sensordata.MAX_NODES, max_fields=MAX_FIELD_TRIGGERS, node_id_required=False
    )
    triggers = tuple(
        FieldTrigger(
            x.required(f, "n", x.MAX_NAME_LENGTH),
            current=_read_number(f, "v", positive=False),
            by=_read_number(f, "by", positive=True),
            up=_read_number(f, "up", positive=True),
            down=_read_number(f, "dn", positive=True),
        )
        for f in fields
    )
    return Subscription(
        id=x.required(element, "id", x.MAX_NAME_LENGTH),
        categories=sensordata.read_categories(element),
        fields=triggers,
        nodes=nodes,
        max_age=_read_duration(element, "maxAge"),
        min_interval=_read_duration(element, "minInt"),
        max_interval=_read_duration(element, "maxInt"),
        request=x.boolean(element, "req"),
        namespace=ns,
        **x.read_tokens(element),
    )


# --- unsubscribe ---------------------------------------------------------------------------


def build_unsubscribe(subscription_id: str, *, ns: str = EVENTS) -> ET.Element:
    """``<unsubscribe>`` for an iq set."""
    x.check_namespace(ns, NAMESPACES, "events")
    check_xml_text(subscription_id, "subscription id")
    return ET.Element(x.qname(ns, "unsubscribe"), id=subscription_id)


@x.guard
def parse_unsubscribe(element: ET.Element) -> Unsubscription:
    """Read ``<unsubscribe>``."""
    ns, _ = x.expect(element, NAMESPACES, ("unsubscribe",))
    return Unsubscription(x.required(element, "id", x.MAX_NAME_LENGTH), namespace=ns)


# --- what the device sends back -----------------------------------------------------------------


def build_subscription_accepted(subscription_id: str, *, ns: str = EVENTS) -> ET.Element:
    """The iq result payload accepting a subscription: ``<accepted>`` in the paired sensor data namespace."""
    return sensordata.build_accepted(subscription_id, ns=sensor_data_namespace(ns))


def parse_subscription_accepted(element: ET.Element) -> Accepted:
    """Read the ``<accepted>`` answering a subscription (a sensor data element)."""
    return sensordata.parse_accepted(element)


def build_event(
    subscription_id: str,
    fields: Iterable[Field] = (),
    errors: Iterable[ReadoutError] = (),
    *,
    more: bool = False,
    ns: str = EVENTS,
    series: bool = False,
) -> ET.Element:
    """The message payload of one event: a sensor data ``<resp>`` carrying the subscription id.

    ``series``: runs of many values of one field in xiotlab's extension (:mod:`.series`).
    """
    return sensordata.build_response(
        subscription_id, fields, errors, more=more, ns=sensor_data_namespace(ns), series=series
    )


def parse_event(element: ET.Element) -> ReadoutResponse:
    """Read an event payload (a sensor data ``<resp>``); its ``id`` is the subscription id."""
    return sensordata.parse_response(element)


_PARSERS: dict[str, Callable[[ET.Element], Subscription | Unsubscription]] = {
    "subscribe": parse_subscribe,
    "unsubscribe": parse_unsubscribe,
}


@x.guard
def parse(element: ET.Element) -> Subscription | Unsubscription:
    """Read any top-level element of this dialect (subscribe, unsubscribe)."""
    return x.dispatch(element, NAMESPACES, _PARSERS)
