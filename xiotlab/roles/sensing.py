"""The thing's answers to sensor data readouts and event subscriptions.

Requests come in the current dialect or its older namespaces and are answered
in the namespace asked. Only friends of the thing (and its owner) are
served; anyone else gets ``forbidden`` and learns nothing about the fields.
A readout is answered in the iq result when it fits in one response;
larger ones (long histories) are announced with ``<started>`` and follow in
messages. A readout asked for later (``when`` in the future) is accepted now
and read then (:mod:`.scheduled`, which bounds how many and how far ahead).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import TypeVar

from slixmpp import JID, Presence

from ..errors import Forbidden, ProtocolError, StanzaError, XmppError
from ..protocol import events, hints, legacy_sensordata, sensordata, series
from ..protocol.namespaces import LEGACY_SENSOR_DATA
from ..protocol.values import Field, ReadoutError
from ..runtime import ErrorReply, XmppClient, network
from ..runtime.connection import Connection, State
from .access import Access
from .nodes import NodeDirectory
from .scheduled import Schedule
from .sensors import Sensors
from .service import Service
from .subscriptions import Active, SubscriptionEngine, chunked, fragments

T = TypeVar("T")
log = logging.getLogger("xiotlab")
Features = Callable[[str, float], Awaitable[frozenset[str]]]  # what a peer (full JID) announces
FEATURES_TIMEOUT = 5.0  # for a subscriber to say whether it reads runs of values (series.NAMESPACE)
HELD_MESSAGES = 1000  # event messages kept while reconnecting (each up to a thousand values)


class SensorService(Service[XmppClient]):
    """Serves one thing's sensors: readouts, subscriptions, pushed values."""

    features = (*sensordata.NAMESPACES, *events.NAMESPACES, LEGACY_SENSOR_DATA)

    def __init__(
        self,
        client: XmppClient,
        access: Access,
        history_size: int,
        nodes: NodeDirectory | None = None,
        peer_features: Features | None = None,
    ) -> None:
        super().__init__(client)
        self.access = access
        self.peer_features = peer_features  # to learn which subscribers read runs of values
        self.sensors = Sensors(history_size)
        self.nodes = nodes  # a concentrator's: readouts and subscriptions that name nodes reach them
        self.subscriptions = SubscriptionEngine(self._send, self.read)
        self.schedule = Schedule()
        self._incoming: list[Field] = []
        self._incoming_lock = threading.Lock()
        self._drain_pending = False
        # Messages for subscribers while the connection is being taken back.
        self.held: collections.deque[tuple[str, ET.Element, bool]] = collections.deque(maxlen=HELD_MESSAGES)

    def register(self) -> None:
        self.serve(sensordata.NAMESPACES, "req", self._readout)
        self.serve(sensordata.NAMESPACES, "cancel", self._cancel)
        self.serve(events.NAMESPACES, "subscribe", self._subscribe)
        self.serve(events.NAMESPACES, "unsubscribe", self._unsubscribe)
        self.serve((LEGACY_SENSOR_DATA,), "req", self._legacy_readout)
        self.serve((LEGACY_SENSOR_DATA,), "cancel", self._legacy_cancel)
        self.on_event("presence_unavailable", self._subscriber_left)
        # Subscribers are kept while a lost session may be resumed; they go with the session.
        self.on_event("session_end", self._forget_subscribers)
        self.on_state(self._on_connection)
        self.on_state(self._forget_scheduled)
        self._undo.append(self.schedule.clear)  # detached: no readout runs for a service that no longer answers

    def report(self, fields: list[Field]) -> None:
        """Take reported values from any thread; they reach history and subscriptions on the network loop.

        Reports arriving while one hop to the loop is pending ride along with it,
        so a thread reporting as fast as it can costs one wake-up per loop turn.
        """
        with self._incoming_lock:
            self._incoming.extend(fields)
            if self._drain_pending:
                return
            self._drain_pending = True
        network.call_soon(self._drain)

    def _drain(self) -> None:
        with self._incoming_lock:
            fields, self._incoming = self._incoming, []
            self._drain_pending = False
        self.record(fields)
        self.subscriptions.report(fields)

    # --- the thing's own sensors, and its nodes' -----------------------------------

    async def read(self, request: sensordata.ReadoutRequest) -> tuple[list[Field], list[ReadoutError]]:
        """What ``request`` reads: the thing's own fields, or those of each node it names.

        A node that does not exist is a readout error naming it; the others are still read.
        """
        if not request.nodes:
            return await self.sensors.read(request)
        fields: list[Field] = []
        errors: list[ReadoutError] = []
        for ref in request.nodes:
            node = self.nodes.find(ref) if self.nodes is not None else None
            if node is None:
                errors.append(ReadoutError(f"{self.client.jid.bare} has no node {ref.id!r}.", node=ref))
                continue
            found, failed = await node.sensor_data.read(dataclasses.replace(request, nodes=(node.ref,)))
            fields += found
            errors += failed
        return fields, errors

    def record(self, fields: list[Field]) -> None:
        """Keep reported fields in the histories of the sensors (the thing's, or its nodes') they belong to."""
        if self.nodes is None:
            self.sensors.record(fields)
            return
        for field in fields:
            if field.node is None:
                self.sensors.record((field,))
            elif (node := self.nodes.find(field.node)) is not None:  # a node removed meanwhile keeps nothing
                node.sensor_data.record((field,))

    # --- requests ---------------------------------------------------------

    async def _readout(self, sender: JID, element: ET.Element):
        self.access.check_reader(sender)
        request = await self._narrowed(sender, sensordata.parse_request(element))
        when = request.when
        if when is not None and self.schedule.later(when):
            self.schedule.add(sender.full, request.id, when, lambda: self._readout_now(sender, request))
            return [sensordata.build_accepted(request.id, queued=True, ns=request.namespace)]
        fields, errors = await self.read(request)
        responses = fragments(request.id, fields, errors, request.namespace)
        if len(responses) == 1:
            return responses  # all of it in the iq result
        self._send(sender.full, responses, store=True)
        return [sensordata.build_started(request.id, ns=request.namespace)]

    async def _narrowed(self, sender: JID, request: sensordata.ReadoutRequest) -> sensordata.ReadoutRequest:
        """``request`` cut down to what ``sender`` may read (a provisioning service may narrow it)."""
        allowed = await self.access.readable(sender, request.fields, request.categories, request.nodes)
        return request if allowed == request.fields else dataclasses.replace(request, fields=allowed)

    async def _readout_now(self, sender: JID, request: sensordata.ReadoutRequest) -> None:
        """A scheduled readout at its time: the data in messages, the last ``<resp>`` saying it is the last."""
        if not self._may_still_read(sender):
            return
        fields, errors = await self.read(request)
        self._send(sender.full, fragments(request.id, fields, errors, request.namespace), store=True)

    def _may_still_read(self, sender: JID) -> bool:
        """Whether a scheduled readout goes ahead: its requester may still read, and the thing is online."""
        try:
            self.access.check_reader(sender)  # friendship may have ended since it was accepted
        except Forbidden:
            return False
        return self.client.online

    def _forget_scheduled(self, _connection, state: State) -> None:
        if state is State.OFFLINE:
            self.schedule.clear()  # stopped, or given up on: a thing that is gone keeps no promises

    async def _cancel(self, sender: JID, element: ET.Element):
        self.access.check_reader(sender)
        # An empty result either way: a readout that ran already cannot be told from one never asked.
        self.schedule.cancel(sender.full, sensordata.parse_cancel(element).id)
        return None

    async def _subscribe(self, sender: JID, element: ET.Element):
        self.access.check_reader(sender)
        subscription = events.parse_subscribe(element)
        asked = tuple(trigger.name for trigger in subscription.fields)
        allowed = await self.access.readable(sender, asked, subscription.categories, subscription.nodes)
        if allowed != asked:  # narrowed: only what may be read is watched
            kept = [t for t in subscription.fields if t.name in allowed] or [events.FieldTrigger(n) for n in allowed]
            subscription = dataclasses.replace(subscription, fields=tuple(kept))
        active = self.subscriptions.add(sender.full, subscription)
        if self.peer_features is not None:
            network.spawn(self._offer_runs(active))
        return [events.build_subscription_accepted(subscription.id, ns=subscription.namespace)]

    async def _offer_runs(self, active: Active) -> None:
        """Send ``active``'s subscriber runs of values (:mod:`..protocol.series`) if it announces it reads them.

        Until it answers, and if it never does, events travel in the plain form.
        """
        assert self.peer_features is not None
        try:
            features = await self.peer_features(active.subscriber, FEATURES_TIMEOUT)
        except XmppError:
            return  # no discovery: the plain form, which every reader reads
        except Exception:
            log.exception("asking %s what it reads failed; its events stay in the plain form", active.subscriber)
            return
        active.series = series.NAMESPACE in features

    async def _unsubscribe(self, sender: JID, element: ET.Element):
        self.access.check_reader(sender)
        subscription_id = events.parse_unsubscribe(element).id
        if not self.subscriptions.remove(sender.full, subscription_id):
            raise StanzaError(f"No subscription {subscription_id!r} from {sender.full}.", condition="item-not-found")
        return None

    async def _legacy_readout(self, sender: JID, element: ET.Element):
        """XEP-0323 (v0.2, as slixmpp's plugin speaks it): accept, then the data in messages."""
        request = self._legacy_request(sender, element, legacy_sensordata.parse_request)
        try:
            request = await self._narrowed(sender, request)
        except Forbidden as refusal:
            raise _legacy_refusal(element, refusal) from None
        when = request.when
        if when is not None and self.schedule.later(when):
            try:
                self.schedule.add(sender.full, request.id, when, lambda: self._legacy_readout_now(sender, request))
            except StanzaError as refusal:
                raise _legacy_refusal(element, refusal) from None
            return [legacy_sensordata.build_accepted(request.id, queued=True)]
        payloads = await self._legacy_payloads(request)
        # After the iq result, which the caller sends when this returns.
        asyncio.get_running_loop().call_soon(self._send, sender.full, payloads, True)
        return [legacy_sensordata.build_accepted(request.id)]

    async def _legacy_readout_now(self, sender: JID, request: sensordata.ReadoutRequest) -> None:
        """A scheduled legacy readout at its time: ``<started>`` (the XEP's word after ``queued``), then the data."""
        if not self._may_still_read(sender):
            return
        payloads = await self._legacy_payloads(request)
        self._send(sender.full, [legacy_sensordata.build_started(request.id), *payloads], store=True)

    async def _legacy_payloads(self, request: sensordata.ReadoutRequest) -> list[ET.Element]:
        """``<fields>`` messages (``done`` on the last), and a ``<failure>`` last if a sensor failed."""
        fields, errors = await self.read(request)
        chunks = chunked(fields) or [[]]
        payloads = [
            legacy_sensordata.build_fields(request.id, chunk, done=not errors and i == len(chunks) - 1)
            for i, chunk in enumerate(chunks)
        ]
        if errors:
            payloads.append(legacy_sensordata.build_failure(request.id, errors))
        return payloads

    async def _legacy_cancel(self, sender: JID, element: ET.Element):
        cancel = self._legacy_request(sender, element, legacy_sensordata.parse_cancel)
        self.schedule.cancel(sender.full, cancel.id)  # the XEP's answer either way: <cancelled>
        return [legacy_sensordata.build_cancelled(cancel.id)]

    def _legacy_request(self, sender: JID, element: ET.Element, parse: Callable[[ET.Element], T]) -> T:
        """The parsed legacy request of a reader; a refusal in the shape legacy clients wait for."""
        try:
            self.access.check_reader(sender)
            return parse(element)
        except (Forbidden, ProtocolError) as refusal:
            raise _legacy_refusal(element, refusal) from None

    # --- events -----------------------------------------------------------

    def _send(self, subscriber: str, payloads: list[ET.Element], store: bool = False) -> None:
        if self.client.connection.state is State.RECONNECTING:
            # Kept for a session the server may resume; the oldest go first when too many wait.
            self.held.extend((subscriber, payload, store) for payload in payloads)
            return
        if not self.client.online:
            return
        for payload in payloads:
            # Headlines are never kept for an absent receiver, and the hint says so to any server.
            extra = [] if store else [hints.no_store()]
            self.client.send_message(subscriber, [payload, *extra], "normal" if store else "headline")

    def _subscriber_left(self, presence: Presence) -> None:
        self.subscriptions.drop_subscriber(presence["from"].full)

    def _forget_subscribers(self, _event) -> None:
        self.subscriptions.clear()

    def _on_connection(self, connection: Connection, state: State) -> None:
        if state is State.OFFLINE:
            self.subscriptions.clear()
        if state is not State.RECONNECTING:
            held, self.held = list(self.held), collections.deque(maxlen=HELD_MESSAGES)
            if state is State.ONLINE and connection.session == "resumed":
                for subscriber, payload, store in held:  # the same subscribers, still there: nothing lost
                    self._send(subscriber, [payload], store)


def _legacy_refusal(element: ET.Element, refusal: Forbidden | ProtocolError | StanzaError) -> Exception:
    """A legacy refusal: the standard error beside the ``<rejected>`` slixmpp's client waits for.

    A seqnr that cannot be echoed leaves the standard error alone.
    """
    if isinstance(refusal, StanzaError):  # a limit (scheduled readouts): its own condition
        kind, condition = refusal.kind, refusal.condition
    elif isinstance(refusal, Forbidden):
        kind, condition = "auth", "forbidden"
    else:
        kind, condition = "modify", "bad-request"
    try:
        return ErrorReply(*legacy_sensordata.build_refusal(element, str(refusal), condition=condition, kind=kind))
    except (TypeError, ValueError):
        return StanzaError(str(refusal), condition=condition, kind=kind)
