"""Legacy control (``urn:xmpp:iot:control``) with slixmpp 1.17's own ``xep_0325`` plugin as the peer.

A third-party implementation on the real lab server, no mocks: the plugin as
a device set by an xiotlab ``Owner``, and as a client (the owner, or a mere
friend) setting an xiotlab ``Thing``. The plugin clients run on xiotlab's
network loop (slixmpp is not thread-safe); the plugin's device calls back on
the loop, so it needs no ``threaded`` option (it has none).

Plugin quirks met here:

* It registers its disco feature before the session is bound, so a disco#info
  query to its full JID does not list ``urn:xmpp:iot:control``
  (``xep_0323`` re-registers at ``session_bind``; ``xep_0325`` does not). The
  device fixture adds the feature at bind time, as ``xep_0323`` does; one
  test shows what an owner meets without that.
* Its device answers no ``getForm``: slixmpp answers feature-not-implemented.
* Its device checks the parameter name and type only, never the value, and
  stores the value's text as sent.
* Its refusals are iq errors with a ``<setResponse/>`` and no ``<error/>``;
  slixmpp then inserts a default ``<error><feature-not-implemented/></error>``
  into the stanza as soon as anything reads its error.
* Its client hands its callback only ``responseCode`` (node and field lists
  empty, no message), and logs "Unknown stanza interface" warnings doing so.
* Its message-borne set is ``set_command`` (there is no ``send_set_message``).
* Values must be text: a Python ``bool`` makes slixmpp's serializer raise in its
  send queue, and the stanza never leaves.
"""

from __future__ import annotations

import logging
import time

import pytest
import slixmpp
from slixmpp.plugins.xep_0325.device import Device

from xiotlab import Owner, Thing
from xiotlab.errors import ParameterError, StanzaError, TimedOut
from xiotlab.protocol import control
from xiotlab.protocol.namespaces import LEGACY_CONTROL

from ..waiting import eventually
from . import plugin_peers
from .plugin_peers import WAIT
from .test_legacy_peers import disco_features

pytestmark = pytest.mark.integration

PLUGINS = {"xep_0030": {}, "xep_0325": {}}
NODE = "lamp-1"


class _QuietPlugin(logging.Filter):
    """Drops the warnings the plugin's stanza classes log about interfaces they do not declare."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Unknown stanza interface")


@pytest.fixture(autouse=True)
def quiet_plugin():
    quiet = _QuietPlugin()
    logging.getLogger().addFilter(quiet)  # slixmpp logs them with logging.warning(), to the root logger
    yield
    logging.getLogger().removeFilter(quiet)


class ControlPeer(plugin_peers.PluginPeer):
    """A connected slixmpp client with ``xep_0030`` and ``xep_0325``, on the xiotlab network loop."""

    plugin_name = "xep_0325"

    def __init__(self, xmpp: slixmpp.ClientXMPP) -> None:
        super().__init__(xmpp)
        self.results: list[dict] = []  # what set_request's callback was given, in order

    def set_request(self, to: str, *fields: tuple[str, str, object]) -> dict:
        """``set_request`` of ``(name, typename, value)`` fields; the callback's one result (waits ≤ WAIT s)."""
        before = len(self.results)
        self.call_quietly(self.plugin.set_request, self.full_jid, to, self._record, list(fields))
        assert eventually(lambda: len(self.results) > before, WAIT), f"{to} did not answer within {WAIT:g} s"
        [result] = self.results[before:]
        return result

    def set_command(self, to: str, *fields: tuple[str, str, object]) -> None:
        """The message-borne set: no answer comes, whatever happens."""
        self.call(self.plugin.set_command, self.full_jid, to, list(fields))

    def _record(self, **result) -> None:  # set_request's callback, on the network thread
        self.results.append(result)


@pytest.fixture
def control_peer(lab, name):
    """``control_peer(device=None, prefix=..., advertise=True)`` -> an online ControlPeer; all leave after the test."""
    with plugin_peers.plugin_peers(lab, name) as start:

        def connect(device: Device | None = None, prefix: str = "plugin", advertise: bool = True) -> ControlPeer:
            def prepare(xmpp: slixmpp.ClientXMPP) -> None:
                if device is not None:
                    xmpp.plugin["xep_0325"].register_node(device.nodeId, device, commTimeout=5)
                if advertise:  # the plugin's own registration misses the full JID (see the module notes)
                    xmpp.add_event_handler(
                        "session_bind", lambda jid: xmpp.plugin["xep_0030"].add_feature(LEGACY_CONTROL, jid=jid)
                    )

            return start(prefix, PLUGINS, ControlPeer, prepare)

        yield connect


# --- the plugin as a device, set by an xiotlab owner ----------------------------------------------------


def make_device() -> Device:
    """A plugin device with a boolean, a double and a long control field (values are text to the plugin)."""
    device = Device(NODE)
    device._add_control_field("on", "boolean", "false")
    device._add_control_field("level", "double", "0")
    device._add_control_field("counter", "long", "0")
    return device


def values(device: Device) -> dict[str, str]:
    return {name: f["value"] for name, f in device.control_fields.items()}


def befriend_device(online, name, control_peer, device: Device, advertise: bool = True) -> tuple[ControlPeer, Owner]:
    peer = control_peer(device, prefix="plugindev", advertise=advertise)
    alice = online(Owner, name("alice"))
    alice.befriend(peer.jid)  # the plugin accepts friend requests on its own
    assert eventually(lambda: alice.roster[peer.jid].online, WAIT)
    return peer, alice


@pytest.fixture
def device_and_owner(online, name, control_peer):
    device = make_device()
    peer, alice = befriend_device(online, name, control_peer, device)
    return device, peer, alice


def test_plugin_device_advertises_only_the_legacy_namespace(device_and_owner):
    _, peer, alice = device_and_owner
    features = disco_features(alice, peer.full_jid)
    assert LEGACY_CONTROL in features and not features & set(control.NAMESPACES)


def test_plugin_device_has_no_control_form(device_and_owner):
    _, peer, alice = device_and_owner
    with pytest.raises(StanzaError) as refused:
        alice.control_form(peer.jid)
    assert refused.value.condition == "feature-not-implemented" and not isinstance(refused.value, TimedOut)


def test_owner_sets_a_plugin_device_typing_values_from_python(device_and_owner):
    device, peer, alice = device_and_owner
    assert alice.set(peer.jid, on=True, level=42.5) is None  # no form: True is a boolean, 42.5 a double
    assert values(device) == {"on": "true", "level": "42.5", "counter": "0"}
    alice.set(peer.jid, on=False, counter=2**40)  # an int past 32 bits goes as a long
    assert values(device) == {"on": "false", "level": "42.5", "counter": "1099511627776"}


@pytest.mark.parametrize(
    ("request_values", "parameter"),
    [
        ({"dimmer": True}, "dimmer"),  # no such field
        ({"level": 5}, "level"),  # an int, where the device has a double
        ({"on": True, "counter": "many"}, "counter"),  # a string, where it has a long; nothing is applied
    ],
)
def test_plugin_device_refusals_are_parameter_errors(device_and_owner, request_values, parameter):
    device, peer, alice = device_and_owner
    started = time.monotonic()
    with pytest.raises(ParameterError) as refused:
        alice.set(peer.jid, **request_values)
    assert time.monotonic() - started < WAIT / 2, "the refusal came back at once, not by a time-out"
    error = refused.value
    assert not isinstance(error, TimedOut)
    assert error.parameter == parameter and error.condition == "item-not-found"
    assert f"Invalid field {parameter}" in error.text  # the device's own words
    assert values(device) == {"on": "false", "level": "0", "counter": "0"}


def test_a_value_of_no_legacy_type_is_refused_before_it_is_sent(device_and_owner):
    device, peer, alice = device_and_owner
    with pytest.raises(ParameterError, match="no legacy parameter type") as refused:
        alice.set(peer.jid, level=[1.0])
    assert refused.value.parameter == "level"
    alice.set(peer.jid, level=1.5)
    assert values(device)["level"] == "1.5"


def test_a_plugin_device_that_advertises_nothing_fails_at_once(online, name, control_peer):
    # Without the bind-time workaround the plugin lists no control namespace, so the owner
    # speaks the current dialect; the device does not know it. A typed error, not a hang.
    device = make_device()
    peer, alice = befriend_device(online, name, control_peer, device, advertise=False)
    assert LEGACY_CONTROL not in disco_features(alice, peer.full_jid)
    with pytest.raises(StanzaError) as refused:
        alice.set(peer.jid, on=True)
    assert refused.value.condition == "feature-not-implemented" and not isinstance(refused.value, TimedOut)
    assert values(device)["on"] == "false"


# --- the plugin as a client, setting an xiotlab thing ------------------------------------------------------


def make_lamp(lab, name, owner: str) -> tuple[Thing, list]:
    """An xiotlab lamp with a boolean and a bounded double; returns it and what its handlers received."""
    thing = Thing(name("lamp"), owner=owner, lab=lab, timeout=5)
    received: list[tuple[str, object]] = []
    thing.control("on", type=bool, value=False)(lambda v: received.append(("on", v)))
    thing.control("brightness", type=float, min=0, max=100, value=50.0)(lambda v: received.append(("brightness", v)))
    return thing, received


def wait_friends(thing: Thing, jid: str) -> None:
    assert eventually(
        lambda: thing.roster.get(jid) is not None and thing.roster[jid].subscription in ("from", "both"), WAIT
    ), f"{jid} is no friend of {thing.jid}"


@pytest.fixture
def lamp_and_plugin_owner(lab, online, name, control_peer):
    """An xiotlab lamp owned by a plugin client, which befriended it."""
    peer = control_peer(prefix="pluginowner")
    thing, received = make_lamp(lab, name, owner=peer.jid)
    online(thing)
    peer.befriend(thing.jid)  # the lamp accepts its owner at once
    wait_friends(thing, peer.jid)
    return thing, received, peer


def test_plugin_owner_sets_a_thing(lamp_and_plugin_owner):
    thing, received, peer = lamp_and_plugin_owner
    result = peer.set_request(thing.full_jid, ("on", "boolean", "true"), ("brightness", "double", "40.5"))
    assert result["result"] == "OK" and result["from_jid"] == thing.full_jid and not result["error_msg"]
    assert received == [("on", True), ("brightness", 40.5)]
    assert thing.controls == {"on": True, "brightness": 40.5}
    # The plugin sends its user's text as given, so str(False) is what a careless caller sends.
    # (A Python bool itself never leaves: slixmpp's serializer raises TypeError in its send queue.)
    assert peer.set_request(thing.full_jid, ("on", "boolean", "False"))["result"] == "OK"
    assert received[-1] == ("on", False)
    assert not peer.iq_errors


@pytest.mark.parametrize(
    ("field", "code"),
    [
        (("brightness", "double", "400"), "OtherError"),  # out of range: bad-request
        (("brightness", "double", "bright"), "OtherError"),  # not a double
        (("on", "int", "1"), "OtherError"),  # the wrong type for the parameter
        (("dimmer", "boolean", "true"), "NotFound"),  # no such parameter: item-not-found
    ],
)
def test_plugin_owner_gets_refusals_in_its_callback(lamp_and_plugin_owner, field, code):
    thing, received, peer = lamp_and_plugin_owner
    result = peer.set_request(thing.full_jid, field)
    assert result["result"] == code and result["from_jid"] == thing.full_jid
    assert received == [] and thing.controls == {"on": False, "brightness": 50.0}
    [error] = peer.iq_errors  # beside the plugin's <setResponse/>, a standard error for newer peers
    assert error["error"]["condition"] == ("item-not-found" if code == "NotFound" else "bad-request")
    assert field[0] in str(error)


def test_plugin_owner_sets_a_thing_by_message(lamp_and_plugin_owner):
    thing, received, peer = lamp_and_plugin_owner
    peer.set_command(thing.full_jid, ("brightness", "double", "400"))  # refused, silently
    peer.set_command(thing.full_jid, ("on", "boolean", "true"), ("brightness", "double", "12.5"))
    assert eventually(lambda: len(received) >= 2, WAIT), received
    assert received == [("on", True), ("brightness", 12.5)]  # the refused one reached no handler
    assert thing.controls == {"on": True, "brightness": 12.5}
    assert not peer.iq_errors and not peer.results


# --- a plugin client that is a friend but not the owner ------------------------------------------------------


def test_plugin_friend_that_is_not_the_owner_is_refused(lab, online, name, control_peer):
    alice = online(Owner, name("alice"))
    thing, received = make_lamp(lab, name, owner=alice.jid)
    online(thing)
    alice.befriend(thing.jid)  # the lamp asks its owner about others only once they are friends
    friend = control_peer(prefix="pluginfriend")
    friend.befriend(thing.jid)
    alice.next_request(timeout=WAIT).approve()  # the lamp asks its owner about the friend
    wait_friends(thing, friend.jid)

    friend.set_command(thing.full_jid, ("on", "boolean", "true"))  # refused, silently
    result = friend.set_request(thing.full_jid, ("on", "boolean", "true"))
    assert result["result"] == "InsufficientPrivileges" and result["from_jid"] == thing.full_jid
    [error] = friend.iq_errors
    assert error["error"]["condition"] == "forbidden" and "brightness" not in str(error)
    assert received == [] and thing.controls["on"] is False

    thing.allow_control(friend.jid)  # the owner lets the friend control too
    assert friend.set_request(thing.full_jid, ("brightness", "double", "30"))["result"] == "OK"
    assert received == [("brightness", 30.0)]  # the refused message never reached a handler
