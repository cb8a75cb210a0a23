"""Answers to our iqs on the wire: only the addressee (or the servers) can answer, whoever knows the id."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from xiotlab.errors import TimedOut
from xiotlab.runtime import Endpoint, XmppClient, network

from ..waiting import eventually

QUESTION = "{urn:xiotlab:test}question"


@pytest.fixture
def asker(lab, name):
    credentials = lab.account(name("asker"))
    client = XmppClient(credentials.jid, credentials.password, Endpoint(lab.host, lab.port, lab.ca_file), timeout=5)
    network.run(client.connect())
    yield client
    network.run(client.disconnect())


def silent(peer) -> list:
    """Have ``peer`` keep every question it is asked, answering none (slixmpp would refuse them)."""
    asked: list = []
    peer.xmpp.register_handler(
        Callback("test: keep questions", MatchXPath(f"{{jabber:client}}iq/{QUESTION}"), asked.append)
    )
    return asked


def question_id(client: XmppClient) -> str:
    sent = [entry for entry in client.trace if entry.direction == "out" and QUESTION.split("}")[0][1:] in entry.xml]
    return ET.fromstring(sent[-1].xml).get("id")


def test_an_answer_from_someone_else_is_not_taken_for_the_addressees(asker, raw):
    addressee, spoofer = raw("addressee"), raw("spoofer")
    asked = silent(addressee)
    waiting = network.submit(asker.request(addressee.full_jid, "get", ET.Element(QUESTION), timeout=2))
    assert eventually(lambda: asked)
    forged = f"<iq type='result' id='{question_id(asker)}' to='{asker.jid.full}'><forged xmlns='urn:x'/></iq>"
    spoofer.call(spoofer.xmpp.send_raw, forged)
    with pytest.raises(TimedOut, match="did not answer"):
        waiting.result(10)


def test_the_addressees_answer_is_taken_with_its_payload(asker, raw):
    addressee = raw("addressee")
    asked = silent(addressee)
    waiting = network.submit(asker.request(addressee.full_jid, "get", ET.Element(QUESTION), timeout=5))
    assert eventually(lambda: asked)
    answer = asked[0].reply()
    answer.xml.append(ET.Element("{urn:xiotlab:test}answer", {"n": "42"}))
    addressee.call(answer.send)
    payload = waiting.result(10)
    assert (payload.tag, payload.get("n")) == ("{urn:xiotlab:test}answer", "42")
    assert len(asker.answers) == 0  # nothing left waiting
