"""The owner's side of concentrators: reading, watching, controlling and browsing nodes behind one JID.

The first part needs no server: what the owner's services put on the wire for
``nodes=``/``node=`` (through a stand-in for the Peers port), and how readouts
and frames show which node each value came from. The second part runs an owner
against the lead's ``Concentrator`` on a real Prosody.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import ParameterError, ProtocolError, StanzaError
from xiotlab.protocol import concentrator, control, control_form, events, sensordata
from xiotlab.protocol.concentrator import NodeInfo, NodeState
from xiotlab.protocol.namespaces import CONCENTRATOR, SENSOR_DATA
from xiotlab.protocol.parameters import ControlForm, ControlParameter, ParameterType
from xiotlab.protocol.values import Field, NodeRef, ReadoutError
from xiotlab.roles.browsing import NodeBrowser, Nodes
from xiotlab.roles.commanding import ControlClient
from xiotlab.roles.concentrator import Concentrator
from xiotlab.roles.reading import SensorClient
from xiotlab.roles.readout import FRAME_COLUMNS, Readout, as_node, as_nodes, fields_frame, node_label
from xiotlab.roles.stream import Stream

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
KITCHEN = NodeRef("kitchen", source="rooms")
HALL = NodeRef("hall", source="rooms")


def _fields() -> list[Field]:
    return [
        Field("uptime", 5, timestamp=T0),  # the concentrator's own
        Field("temperature", 21.5, unit="°C", timestamp=T0, node=KITCHEN),
        Field("temperature", 19.0, unit="°C", timestamp=T0 + dt.timedelta(seconds=1), node=HALL),
        Field("humidity", 40.0, unit="%", timestamp=T0, node=KITCHEN),
    ]


def _column(frame, name: str) -> list:
    """A column's values, missing ones as None (pandas shows them as NaN or NA)."""
    return [None if frame[name].isna().iloc[i] else value for i, value in enumerate(frame[name])]


# --- node arguments -------------------------------------------------------------------------------


def test_a_node_is_an_id_or_a_ref_and_nodes_any_number_of_them():
    assert as_node("kitchen") == NodeRef("kitchen")
    assert as_node(KITCHEN) is KITCHEN
    assert as_nodes(None) == ()
    assert as_nodes("kitchen") == (NodeRef("kitchen"),)
    assert as_nodes(KITCHEN) == (KITCHEN,)
    assert as_nodes(["kitchen", HALL, "kitchen"]) == (NodeRef("kitchen"), HALL)
    assert as_nodes(iter(["a", "b"])) == (NodeRef("a"), NodeRef("b"))
    assert as_nodes([]) == ()
    with pytest.raises(TypeError, match="node id"):
        as_node(7)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="node id"):
        as_nodes([None])  # type: ignore[list-item]


def test_node_labels():
    assert node_label(None) == ""
    assert node_label(NodeRef("lamp")) == "lamp"
    assert node_label(KITCHEN) == "kitchen (rooms)"
    assert node_label(NodeRef("lamp", "src", "pt")) == "lamp (src/pt)"


# --- readouts and frames --------------------------------------------------------------------------


def test_a_plain_readout_keeps_its_columns_and_has_no_nodes():
    readout = Readout("thermo@lab", [Field("temperature", 21.5, unit="°C", timestamp=T0)])
    assert list(readout.to_dataframe().columns) == list(FRAME_COLUMNS)
    assert readout.nodes == []
    assert "[" not in repr(readout) and "<th>node</th>" not in readout._repr_html_()
    with pytest.raises(KeyError, match="none"):
        readout.node("kitchen")


def test_a_concentrator_readout_says_the_node_of_each_value():
    readout = Readout("hub@lab", _fields(), [ReadoutError("no such node", timestamp=T0, node=NodeRef("ghost"))])
    assert readout.nodes == [KITCHEN, HALL, NodeRef("ghost")]
    # The newest value of a name, whichever node reported it; a node's own through node().
    assert readout["temperature"].node == HALL and readout["temperature"].value == 19.0
    assert readout.node("kitchen")["temperature"].value == 21.5
    assert readout.node(KITCHEN).names == ["temperature", "humidity"]
    assert readout.node(KITCHEN).within == KITCHEN
    with pytest.raises(KeyError, match="kitchen"):
        readout.node(NodeRef("kitchen", source="elsewhere"))
    ghost = readout.node("ghost")
    assert len(ghost) == 0 and ghost.errors[0].message == "no such node"
    with pytest.raises(KeyError, match="node hall \\(rooms\\) of hub@lab reported no field 'humidity'"):
        readout.node("hall")["humidity"]

    frame = readout.to_dataframe()
    assert list(frame.columns) == ["thing", "node", "source", *FRAME_COLUMNS[1:]]
    assert _column(frame, "node") == [None, "kitchen", "hall", "kitchen"]  # None: the concentrator's own
    assert _column(frame, "source") == [None, "rooms", "rooms", "rooms"]
    assert frame.set_index(["node", "name"]).loc[("hall", "temperature"), "value"] == 19.0

    text = repr(readout)
    assert "[the concentrator itself]" in text and "[kitchen (rooms)]" in text and "[hall (rooms)]" in text
    assert text.index("[kitchen (rooms)]") < text.index("humidity = 40.0 %") < text.index("[hall (rooms)]")
    assert "[ghost]\n    error: no such node" in text
    page = readout._repr_html_()
    assert "<th>node</th>" in page and "<td>kitchen (rooms)</td><td>humidity</td>" in page
    assert "<td>ghost</td><td colspan=4>⚠ no such node</td>" in page
    assert "node kitchen (rooms) of hub@lab" in readout.node("kitchen")._repr_html_()


def test_a_partition_adds_a_column():
    fields = [Field("t", 1, timestamp=T0, node=NodeRef("a", "s", "p")), Field("t", 2, timestamp=T0)]
    frame = fields_frame("hub@lab", fields)
    assert list(frame.columns) == ["thing", "node", "source", "partition", *FRAME_COLUMNS[1:]]
    assert _column(frame, "partition") == ["p", None]


def test_a_stream_frame_has_node_columns_and_gaps_per_node():
    stream = Stream("hub@lab", "1")
    stream.push(_fields()[1:])
    stream.open_gap("lost")
    frame = stream.to_dataframe()
    assert list(frame.columns) == ["thing", "node", "source", *FRAME_COLUMNS[1:]]
    gaps = frame[frame["type"] == "gap"]
    assert sorted(zip(gaps["node"], gaps["name"], strict=True)) == [
        ("hall", "temperature"),
        ("kitchen", "humidity"),
        ("kitchen", "temperature"),
    ]
    plain = Stream("thermo@lab", "2")
    plain.push([Field("temperature", 1.0, timestamp=T0)])
    assert list(plain.to_dataframe().columns) == list(FRAME_COLUMNS)


# --- what goes on the wire ------------------------------------------------------------------------


class _Peers:
    """The Peers port, answering from a script and keeping what was sent."""

    def __init__(self, answer=None, namespace: str = SENSOR_DATA) -> None:
        self.sent: list[tuple[str, ET.Element]] = []
        self.answer = answer
        self.namespace = namespace

    async def address(self, jid: str, timeout: float) -> str:
        return f"{jid}/device"

    async def dialect(self, full: str, preference, timeout: float) -> str:
        return next((ns for ns in preference if ns == self.namespace), preference[0])

    async def request(self, full: str, kind: str, payload: ET.Element, timeout=None, *rest):
        self.sent.append((kind, payload))
        return self.answer(payload) if callable(self.answer) else self.answer


def _run(coroutine):
    return asyncio.run(coroutine)


def test_a_readout_request_names_its_nodes():
    def answer(request: ET.Element) -> ET.Element:
        parsed = sensordata.parse_request(request)
        fields = [Field("temperature", 21.5, unit="°C", timestamp=T0, node=parsed.nodes[0])]
        return sensordata.build_response(parsed.id, fields, [ReadoutError("gone", timestamp=T0, node=parsed.nodes[1])])

    peers = _Peers(answer)

    async def read():
        sensors = SensorClient(None, peers)  # type: ignore[arg-type]
        return await sensors.read("hub@lab", None, None, None, None, 5, as_nodes([KITCHEN, "ghost"]))

    readout = _run(read())
    request = sensordata.parse_request(peers.sent[0][1])
    assert request.nodes == (KITCHEN, NodeRef("ghost"))
    assert [nd.attrib for nd in peers.sent[0][1]] == [{"id": "kitchen", "src": "rooms"}, {"id": "ghost"}]
    assert readout["temperature"].node == KITCHEN
    assert readout.errors[0].node == NodeRef("ghost")


def test_a_readout_without_nodes_names_none():
    peers = _Peers(lambda request: sensordata.build_response(sensordata.parse_request(request).id))

    async def read():
        return await SensorClient(None, peers).read("hub@lab", "t", None, None, None, 5)  # type: ignore[arg-type]

    _run(read())
    assert sensordata.parse_request(peers.sent[0][1]).nodes == ()


def test_a_subscription_names_its_nodes():
    peers = _Peers()

    async def subscribe():
        sensors = SensorClient(None, peers)  # type: ignore[arg-type]
        return await sensors.subscribe("hub@lab", None, None, None, None, None, 10, 5, as_nodes("kitchen"))

    stream = _run(subscribe())
    subscription = events.parse_subscribe(peers.sent[0][1])
    assert subscription.nodes == (NodeRef("kitchen"),) and stream.thing == "hub@lab"


def test_a_form_request_and_a_set_name_the_node():
    form = ControlForm((ControlParameter("on", ParameterType.BOOLEAN),))

    def answer(request: ET.Element) -> ET.Element | None:
        if request.tag.endswith("}getForm"):
            return control_form.build_control_form(form.parameters)
        return None

    peers = _Peers(answer)

    async def both():
        controls = ControlClient(None, peers)  # type: ignore[arg-type]
        got = await controls.form("hub@lab", 5, node=KITCHEN)
        await controls.set("hub@lab", {"on": True}, 5, KITCHEN)
        await controls.set("hub@lab", {"on": False}, 5, HALL)  # another node: its own form first
        return got

    got = _run(both())
    assert [p.name for p in got.parameters] == ["on"]
    kinds = [payload.tag.split("}")[1] for _, payload in peers.sent]
    assert kinds == ["getForm", "set", "getForm", "set"]
    assert control.parse_get_form(peers.sent[0][1]).nodes == (KITCHEN,)
    first, second = control.parse_set(peers.sent[1][1]), control.parse_set(peers.sent[3][1])
    assert first.nodes == (KITCHEN,) and [(v.name, v.value) for v in first.values] == [("on", True)]
    assert second.nodes == (HALL,)
    assert control.parse_get_form(peers.sent[2][1]).nodes == (HALL,)


def test_a_tree_of_node_descriptions():
    infos = [
        NodeInfo("kitchen", "rooms", display_name="Kitchen", has_children=True, node_type="Room"),
        NodeInfo("kitchen/fridge", "rooms", parent_id="kitchen", state=NodeState.WARNING_UNSIGNED),
        NodeInfo("hall", "rooms", is_readable=True),
        NodeInfo("kitchen/fridge/door", "rooms", parent_id="kitchen/fridge"),
        NodeInfo("lost", "rooms", parent_id="nowhere"),  # a parent not listed: a root here
        NodeInfo("a", "loop", parent_id="b"),  # a cycle: no root reaches them, shown last
        NodeInfo("b", "loop", parent_id="a"),
    ]
    tree = Nodes("hub@lab", infos)
    assert len(tree) == 7 and tree[0].id == "kitchen" and list(tree)[2].id == "hall"
    assert [n.id for n in tree.roots()] == ["kitchen", "hall", "lost"]
    assert [n.id for n in tree.children("kitchen")] == ["kitchen/fridge"]
    assert [n.id for n in tree.children(NodeRef("kitchen/fridge", "rooms"))] == ["kitchen/fridge/door"]
    assert tree.children(tree.find("hall")) == []
    assert tree.parent("kitchen/fridge/door").id == "kitchen/fridge" and tree.parent("kitchen") is None
    assert tree.find("ghost") is None and "ghost" not in tree and "hall" in tree
    assert tree.find(NodeRef("hall", "elsewhere")) is None
    with pytest.raises(KeyError, match="no node 'ghost'; its nodes: kitchen, kitchen/fridge"):
        tree.children("ghost")
    walked = [(depth, n.id) for depth, n in tree.walk()]
    assert walked == [
        (0, "kitchen"), (1, "kitchen/fridge"), (2, "kitchen/fridge/door"), (0, "hall"), (0, "lost"), (0, "a"), (1, "b")
    ]  # fmt: skip
    text = repr(tree)
    assert (
        "\n  kitchen (rooms) 'Kitchen' [Room]\n    kitchen/fridge (rooms) (WarningUnsigned)\n      kitchen/fridge/door"
        in text
    )
    page = tree._repr_html_()
    assert page.count("<ul>") == page.count("</ul>") == 4 and page.count("<li>") == page.count("</li>") == 7
    assert "<b>Kitchen</b>" in page and "WarningUnsigned" in page
    frame = tree.to_dataframe()
    assert list(frame["id"]) == [n for _, n in walked] and list(frame["depth"]) == [d for d, _ in walked]
    assert frame.set_index("id").loc["kitchen/fridge", "parent"] == "kitchen"
    assert "no nodes" in Nodes("hub@lab", [])._repr_html_()


def _concentrator_peers(capabilities, sources=("rooms",)):
    """A concentrator behind the Peers port, answering from a small tree."""
    infos = [
        NodeInfo("kitchen", "rooms", has_children=True),
        NodeInfo("kitchen/fridge", "rooms", parent_id="kitchen"),
        NodeInfo("hall", "rooms"),
    ]

    def answer(element: ET.Element) -> ET.Element:
        request = concentrator.parse_request(element)
        match request:
            case concentrator.GetCapabilities():
                return concentrator.build_strings(capabilities)
            case concentrator.GetAllDataSources():
                return concentrator.build_data_sources([concentrator.DataSource(s, s) for s in sources])
            case concentrator.GetAllNodes(source=source):
                return concentrator.build_node_infos([i for i in infos if source in ("", i.source)])
            case concentrator.GetRootNodes():
                return concentrator.build_node_infos([i for i in infos if i.parent_id is None])
            case concentrator.GetChildNodes(node=ref):
                return concentrator.build_node_infos([i for i in infos if i.parent_id == ref.id])
        raise AssertionError(request)

    peers = _Peers(answer)
    peers.features = lambda full, timeout=None: _features(CONCENTRATOR)  # type: ignore[method-assign]
    return peers


async def _features(*namespaces: str) -> frozenset[str]:
    return frozenset(namespaces)


@pytest.mark.parametrize(
    ("capabilities", "asked"),
    [
        (("getCapabilities", "getAllDataSources", "getAllNodes"), ["getAllDataSources", "getAllNodes"]),
        (("getCapabilities", "getAllNodes"), ["getAllNodes"]),
        (
            ("getCapabilities", "getRootNodes", "getChildNodes"),
            ["getRootNodes", "getChildNodes"],  # only the node that has children is asked for them
        ),
    ],
)
def test_browsing_uses_what_the_concentrator_offers(capabilities, asked):
    peers = _concentrator_peers(capabilities)
    tree = _run(NodeBrowser(None, peers).nodes("hub@lab", 5))  # type: ignore[arg-type]
    assert [payload.tag.split("}")[1] for _, payload in peers.sent] == ["getCapabilities", *asked]
    assert sorted(n.id for n in tree) == ["hall", "kitchen", "kitchen/fridge"]
    assert [n.id for n in tree.children("kitchen")] == ["kitchen/fridge"] and tree.thing == "hub@lab"


def test_a_concentrator_that_lists_no_nodes_says_what_it_offers():
    peers = _concentrator_peers(("getCapabilities", "getNode"))
    with pytest.raises(ProtocolError, match=r"lists no nodes.*getCapabilities, getNode"):
        _run(NodeBrowser(None, peers).nodes("hub@lab", 5))  # type: ignore[arg-type]


def test_a_plain_thing_is_no_concentrator():
    peers = _Peers()
    peers.features = lambda full, timeout=None: _features(SENSOR_DATA)  # type: ignore[method-assign]
    with pytest.raises(StanzaError, match="hub@lab is not a concentrator") as raised:
        _run(NodeBrowser(None, peers).nodes("hub@lab", 5))  # type: ignore[arg-type]
    assert raised.value.condition == "feature-not-implemented" and peers.sent == []


# --- against a real concentrator ------------------------------------------------------------------


@pytest.fixture
def hub(lab, online, name):
    """An owner and her concentrator: the hub's own uptime, a kitchen with a fridge below it, a hall."""
    alice = online(Owner, name("alice"))
    hub = Concentrator(name("hub"), owner=alice.jid, lab=lab, timeout=5)
    hub.sensor("uptime", type=int)(lambda: 42)
    kitchen = hub.node("kitchen", display_name="Kitchen")
    fridge = hub.node("kitchen/fridge", parent=kitchen, display_name="Fridge")
    fridge.sensor("temperature", unit="°C", decimals=1)(lambda: 4.5)
    hall = hub.node("hall")
    hall.sensor("temperature", unit="°C", decimals=1)(lambda: 19.5)
    received: list[tuple[str, object]] = []
    hall.control("light", type=bool, value=False)(lambda v: received.append(("hall", v)))
    fridge.control("setpoint", type=float, min=0, max=10, value=4.0)(lambda v: received.append(("fridge", v)))
    hub.control("light", type=bool, value=False)(lambda v: received.append(("hub", v)))
    online(hub)
    alice.befriend(hub.jid)
    return alice, hub, received


def test_a_readout_of_one_node_has_only_that_nodes_fields(hub):
    alice, gateway, _ = hub
    readout = alice.read(gateway.jid, nodes="kitchen/fridge")
    assert readout.names == ["temperature"] and readout["temperature"].value == 4.5
    assert {f.node.id for f in readout} == {"kitchen/fridge"} and readout.errors == []
    assert readout.nodes == [NodeRef("kitchen/fridge", "nodes")]


def test_a_readout_of_two_nodes_says_which_node_each_value_came_from(hub):
    alice, gateway, _ = hub
    readout = alice.read(gateway.jid, "temperature", nodes=["kitchen/fridge", NodeRef("hall")])
    assert readout.node("hall")["temperature"].value == 19.5
    assert readout.node("kitchen/fridge")["temperature"].value == 4.5
    frame = readout.to_dataframe()
    assert sorted(zip(frame["node"], frame["value"], strict=True)) == [("hall", 19.5), ("kitchen/fridge", 4.5)]
    assert set(frame["source"]) == {"nodes"}
    assert "[hall (nodes)]" in repr(readout) and "<th>node</th>" in readout._repr_html_()


def test_a_readout_without_nodes_reads_none_of_them(hub):
    alice, gateway, _ = hub
    readout = alice.read(gateway.jid)
    assert readout.names == ["uptime"] and readout.nodes == []
    assert list(readout.to_dataframe().columns) == list(FRAME_COLUMNS)


def test_a_node_that_does_not_exist_is_a_readout_error_naming_it(hub):
    alice, gateway, _ = hub
    readout = alice.read(gateway.jid, nodes=["ghost", "hall"])
    assert [e.node for e in readout.errors] == [NodeRef("ghost")] and "ghost" in readout.errors[0].message
    assert readout.node("hall")["temperature"].value == 19.5
    assert "ghost" in readout.node("ghost").errors[0].message


def test_a_subscription_to_nodes_gets_only_their_values(hub):
    alice, gateway, _ = hub
    fridge, hall = gateway.find("kitchen/fridge"), gateway.find("hall")
    with alice.subscribe(gateway.jid, "temperature", nodes=["hall"]) as stream:
        fridge.report(temperature=5.0)
        hall.report(temperature=20.0)
        first = stream.get(timeout=5)
        fridge.report(temperature=6.0)
        hall.report(temperature=21.0)
        second = stream.get(timeout=5)
        assert first is not None and second is not None
        assert (first.node.id, first.value, second.node.id, second.value) == ("hall", 20.0, "hall", 21.0)
        assert stream.get(timeout=0.3) is None
        frame = stream.to_dataframe()
    assert set(frame["node"]) == {"hall"} and list(frame["value"]) == [20.0, 21.0]


def test_a_set_with_a_node_reaches_that_nodes_handler(hub):
    alice, gateway, received = hub
    alice.set(gateway.jid, node="hall", light=True)
    alice.set(gateway.jid, {"setpoint": 6.5}, node=NodeRef("kitchen/fridge"))
    alice.set(gateway.jid, light=True)  # the hub's own
    assert received == [("hall", True), ("fridge", 6.5), ("hub", True)]
    assert gateway.find("hall").controls["light"] is True
    with pytest.raises(ParameterError, match="setpoint"):
        alice.set(gateway.jid, node="hall", setpoint=1.0)  # the hall has no setpoint
    with pytest.raises(StanzaError, match="ghost") as raised:
        alice.set(gateway.jid, node="ghost", light=True)
    assert raised.value.condition == "item-not-found"


def test_a_control_form_of_a_node_lists_that_nodes_parameters(hub):
    alice, gateway, _ = hub
    assert [p.name for p in alice.control_form(gateway.jid, node="kitchen/fridge")] == ["setpoint"]
    assert [p.name for p in alice.control_form(gateway.jid, node="hall")] == ["light"]
    assert [p.name for p in alice.control_form(gateway.jid)] == ["light"]  # the hub's own


def test_the_owner_browses_the_tree_with_its_parents(hub):
    alice, gateway, _ = hub
    tree = alice.nodes(gateway.jid)
    assert sorted(n.id for n in tree) == ["hall", "kitchen", "kitchen/fridge"]
    assert {n.id for n in tree.roots()} == {"kitchen", "hall"}
    fridge = tree.find("kitchen/fridge")
    assert fridge is not None and fridge.parent_id == "kitchen" and fridge.display_name == "Fridge"
    assert fridge.source == "nodes" and fridge.is_readable and fridge.is_controllable
    assert [n.id for n in tree.children("kitchen")] == ["kitchen/fridge"] and tree.find("kitchen").has_children
    assert tree.parent(fridge).display_name == "Kitchen"
    assert "Kitchen" in tree._repr_html_() and "kitchen/fridge" in repr(tree)
    # A node found is a node to read by.
    assert alice.read(gateway.jid, nodes=fridge.node)["temperature"].value == 4.5
    gateway.node("attic")  # added while online
    assert "attic" in alice.nodes(gateway.jid)


def test_a_plain_thing_is_not_a_concentrator(lab, online, name):
    alice = online(Owner, name("alice"))
    lamp = online(Thing, name("lamp"), owner=alice.jid)
    alice.befriend(lamp.jid)
    with pytest.raises(StanzaError, match="is not a concentrator") as raised:
        alice.nodes(lamp.jid)
    assert raised.value.condition == "feature-not-implemented"
