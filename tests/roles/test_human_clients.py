"""What a person's XMPP client finds on a thing: ping, software version, capabilities, and a chat.

The witnesses are plain slixmpp clients with slixmpp's own plugins (xep_0199
pings, xep_0092 asks the version, xep_0115 checks the capabilities hash in
presence against discovery), on the real lab; the chat partner is a plain
client that only sends messages with bodies and reads the answers, as a
human client does.
"""

from __future__ import annotations

import threading

import pytest
import slixmpp

import xiotlab
from xiotlab import Owner, Thing
from xiotlab.protocol import chat, events, sensordata
from xiotlab.protocol.namespaces import CONTROL
from xiotlab.runtime import network

from ..waiting import eventually
from . import plugin_peers
from .plugin_peers import WAIT, PluginPeer

CAPS = "http://jabber.org/protocol/caps"


class ChatPeer(PluginPeer):
    """A plain client: it keeps every message with a body and the capabilities in presences it sees."""

    def __init__(self, xmpp: slixmpp.ClientXMPP) -> None:
        super().__init__(xmpp)
        self.messages: list[slixmpp.Message] = []
        self.caps: dict[str, str] = {}  # full JID -> the verification string its presence carried
        self._arrived = threading.Condition()
        xmpp.add_event_handler("message", self._message)
        xmpp.add_event_handler("presence_available", self._presence)

    def _message(self, message: slixmpp.Message) -> None:
        if message["body"]:
            with self._arrived:
                self.messages.append(message)
                self._arrived.notify_all()

    def _presence(self, presence: slixmpp.Presence) -> None:
        if presence["caps"]["ver"]:
            self.caps[presence["from"].full] = presence["caps"]["ver"]

    def say(self, to: str, text: str, kind: str = "chat", thread: str = "", marked: bool = False) -> None:
        def send() -> None:
            message = self.xmpp.make_message(mto=to, mbody=text)
            message["type"] = kind
            if thread:
                message["thread"] = thread
            if marked:
                message.xml.append(chat.answer_marker())
            message.send()

        self.call(send)

    def ask(self, to: str, text: str, kind: str = "chat", thread: str = "") -> slixmpp.Message:
        """Send ``text`` and return the next message that comes back."""
        seen = len(self.messages)
        self.say(to, text, kind, thread)
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.messages) > seen, WAIT), f"no answer to {text!r}"
            return self.messages[seen]


def ask(request, *args, **kwargs):
    """Await slixmpp's ``request(*args, **kwargs)`` on the network loop (slixmpp is not thread-safe)."""

    async def on_loop():
        return await request(*args, **kwargs)

    return network.run(on_loop())


def answer(peer: ChatPeer, to: str, text: str) -> str:
    return peer.ask(to, text)["body"]


def make_lamp(lab, name, **options) -> Thing:
    lamp = Thing(name("lamp"), lab=lab, timeout=5, **options)
    lamp.sensor("temperature", unit="°C", decimals=1)(lambda: 21.46)
    lamp.sensor("humidity", unit="%")(lambda: 40)
    lamp.switched = []  # type: ignore[attr-defined]  # what the handler saw, for the tests

    @lamp.control("brightness", type=float, min=0, max=100, value=50)
    def brightness(value):
        lamp.switched.append(value)  # type: ignore[attr-defined]

    lamp.control("on", type=bool, value=False)(lambda on: None)
    return lamp


@pytest.fixture
def peers(lab, name):
    with plugin_peers.plugin_peers(lab, name) as start:

        def connect(prefix: str = "human", plugins: dict | None = None) -> ChatPeer:
            return start(prefix, plugins or {}, ChatPeer)

        yield connect


@pytest.fixture
def lamp_and_friend(lab, online, name, peers):
    """A lamp owned by alice, and a plain client (with slixmpp's own plugins) alice let befriend it."""
    alice = online(Owner, name("alice"))
    lamp = online(make_lamp(lab, name, owner=alice.jid))
    alice.befriend(lamp.jid)
    friend = peers("friend", {"xep_0092": {}, "xep_0115": {}, "xep_0199": {}})
    friend.befriend(lamp.jid)
    alice.next_request(timeout=WAIT).approve()
    assert eventually(lambda: lamp.full_jid in friend.caps, WAIT), "the lamp's presence never reached its friend"
    return alice, lamp, friend


# --- ping, version, capabilities ------------------------------------------------------


def test_a_thing_answers_ping_at_its_full_jid_and_says_so_in_discovery(lamp_and_friend):
    _, lamp, friend = lamp_and_friend
    round_trip = ask(friend.xmpp.plugin["xep_0199"].ping, jid=lamp.full_jid, timeout=WAIT)
    assert round_trip >= 0
    info = ask(friend.xmpp.plugin["xep_0030"].get_info, jid=lamp.full_jid, timeout=WAIT)
    assert "urn:xmpp:ping" in info["disco_info"]["features"]


def test_a_thing_tells_its_software_version(lamp_and_friend):
    _, lamp, friend = lamp_and_friend
    answer = ask(friend.xmpp.plugin["xep_0092"].get_version, lamp.full_jid, timeout=WAIT)
    assert answer["software_version"]["name"] == "xiotlab"
    assert answer["software_version"]["version"] == xiotlab.__version__


def test_a_things_presence_carries_capabilities_that_verify(lamp_and_friend):
    _, lamp, friend = lamp_and_friend
    caps = friend.xmpp.plugin["xep_0115"]
    ver = friend.caps[lamp.full_jid]
    # slixmpp's plugin fetches node#ver, recomputes the hash and keeps it only if it matches.
    assert eventually(lambda: ask(caps.get_verstring, lamp.full_jid) == ver, WAIT), "the hash did not verify"
    info = ask(caps.get_caps, verstring=ver)
    assert ("client", "bot", None, "xiotlab") in info["identities"]
    features = set(info["features"])
    assert {"urn:xmpp:ping", "jabber:iq:version", CAPS, *sensordata.NAMESPACES, *events.NAMESPACES, CONTROL} <= features
    # What the hash covers is what discovery at the full JID answers.
    served = ask(friend.xmpp.plugin["xep_0030"].get_info, jid=lamp.full_jid, timeout=WAIT)
    assert set(served["disco_info"]["features"]) == features


def test_an_owner_advertises_capabilities_as_a_persons_client(lab, online, name, peers):
    friend = peers("friend", {"xep_0115": {}})
    alice = online(Owner, name("alice"))
    friend.befriend(alice.jid)  # an owner's friend request waits for its decision
    alice.next_request(timeout=WAIT).approve()
    assert eventually(lambda: alice.full_jid in friend.caps, WAIT), "alice's presence never reached her friend"
    caps = friend.xmpp.plugin["xep_0115"]
    ver = friend.caps[alice.full_jid]
    assert eventually(lambda: ask(caps.get_verstring, alice.full_jid) == ver, WAIT), "the hash did not verify"
    assert ("client", "pc", None, "xiotlab") in ask(caps.get_caps, verstring=ver)["identities"]


# --- chatting with a thing --------------------------------------------------------------


def test_a_friend_reads_a_thing_in_a_chat(lamp_and_friend):
    _, lamp, friend = lamp_and_friend
    everything = answer(friend, lamp.jid, "read").splitlines()
    assert [line.split(":")[0] for line in everything] == ["temperature", "humidity"]
    assert everything[0].startswith("temperature: 21.5 °C (momentary, ") and everything[0].endswith(" UTC)")
    assert answer(friend, lamp.jid, "read humidity").startswith("humidity: 40 % (momentary, ")


def test_chat_answers_come_back_as_chat_in_the_same_thread_to_the_resource_that_asked(lamp_and_friend):
    _, lamp, friend = lamp_and_friend
    reply = friend.ask(lamp.jid, "help", thread="t-42")
    assert reply["type"] == "chat" and reply["thread"] == "t-42"
    assert reply["from"].full == lamp.full_jid and reply["to"].full == friend.full_jid
    assert "read FIELD" in reply["body"] and "temperature, humidity" in reply["body"] and "brightness" in reply["body"]
    assert friend.ask(lamp.jid, "read temperature", kind="normal")["type"] == "normal"


def test_chat_mistakes_say_what_to_type(lamp_and_friend):
    _, lamp, friend = lamp_and_friend
    assert answer(friend, lamp.jid, "read temprature") == (
        "unknown field 'temprature' (did you mean 'temperature'?); fields: temperature, humidity"
    )
    assert answer(friend, lamp.jid, "make coffee") == "unknown command 'make'; type help"
    assert answer(friend, lamp.jid, "read " + "x" * 2000).endswith("characters); type help")


def test_a_chat_set_goes_through_the_control_forms_checks_and_handlers(lamp_and_friend):
    alice, lamp, friend = lamp_and_friend
    assert answer(friend, lamp.jid, "set brightness=40").startswith("Only the owner of")  # not allowed yet
    lamp.allow_control(friend.jid)
    assert answer(friend, lamp.jid, "set brightness = 40") == "done: brightness = 40.0"
    assert lamp.switched == [40.0] and lamp.controls["brightness"] == 40.0
    # The same refusal, in the same words, as a set over the control protocol; the chat adds the hint.
    refused = answer(friend, lamp.jid, "set brightness=150")
    with pytest.raises(xiotlab.errors.ParameterError) as over_the_protocol:
        alice.set(lamp.jid, brightness=150)
    assert refused == f"{over_the_protocol.value}; send a value from 0.0 to 100.0"
    assert answer(friend, lamp.jid, "set brigthness=1") == (
        "unknown control 'brigthness' (did you mean 'brightness'?); controls: brightness, on"
    )
    assert answer(friend, lamp.jid, "set on=yes brightness=10").startswith("control parameter 'on': ")
    assert lamp.switched == [40.0]  # a refused set runs no handler, not even for its valid values


def test_a_stranger_gets_one_polite_line_and_learns_nothing(lab, online, name, peers):
    alice = online(Owner, name("alice"))
    lamp = online(make_lamp(lab, name, owner=alice.jid))
    stranger = peers("stranger")
    for command in ("read", "help", "set brightness=1"):
        refusal = answer(stranger, lamp.jid, command)
        assert refusal.startswith(f"Only friends of {lamp.jid} may read it") and "friend request" in refusal
        assert "temperature" not in refusal and "brightness" not in refusal and "21" not in refusal
    assert lamp.switched == []


def test_a_thing_never_answers_another_things_answer(lamp_and_friend):
    _, lamp, friend = lamp_and_friend
    seen = len(friend.messages)
    friend.say(lamp.jid, "unknown command 'x'; type help", marked=True)
    assert friend.ask(lamp.jid, "help")["body"].startswith(f"{lamp.jid} answers:")
    assert len(friend.messages) == seen + 1  # the marked message went unanswered
