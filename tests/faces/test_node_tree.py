"""The node tree against a real concentrator on the lab: expand, live values, read, plot and control a node."""

from __future__ import annotations

import re

import ipywidgets
import pytest

from xiotlab import Concentrator, NodeTree, Owner, Thing
from xiotlab.errors import StanzaError
from xiotlab.faces.widgets.control_panel import ControlPanel
from xiotlab.faces.widgets.live_plot import LivePlot

from ..waiting import eventually


@pytest.fixture
def gateway(lab, online, name):
    """Alice and her gateway: a kitchen with a fridge below it, and a hall; ``received`` records control sets."""
    alice = online(Owner, name("alice"))
    gw = Concentrator(name("gw"), owner=alice.jid, lab=lab, timeout=5)
    gw.sensor("uptime", type=int)(lambda: 42)
    kitchen = gw.node("kitchen", display_name="Kitchen")
    fridge = gw.node("kitchen/fridge", parent=kitchen, display_name="Fridge")
    fridge.sensor("temperature", unit="°C", decimals=1)(lambda: 4.5)
    fridge.sensor("door", type=bool)(lambda: False)
    hall = gw.node("hall")
    hall.sensor("temperature", unit="°C", decimals=1)(lambda: 19.5)
    received: list[tuple[str, object]] = []
    hall.control("light", type=bool, value=False)(lambda v: received.append(("hall", v)))
    fridge.control("setpoint", type=float, min=0, max=10, value=4.0)(lambda v: received.append(("fridge", v)))
    gw.control("light", type=bool, value=False)(lambda v: received.append(("gw", v)))
    online(gw)
    alice.befriend(gw.jid)
    return alice, gw, received


@pytest.fixture
def trees():
    """``trees(owner, jid)`` makes a NodeTree, closed (and checked for tracebacks) when the test ends."""
    made = []

    def make(*args, **kwargs):
        made.append(NodeTree(*args, **kwargs))
        return made[-1]

    yield make
    for tree in made:
        assert not tree.errors.outputs, "unexpected tracebacks in the tree"
        tree.close()


def ids(tree):
    return [(depth, info.id) for depth, info in tree.visible]


def ref(tree, node_id):
    return tree.nodes.get(node_id).node


def drawn(tree):
    """The node ids the tree's rows show, in order, as last drawn."""
    return [row.info.id for row in tree.rows.values()]


def test_the_tree_lists_the_roots_and_expands_into_children(gateway, trees):
    alice, gw, _ = gateway
    tree = trees(alice, gw.jid)
    assert ids(tree) == [(0, "kitchen"), (0, "hall")]
    assert drawn(tree) == ["kitchen", "hall"]
    kitchen, hall = tree.rows[ref(tree, "kitchen")], tree.rows[ref(tree, "hall")]
    assert (kitchen.toggle.description, kitchen.toggle.disabled, kitchen.name.description) == ("▸", False, "Kitchen")
    assert hall.toggle.disabled and hall.name.description == "hall"
    assert isinstance(tree.children[0], ipywidgets.HBox)

    kitchen.toggle.click()  # what a person's click does: expand, and list the nodes again
    assert ids(tree) == [(0, "kitchen"), (1, "kitchen/fridge"), (0, "hall")]
    assert eventually(lambda: drawn(tree) == ["kitchen", "kitchen/fridge", "hall"])
    assert tree.rows[ref(tree, "kitchen")].toggle.description == "▾"
    assert tree.rows[ref(tree, "kitchen/fridge")].box.layout.margin.startswith("0 0 0 1.6em")

    tree.rows[ref(tree, "kitchen")].toggle.click()
    assert ids(tree) == [(0, "kitchen"), (0, "hall")]
    assert eventually(lambda: drawn(tree) == ["kitchen", "hall"])


def test_values_of_the_nodes_shown_are_live_with_one_subscription(gateway, trees):
    alice, gw, _ = gateway
    tree = trees(alice, gw.jid)
    fridge, hall = ref(tree, "kitchen/fridge"), ref(tree, "hall")
    # Shown at once: a readout of the nodes shown, then their events.
    assert eventually(lambda: tree.values.get(hall, {}).get("temperature") is not None)
    assert tree.values[hall]["temperature"].value == 19.5
    assert eventually(lambda: "19.5 °C" in tree.rows[hall].values.value)
    assert fridge not in tree.watched and fridge not in tree.values  # hidden: not watched
    first = tree.stream

    tree.expand("kitchen").result(5)
    assert eventually(lambda: tree.values.get(fridge, {}).get("temperature") is not None)
    assert fridge in tree.watched and tree.stream is not first
    assert eventually(lambda: first is not None and first.ended)  # the one subscription was replaced
    gw.find("kitchen/fridge").report(temperature=5.5)
    assert eventually(lambda: tree.values[fridge]["temperature"].value == 5.5)
    assert eventually(lambda: "5.5 °C" in tree.rows[fridge].values.value)

    tree.collapse("kitchen")
    assert fridge not in tree.watched


def test_selecting_a_node_and_clicking_read_shows_its_fields(gateway, trees):
    alice, gw, _ = gateway
    tree = trees(alice, gw.jid, live=False)
    assert tree.read_button.disabled and tree.control_button.disabled  # nothing selected
    with pytest.raises(ValueError, match="Select a node"):
        tree.read()
    tree.expand("kitchen").result(5)
    assert eventually(lambda: ref(tree, "kitchen/fridge") in tree.rows)
    tree.rows[ref(tree, "kitchen/fridge")].name.click()
    assert tree.selected is not None and tree.selected.id == "kitchen/fridge"
    assert eventually(lambda: not tree.read_button.disabled and not tree.control_button.disabled)
    assert eventually(lambda: tree.rows[ref(tree, "kitchen/fridge")].name.button_style == "info")

    tree.read_button.click()
    assert eventually(lambda: isinstance(tree.detail, ipywidgets.HTML))
    page = re.sub(r"(\d{4}-\d{2}-\d{2}T)?\d{2}:\d{2}:\d{2}(\.\d+)?Z?", "", tree.detail.value)  # times hold any digits
    assert "temperature" in page and "4.5" in page and "door" in page and "19.5" not in page
    assert tree.values[ref(tree, "kitchen/fridge")]["temperature"].value == 4.5  # a read feeds the values
    assert eventually(lambda: "temperature" in tree.field.options and "door" in tree.field.options)

    tree.select("kitchen")  # a node without sensors of its own: read still answers, with nothing
    assert tree.read().result(5).value.count("<tr>") <= 1


def test_selecting_a_hidden_node_expands_its_parents(gateway, trees):
    alice, gw, _ = gateway
    tree = trees(alice, gw.jid, live=False)
    tree.select("kitchen/fridge")
    assert ids(tree) == [(0, "kitchen"), (1, "kitchen/fridge"), (0, "hall")]


def test_plot_draws_a_field_of_the_selected_node_only(gateway, trees):
    alice, gw, _ = gateway
    tree = trees(alice, gw.jid, live=False)
    tree.select("hall")
    plot = tree.plot("temperature").result(5)
    assert isinstance(plot, LivePlot) and tree.detail is plot and plot.node == ref(tree, "hall")
    gw.find("kitchen/fridge").report(temperature=3.0)
    gw.find("hall").report(temperature=20.0)
    gw.find("hall").report(temperature=21.0)
    assert eventually(lambda: "temperature" in plot.series and len(plot.series["temperature"]) >= 2)
    assert list(plot.series["temperature"].window(None)[1]) == [20.0, 21.0]
    assert "node hall" in plot.describe()

    stream = plot.stream
    tree.read().result(5)  # the next thing shown replaces the plot, and its subscription ends
    assert stream is not None and stream.ended and plot.redraws.closed


def test_control_sets_the_nodes_handler(gateway, trees):
    alice, gw, received = gateway
    tree = trees(alice, gw.jid, live=False)
    tree.select("kitchen/fridge")
    tree.control_button.click()
    assert eventually(lambda: isinstance(tree.detail, ControlPanel))
    panel = tree.detail
    assert list(panel.rows) == ["setpoint"] and "node kitchen/fridge" in panel._title.value
    panel.rows["setpoint"].input.value = 6.5
    assert eventually(lambda: received == [("fridge", 6.5)])
    assert gw.find("kitchen/fridge").controls["setpoint"] == 6.5
    assert eventually(lambda: panel.values["setpoint"] == 6.5)

    tree.select("hall")
    hall_panel = tree.control().result(5)
    hall_panel.rows["light"].input.value = True
    assert eventually(lambda: received[-1] == ("hall", True))
    assert panel._redraws.closed  # replaced: the old panel was closed


def test_refresh_shows_nodes_added_and_drops_nodes_removed(gateway, trees):
    alice, gw, _ = gateway
    tree = trees(alice, gw.jid)
    gw.node("attic", display_name="Attic")
    assert [info.id for _, info in tree.visible] == ["kitchen", "hall"]  # not yet: no events reach the tree
    tree.refresh_button.click()
    assert eventually(lambda: "Attic" in [row.name.description for row in tree.rows.values()])
    tree.select("attic")
    gw.remove_node("attic")
    tree.refresh().result(5)
    assert "attic" not in [info.id for _, info in tree.visible]
    assert tree.selected is None and "attic (nodes) is gone" in tree.message


def test_close_ends_the_subscriptions(gateway, trees):
    alice, gw, _ = gateway
    tree = trees(alice, gw.jid)
    assert eventually(lambda: tree.stream is not None)
    live = tree.stream
    tree.select("hall")
    plot = tree.plot("temperature").result(5)
    tree.close()
    assert live.ended and plot.stream.ended and plot.redraws.closed
    assert "closed" in repr(tree)
    tree.close()  # twice is fine


def test_a_thing_that_is_no_concentrator_has_no_tree(lab, online, name):
    alice = online(Owner, name("alice"))
    lamp = online(Thing, name("lamp"), owner=alice.jid)
    alice.befriend(lamp.jid)
    with pytest.raises(StanzaError, match="is not a concentrator"):
        NodeTree(alice, lamp.jid)
