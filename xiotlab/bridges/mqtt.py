"""``MqttBridge``: an MQTT broker's topic tree as the nodes of a concentrator, values flowing both ways.

::

    lab = LabServer(mqtt=True).start()
    bridge = MqttBridge("bridge", lab=lab, owner="alice").start()    # the lab's broker, every topic
    # mosquitto_pub -t home/garden/weather -m '{"temperature": 21.3, "wind": {"speed": 3.2}}'
    bridge.find("home/garden/weather").history("wind.speed")
    alice.read("bridge", nodes=["home/garden/weather"])
    alice.set("bridge", {"value": "on"}, node="home/plug/set")     # published to home/plug/set

Every topic level is a node (data source ``mqtt``) whose id is the topic up to that level
(:mod:`.topics`), made when the first message of a topic arrives. A node that received
messages has the fields its payloads give (:mod:`.payloads`: numbers, booleans, ``21.5 °C``
quantities, JSON objects one field per leaf with dotted names, text), and two controls:

- ``value`` (text): publishing it sends the text to the node's topic;
- ``retain`` (bool, off at first): whether what ``value`` publishes is retained by the broker. It
  applies to a ``value`` set in the same request, whatever their order, and to later ones.

A retained message is delivered on subscribing, so a topic's retained value is its node's
current value from the start. What the bridge publishes comes back through its own
subscription, as any client's message would: the node then shows what the broker holds.

The MQTT client (aiomqtt, asyncio over paho-mqtt) is one task of xiotlab's network loop.
:meth:`start` returns once the broker accepted the subscriptions (and raises if it refuses
the connection); a broker lost later is reconnected with a growing delay (0.2 s doubling to
30 s), and the subscriptions made again, which brings the retained values back.
:meth:`stop` ends the client and the XMPP session.

Memory: each field keeps ``history_size`` values (100 by default, not the thing's 1000: a
bridge may hold thousands of topics, and a kept value costs about 0.3 kB, so 10,000
one-field topics at full history take about 300 MB); at most ``max_nodes`` nodes are made
(20,000 by default), messages whose topic would need more are counted (:attr:`stats`) and
logged, not bridged. Each payload gives at most 64 fields, strings are cut at 1024 characters.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiomqtt

from ..errors import AuthenticationFailed, CannotConnect, NotConnected
from ..roles.concentrator import Concentrator
from ..roles.nodes import Node
from ..runtime import blocking, network, network_call
from ..server import LabServer
from .payloads import Value, as_text, type_payload
from .topics import DEFAULT_MAX_NODES, TopicTree, node_path

log = logging.getLogger("xiotlab")
SOURCE = "mqtt"
"""The data source of the bridge's nodes."""
DEFAULT_HISTORY = 100
RECONNECT_DELAYS = (0.2, 30.0)
"""The first and the longest wait before connecting to a lost broker again, in seconds."""
MAX_QUEUED = 10_000
"""Messages received and not yet bridged; past that the client drops them (a flood faster than the bridge)."""
_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883, "tls": 8883}
_LOG_DROPS_EVERY = 1000
MAX_FIELDS_PER_NODE = 256
"""Most fields one topic's node keeps; new names past it are counted in ``stats["fields_dropped"]``."""


class MqttBridge(Concentrator):
    """A concentrator whose nodes are an MQTT broker's topics.

    Parameters
    ----------
    name:
        The bridge's XMPP account (a bare name with ``lab=``), as for any :class:`~xiotlab.Thing`.
    broker:
        ``mqtt://host:port`` (``mqtts://`` for TLS; ``host:port`` and ``host`` are understood);
        by default the lab's own broker (``lab.mqtt_url``, a lab started with ``mqtt=True``).
    topics:
        The topic filters to subscribe to; every topic (``#``) by default.
    username, password:
        The broker's credentials, if it wants them. The password is never shown or logged.
    ca_file, tls:
        TLS: ``ca_file`` is the authority that signed the broker's certificate (it turns TLS on);
        ``tls=True`` uses the system's authorities, an :class:`ssl.SSLContext` is used as given.
    qos:
        The quality of service of the subscriptions and of what the controls publish (0, 1, 2).
    source:
        The data source the nodes belong to.
    history_size:
        Values kept per field (100: see the module's note on memory).
    max_nodes:
        Nodes made at most; messages needing more are counted in :attr:`stats` and logged.
    xmpp_password, xmpp_ca_file:
        The XMPP account's password and CA, for a bridge on an XMPP server that is not a lab
        (with ``host=``, ``port=``), where a :class:`~xiotlab.Thing` takes ``password`` and
        ``ca_file``: here those are the broker's.

    Any other keyword (``lab=``, ``owner=``, ``timeout=``, ...) is the thing's.
    """

    def __init__(
        self,
        name: str,
        *,
        broker: str | None = None,
        topics: str | Iterable[str] = ("#",),
        lab: LabServer | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | os.PathLike | None = None,
        tls: bool | ssl.SSLContext | None = None,
        qos: int = 0,
        client_id: str | None = None,
        keepalive: int = 30,
        source: str = SOURCE,
        history_size: int = DEFAULT_HISTORY,
        max_nodes: int = DEFAULT_MAX_NODES,
        xmpp_password: str | None = None,
        xmpp_ca_file: str | os.PathLike | None = None,
        **options,
    ) -> None:
        if qos not in (0, 1, 2):
            raise ValueError(f"qos={qos!r}: MQTT has qualities of service 0, 1 and 2.")
        topics = (topics,) if isinstance(topics, str) else tuple(topics)
        if not topics or not all(isinstance(t, str) and t for t in topics):
            raise ValueError(f"topics={topics!r}: give one topic filter or more, such as '#' or 'home/#'.")
        if broker is None:
            if lab is None:
                raise ValueError("Name the broker (`broker='mqtt://host:1883'`), or pass `lab=` to use the lab's own.")
            broker = lab.mqtt_url
        host, port, use_tls, url_username, url_password = _parse_broker(broker)
        super().__init__(name, xmpp_password, lab=lab, ca_file=xmpp_ca_file, history_size=history_size, **options)
        self.topics = topics
        self.qos = qos
        self.source = source
        self._host, self._port = host, port
        self._username = username if username is not None else url_username
        self.__password = password if password is not None else url_password  # never shown: see __repr__
        self._tls = _tls_context(tls, ca_file, use_tls)
        self._mqtt_id = client_id or f"xiotlab-{name.split('@')[0]}-{uuid.uuid4().hex[:8]}"
        self._keepalive = keepalive
        self._tree = TopicTree(max_nodes)
        self._leaves: dict[str, Node] = {}  # topic -> the node its messages go to
        self._topic_of: dict[str, str] = {}  # node id -> the topic it publishes to
        self._retain: dict[str, bool] = {}  # node id -> its `retain` control
        self._mqtt: aiomqtt.Client | None = None
        self._task: asyncio.Task | None = None
        self._stats = {"messages": 0, "dropped": 0, "fields_dropped": 0, "connections": 0, "errors": 0}

    @property
    def broker(self) -> str:
        """The broker's address, ``mqtt://host:port`` (``mqtts://`` with TLS), without credentials."""
        return f"{'mqtts' if self._tls else 'mqtt'}://{self._host}:{self._port}"

    @property
    def broker_connected(self) -> bool:
        """Whether the MQTT client is connected and subscribed now."""
        return self._mqtt is not None

    @property
    def stats(self) -> dict[str, int]:
        """Counts since start: ``messages`` bridged, ``dropped`` (no node: odd topic or ``max_nodes``
        reached), ``fields_dropped`` (past a payload's field limit), ``connections`` made, ``errors``
        (messages that could not be reported), and ``nodes`` now."""
        return {**self._stats, "nodes": len(self._tree)}

    def topic(self, topic: str) -> Node:
        """The node of ``topic``, made now if no message has reached it yet (from any thread).

        A device's command topic (``home/living/plug/set``) carries nothing until someone
        publishes there: declaring it gives owners a node whose ``value`` control publishes to it.
        """
        node = network.do(lambda: self._leaves.get(topic) or self._place(topic))
        if node is None:
            raise ValueError(
                f"{self.jid} cannot make a node for topic {topic[:200]!r}: an empty or overlong topic, "
                f"or past max_nodes={self._tree.max_nodes}."
            )
        return node

    def topic_of(self, node: Node | str) -> str:
        """The topic a node (or node id) publishes to; KeyError if no message reached it yet."""
        node_id = node.id if isinstance(node, Node) else node
        try:
            return self._topic_of[node_id]
        except KeyError:
            raise KeyError(f"{self.jid} has no MQTT topic behind node {node_id!r}") from None

    # --- life cycle ---------------------------------------------------------------------

    @network_call
    async def astart(self):
        """Come online on XMPP, connect to the broker and subscribe; returns the bridge.

        Raises :class:`~xiotlab.errors.CannotConnect` (or AuthenticationFailed) if the broker cannot
        be reached or refuses the connection; the bridge is then stopped.
        """
        await super().astart()
        if self._task is None or self._task.done():
            first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._task = network.spawn(self._serve(first))
            try:
                await asyncio.wait_for(asyncio.shield(first), self.timeout)
            except BaseException as e:
                await self.astop()
                if isinstance(e, TimeoutError):
                    raise CannotConnect(
                        f"The MQTT broker {self.broker} did not accept the connection within {self.timeout:g} s."
                    ) from None
                raise
        return self

    @network_call
    async def astop(self) -> None:
        """End the MQTT client and go offline. Safe to call twice."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await super().astop()

    def start(self) -> MqttBridge:
        """Come online on XMPP, connect to the broker and subscribe; returns the bridge (blocking form of astart)."""
        return network.run(self.astart())

    def stop(self) -> None:
        """End the MQTT client and go offline (blocking form of astop). Safe to call twice."""
        network.run(self.astop())

    def _new_client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self.__password,
            identifier=self._mqtt_id,
            keepalive=self._keepalive,
            tls_context=self._tls,
            timeout=self.timeout,
            max_queued_incoming_messages=MAX_QUEUED,
            logger=logging.getLogger("xiotlab.mqtt"),
        )

    async def _serve(self, first: asyncio.Future[None]) -> None:
        """Connect, subscribe, bridge messages; on a lost broker wait and do it again (network loop)."""
        delay = RECONNECT_DELAYS[0]
        while True:
            try:
                async with self._new_client() as client:
                    await client.subscribe([(topic, self.qos) for topic in self.topics])
                    self._mqtt = client
                    self._stats["connections"] += 1
                    if first.done():
                        log.info("%s: connected to the MQTT broker %s again", self.jid, self.broker)
                    else:
                        first.set_result(None)
                    delay = RECONNECT_DELAYS[0]
                    async for message in client.messages:
                        try:
                            self._on_message(message.topic.value, message.payload)
                        except Exception:  # one message must never end the bridge: counted, logged, next
                            self._stats["errors"] += 1
                            log.exception("%s: bridging a message of %r failed", self.jid, message.topic.value[:200])
            except aiomqtt.MqttError as e:
                self._mqtt = None
                if not first.done():
                    first.set_exception(_connect_error(self.broker, e))
                    return
                log.warning("%s: lost the MQTT broker %s (%s); trying again in %g s", self.jid, self.broker, e, delay)
            finally:
                self._mqtt = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_DELAYS[1])

    # --- messages in --------------------------------------------------------------------

    def _on_message(self, topic: str, payload: object) -> None:
        """One message from the broker: its node (made if new), its fields reported (network loop)."""
        node = self._leaves.get(topic)
        if node is None:
            node = self._place(topic)
            if node is None:
                return
        data = payload if isinstance(payload, (bytes, bytearray)) else b"" if payload is None else str(payload)
        typed = type_payload(data)
        self._stats["messages"] += 1
        self._stats["fields_dropped"] += typed.dropped
        if typed.fields:
            try:
                self._stats["fields_dropped"] += _report(node, typed.fields)
            except (TypeError, ValueError) as e:  # not expected: payloads gives only what fields take
                self._stats["errors"] += 1
                log.warning("%s: could not report %s from topic %r: %s", self.jid, typed.kind, topic, e)

    def _place(self, topic: str) -> Node | None:
        """The node of a new topic, with its parents and controls; None (counted, logged) if it gets none."""
        new = self._tree.place(topic)
        if new is None:
            self._stats["dropped"] += 1
            dropped = self._stats["dropped"]
            if dropped == 1 or dropped % _LOG_DROPS_EVERY == 0:
                log.warning(
                    "%s: %d MQTT message(s) not bridged (topic %r: unusable, or past max_nodes=%d)",
                    self.jid,
                    dropped,
                    topic[:200],
                    self._tree.max_nodes,
                )
            return None
        for path in new:
            self.node(path.id, source=self.source, parent=path.parent, display_name=path.display_name)
        leaf_id = new[-1].id if new else _leaf_id(topic)
        node = self.find(leaf_id, source=self.source)
        if node is None:  # removed meanwhile by another thread
            return None
        self._leaves[topic] = node
        if leaf_id not in self._topic_of:
            self._topic_of[leaf_id] = topic
            self._add_controls(node)
        return node

    def _add_controls(self, node: Node) -> None:
        node_id = node.id
        self._retain[node_id] = False

        @node.control(
            "retain",
            type=bool,
            value=False,
            label="Retain",
            description="Whether the broker keeps what `value` publishes for clients that subscribe later.",
        )
        async def retain(on: bool) -> None:
            self._retain[node_id] = on

        @node.control("value", type=str, label="Publish", description=f"Text to publish to the MQTT topic {node_id!r}.")
        async def publish(text: str) -> None:
            if self._mqtt is None:
                raise ValueError(f"not published: the bridge is not connected to the MQTT broker {self.broker} now")
            # After the whole set: a `retain` in the same request counts, whichever came first.
            network.spawn(self._publish_later(node_id, text))

    async def _publish_later(self, node_id: str, text: str) -> None:
        try:
            await self.apublish(self._topic_of[node_id], text, retain=self._retain.get(node_id, False))
        except Exception as e:
            log.warning("%s: could not publish to %r: %s", self.jid, self._topic_of.get(node_id), e)

    # --- publishing -----------------------------------------------------------------------

    @network_call
    async def apublish(self, topic: str, value: object, *, retain: bool = False, qos: int | None = None) -> None:
        """Publish ``value`` (as text: ``true``/``false`` for a bool; bytes as they are) to ``topic``."""
        client = self._mqtt
        if client is None:
            raise NotConnected(f"{self.jid} is not connected to the MQTT broker {self.broker} now.")
        payload = bytes(value) if isinstance(value, (bytes, bytearray)) else as_text(value).encode()
        await client.publish(topic, payload, qos=self.qos if qos is None else qos, retain=retain)

    publish = blocking(apublish)

    # --- nodes removed ----------------------------------------------------------------------

    def remove_node(self, node: Node | str, source: str | None = None) -> None:
        """Take a node and the nodes below it away; a later message of their topics makes them again.

        From any thread: the change is made on the network loop, between two messages.
        """
        network.do(self._remove_node, node, source)

    def _remove_node(self, node: Node | str, source: str | None) -> None:
        target = node if isinstance(node, Node) else self.find(node, source=source or self.source)
        if target is None:
            raise KeyError(f"{self.jid} has no node {node!r} in source {source or self.source!r}.")
        ids = {target.id, *(n.id for n in self.nodes if n.source == target.source and _below(n.id, target.id))}
        super().remove_node(target, target.source)
        if target.source != self.source:
            return
        for node_id in ids:
            self._tree.forget(node_id)
            self._retain.pop(node_id, None)
            topic = self._topic_of.pop(node_id, None)
            if topic is not None:
                self._leaves.pop(topic, None)

    def __repr__(self) -> str:
        state = "online" if self.online else "offline"
        mqtt = "connected" if self.broker_connected else "not connected"
        return (
            f"<MqttBridge {self.jid} {state}, {self.broker} {mqtt}, topics {list(self.topics)}, "
            f"{len(self._tree)} nodes>"
        )


def _below(node_id: str, ancestor: str) -> bool:
    return node_id.startswith(ancestor + "/")


def _leaf_id(topic: str) -> str:
    return node_path(topic)[-1].id


def _report(node: Node, fields: Mapping[str, Value]) -> int:
    """Report typed fields on ``node``, declaring a unit that a quantity brings or changes.

    A node keeps at most :data:`MAX_FIELDS_PER_NODE` fields: a device that keys its JSON by
    time or id would otherwise grow one without end. Returns how many new names were dropped.
    """
    sensors = node.sensor_data
    values = {}
    dropped = 0
    for name, typed in fields.items():
        if name not in sensors and len(sensors) >= MAX_FIELDS_PER_NODE:
            dropped += 1
            continue
        if typed.unit is not None and (name not in sensors or sensors.get(name).unit != typed.unit):
            node.sensor(name, unit=typed.unit)
        values[name] = typed.value
    node.report(values)  # a mapping: a payload's "timestamp" key is a field like any other
    return dropped


def _parse_broker(broker: str) -> tuple[str, int, bool, str | None, str | None]:
    """Host, port, whether TLS, and credentials from ``mqtt://user:pass@host:port`` (or ``host:port``)."""
    text = broker if "://" in broker else f"mqtt://{broker}"
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as e:
        raise ValueError(f"broker={_hide(broker)!r}: {e}; write it as mqtt://host:1883") from None
    scheme = url.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not url.hostname:
        raise ValueError(
            f"broker={_hide(broker)!r}: write it as mqtt://host:port (or mqtts://host:port for TLS, or host:port)"
        )
    username = unquote(url.username) if url.username else None
    password = unquote(url.password) if url.password else None
    return url.hostname, port or _DEFAULT_PORTS[scheme], scheme in ("mqtts", "ssl", "tls"), username, password


def _hide(broker: str) -> str:
    """A broker address with its password, if any, masked."""
    scheme, sep, rest = broker.rpartition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return broker
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def _tls_context(tls: bool | ssl.SSLContext | None, ca_file: str | os.PathLike | None, by_scheme: bool):
    if isinstance(tls, ssl.SSLContext):
        return tls
    if tls is False:
        if ca_file is not None:
            raise ValueError("ca_file= is for TLS: leave out tls=False, or ca_file.")
        return None
    if tls or by_scheme or ca_file is not None:
        if ca_file is not None and not Path(ca_file).is_file():
            raise FileNotFoundError(f"ca_file={str(ca_file)!r}: no such file (the broker's certificate authority)")
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    return None


def _connect_error(broker: str, error: aiomqtt.MqttError) -> Exception:
    code = getattr(error, "rc", None)
    value = getattr(code, "value", code)
    if value in (4, 5, 134, 135):  # MQTT 3.1.1 and 5: bad user name or password, not authorised
        return AuthenticationFailed(f"The MQTT broker {broker} refused the credentials: {error}.")
    return CannotConnect(f"Cannot connect to the MQTT broker {broker}: {error}.")
