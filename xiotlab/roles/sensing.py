"""The thing's answers to sensor data readouts and event subscriptions.

Requests come in the current dialect or its older namespaces and are answered
in the namespace asked. Only friends of the thing (and its owner) are
served; anyone else gets ``forbidden`` and learns nothing about the fields.
A readout is answered in the iq result when it fits in one response;
larger ones (long histories) are announced with ``<started>`` and follow in
messages.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from slixmpp import JID, Presence

from ..protocol import events, sensordata
from ..protocol.values import Field
from .sensors import Sensors
from .subscriptions import SubscriptionEngine

if TYPE_CHECKING:
    from .thing import Thing

NO_STORE = "{urn:xmpp:hints}no-store"


class SensorService:
    """Serves one thing's sensors: readouts, subscriptions, pushed values."""

    namespaces = (*sensordata.NAMESPACES, *events.NAMESPACES)

    def __init__(self, thing: Thing, history_size: int) -> None:
        self.thing = thing
        self.sensors = Sensors(history_size)
        self.subscriptions = SubscriptionEngine(self._send, self.sensors.read)
        client = thing._client
        client.serve(sensordata.NAMESPACES, "req", self._readout, types=("get",))
        client.serve(sensordata.NAMESPACES, "cancel", self._cancel, types=("set",))
        client.serve(events.NAMESPACES, "subscribe", self._subscribe)
        client.serve(events.NAMESPACES, "unsubscribe", self._unsubscribe)
        client.stream.add_event_handler("presence_unavailable", self._subscriber_left)
        client.stream.add_event_handler("disconnected", lambda _: self.subscriptions.clear())

    def report(self, fields: list[Field]) -> None:
        """Keep reported values and pass them to the subscriptions (network thread)."""
        self.sensors.record(fields)
        self.subscriptions.report(fields)

    # --- requests ---------------------------------------------------------

    async def _readout(self, sender: JID, element: ET.Element):
        self.thing._check_reader(sender)
        request = sensordata.parse_request(element)
        fields, errors = await self.sensors.read(request)
        ns = request.namespace
        if len(fields) + len(errors) <= sensordata.MAX_RESPONSE_ITEMS:
            return [sensordata.build_response(request.id, fields, errors, ns=ns)]
        limit = sensordata.MAX_RESPONSE_ITEMS
        chunks = [fields[i:i + limit] for i in range(0, len(fields), limit)]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            self._send(sender.full, [sensordata.build_response(
                request.id, chunk, errors if last else (), more=not last, ns=ns)], store=True)
        return [sensordata.build_started(request.id, ns=ns)]

    async def _cancel(self, sender: JID, element: ET.Element):
        self.thing._check_reader(sender)
        sensordata.parse_cancel(element)  # readouts are answered at once: nothing left to cancel
        return None

    async def _subscribe(self, sender: JID, element: ET.Element):
        self.thing._check_reader(sender)
        subscription = events.parse_subscribe(element)
        self.subscriptions.add(sender.full, subscription)
        return [events.build_subscription_accepted(subscription.id, ns=subscription.namespace)]

    async def _unsubscribe(self, sender: JID, element: ET.Element):
        self.thing._check_reader(sender)
        self.subscriptions.remove(sender.full, events.parse_unsubscribe(element).id)
        return None

    # --- events -----------------------------------------------------------

    def _send(self, subscriber: str, payloads: list[ET.Element], store: bool = False) -> None:
        stream = self.thing._client.stream
        if not self.thing.online:
            return
        for payload in payloads:
            # Headlines are never kept for an absent receiver, and the hint says so to any server.
            message = stream.make_message(mto=subscriber, mtype="normal" if store else "headline")
            message.xml.append(payload)
            if not store:
                message.xml.append(ET.Element(NO_STORE))
            message.send()

    def _subscriber_left(self, presence: Presence) -> None:
        self.subscriptions.drop_subscriber(presence["from"].full)
