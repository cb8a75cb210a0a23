"""``%xmpp nodes`` and the node argument (``JID/NODE`` or ``--node``) of read, subscribe, plot, set and panel."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from xiotlab import Concentrator, ControlPanel, LivePlot, NodeRef, NodeTree, Thing
from xiotlab.faces.session import split_node
from xiotlab.roles.readout import Readout

from ..waiting import eventually


@pytest.fixture
def ip(lab):
    """An IPython shell with the extension loaded and its session on the test lab."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xiotlab")
    shell.magics_manager.registry["XmppMagics"].session.lab = lab
    yield shell
    shell.magics_manager.registry["XmppMagics"].session.disconnect_all()
    shell.run_line_magic("unload_ext", "xiotlab")


def xmpp(ip, line):
    return ip.run_line_magic("xmpp", line)


@pytest.fixture
def gw(ip, lab, online, name):
    """The notebook's owner and her gateway ``gw-…`` (a fridge below a kitchen, and a hall); and a plain lamp.

    Returns the gateway's short name, the gateway, the lamp's short name and what the controls received.
    """
    alice = name("alice")
    xmpp(ip, f"connect {alice} --as owner")
    owner = ip.magics_manager.registry["XmppMagics"].session.current
    gateway = Concentrator(name("gw"), owner=owner.jid, lab=lab, timeout=5)
    kitchen = gateway.node("kitchen")
    fridge = gateway.node("kitchen/fridge", parent=kitchen)
    fridge.sensor("temperature", unit="°C", decimals=1)(lambda: 4.5)
    hall = gateway.node("hall")
    hall.sensor("temperature", unit="°C", decimals=1)(lambda: 19.5)
    received: list[tuple[str, object]] = []
    hall.control("light", type=bool, value=False)(lambda v: received.append(("hall", v)))
    fridge.control("setpoint", type=float, min=0, max=10, value=4.0)(lambda v: received.append(("fridge", v)))
    online(gateway)
    lamp = online(Thing, name("lamp"), owner=owner.jid)
    lamp.sensor("power", unit="W")(lambda: 3.0)
    short = gateway.jid.split("@")[0]
    xmpp(ip, f"befriend {short}")
    xmpp(ip, f"befriend {lamp.jid.split('@')[0]}")
    return short, gateway, lamp.jid.split("@")[0], received


FRIDGE = NodeRef("kitchen/fridge", "nodes")


def test_a_node_follows_the_first_slash_or_comes_with_node():
    assert split_node("gateway") == ("gateway", None)
    assert split_node("gateway/kitchen/fridge") == ("gateway", "kitchen/fridge")
    assert split_node("gw@lab.test/kitchen") == ("gw@lab.test", "kitchen")
    assert split_node("gateway", "kitchen/fridge") == ("gateway", "kitchen/fridge")
    assert split_node("gateway/hall", "hall") == ("gateway", "hall")
    with pytest.raises(ValueError, match="name it once"):
        split_node("gateway/hall", "kitchen")
    with pytest.raises(ValueError, match="goes after the slash"):
        split_node("gateway/")
    with pytest.raises(ValueError, match="name the thing first"):
        split_node("/kitchen")
    with pytest.raises(ValueError, match="--node: give"):
        split_node("gateway", "")


def test_nodes_shows_the_tree_and_a_fresh_one_each_time(ip, gw):
    short, gateway, _, _ = gw
    tree = xmpp(ip, f"nodes {short}")
    assert isinstance(tree, NodeTree) and tree.jid == gateway.jid
    assert [info.id for _, info in tree.visible] == ["kitchen", "hall"]
    again = xmpp(ip, f"nodes {short}")
    assert again is not tree and "closed" in repr(tree)


def test_read_a_node_as_jid_slash_node_or_with_node(ip, gw):
    short, _, _, _ = gw
    readout = xmpp(ip, f"read {short}/kitchen/fridge")
    assert isinstance(readout, Readout) and readout.nodes == [FRIDGE] and readout["temperature"].value == 4.5
    hall = xmpp(ip, f"read {short} temperature --node hall")
    assert [f.node.id for f in hall] == ["hall"] and hall["temperature"].value == 19.5
    assert xmpp(ip, f"read {short}/hall --node hall").nodes == [NodeRef("hall", "nodes")]


def test_plot_set_panel_and_subscribe_take_a_node(ip, gw):
    short, gateway, _, received = gw
    plot = xmpp(ip, f"plot {short}/hall temperature --window 60s")
    assert isinstance(plot, LivePlot) and plot.node == NodeRef("hall", "nodes")
    assert xmpp(ip, f"plot {short} temperature --node hall") is plot  # the same figure
    gateway.find("hall").report(temperature=20.0)
    assert eventually(lambda: "temperature" in plot.series)

    xmpp(ip, f"set {short}/hall light=on")
    xmpp(ip, f"set {short} --node kitchen/fridge setpoint=6.5")
    assert received == [("hall", True), ("fridge", 6.5)]
    with pytest.raises(UsageError, match=r"node hall \(nodes\) has no control parameter 'setpoint'; it has: light"):
        xmpp(ip, f"set {short}/hall setpoint=1")

    panel = xmpp(ip, f"panel {short}/kitchen/fridge")
    assert isinstance(panel, ControlPanel) and panel.node == FRIDGE and list(panel.rows) == ["setpoint"]

    with xmpp(ip, f"subscribe {short}/kitchen/fridge") as stream:
        gateway.find("hall").report(temperature=22.0)
        gateway.find("kitchen/fridge").report(temperature=3.5)
        field = stream.get(timeout=5)
        assert field is not None and field.node == FRIDGE and field.value == 3.5


def test_a_node_that_does_not_exist_or_a_plain_thing_is_a_usage_error(ip, gw):
    short, _, lamp, _ = gw
    with pytest.raises(UsageError, match=r"has no node 'ghost'; its nodes: kitchen, kitchen/fridge, hall"):
        xmpp(ip, f"read {short}/ghost")
    with pytest.raises(UsageError, match="has no node 'ghost'"):
        xmpp(ip, f"panel {short} --node ghost")
    with pytest.raises(UsageError, match="name it once"):
        xmpp(ip, f"set {short}/hall --node kitchen light=on")
    with pytest.raises(UsageError, match="is not a concentrator"):
        xmpp(ip, f"read {lamp}/power")
    with pytest.raises(UsageError, match="is not a concentrator"):
        xmpp(ip, f"nodes {lamp}")
    assert xmpp(ip, f"read {lamp}")["power"].value == 3.0  # without a node, as before


def test_a_thing_cannot_browse(ip, gw, name):
    short, _, _, _ = gw
    xmpp(ip, f"connect {name('sensor')} --as thing")
    with pytest.raises(UsageError, match="Only an owner"):
        xmpp(ip, f"nodes {short}")
    with pytest.raises(UsageError, match="Only an owner"):
        xmpp(ip, f"read {short}/hall")


def test_help_says_how_to_name_a_node(ip, capsys):
    xmpp(ip, "help")
    out = capsys.readouterr().out
    assert "%xmpp nodes JID\n" in out and "gateway/kitchen/fridge is node kitchen/fridge" in out
    xmpp(ip, "help read")
    assert "--node NODE" in capsys.readouterr().out
