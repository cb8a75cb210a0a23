"""A raw XMPP peer for wire tests: plain slixmpp, no xiotlab on its side, sending XML as written.

Registries, provisioning services and concentrators are tested against it: what it sends is the
specifications' own XML, and what it gets back is checked as it arrived.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath
from slixmpp.xmlstream.matcher.base import MatcherBase

from xiotlab.protocol.namespaces import DISCOVERY
from xiotlab.runtime import network

from .plugin_peers import WAIT, PluginPeer

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NF_DISCOVERY = "urn:nf:iot:disco:1.0"  # IoTGateway's name of the registry protocol


class _AnyMessage(MatcherBase):
    """Matches every message stanza."""

    def __init__(self) -> None:
        super().__init__(None)

    def match(self, xml) -> bool:
        return xml.tag == "{jabber:client}message"


class RawPeer(PluginPeer):
    """A plain slixmpp client that sends XML text and keeps what registries and services send it.

    Registry notices (``claimed``, ``removed``, ``disowned``) and provisioning ``clearCache``
    arriving by iq are kept in :attr:`notices` and acknowledged with an empty result, as the
    page shows, unless :attr:`refuse` is set: then they get ``service-unavailable``.
    """

    def __init__(self, xmpp: slixmpp.ClientXMPP) -> None:
        super().__init__(xmpp)
        self.notices: list[ET.Element] = []  # the payloads of iqs set to it
        self.messages: list[ET.Element] = []  # the payloads of messages to it (not bodies)
        self.refuse = False
        self._lock = threading.Lock()
        for ns in (DISCOVERY, NF_DISCOVERY, "urn:nfi:iot:prov:d:1.0", "urn:nf:iot:prov:d:1.0"):
            for local in ("claimed", "removed", "disowned", "clearCache"):
                xpath = f"{{jabber:client}}iq/{{{ns}}}{local}"
                xmpp.register_handler(Callback(f"raw {local} {ns}", MatchXPath(xpath), self._notice))
        # slixmpp's own "message" event fires for messages with a body only.
        xmpp.register_handler(Callback("raw payloads", _AnyMessage(), self._message))

    def _notice(self, iq: slixmpp.Iq) -> None:
        if iq["type"] != "set":
            return
        with self._lock:
            self.notices.append(next(iter(iq.xml)))
        if self.refuse:
            error = iq.reply()
            error["type"] = "error"
            error["error"]["condition"] = "service-unavailable"
            error["error"]["type"] = "cancel"
            error.send()
        else:
            iq.reply().send()

    def _message(self, message: slixmpp.Message) -> None:
        with self._lock:
            self.messages.extend(child for child in message.xml if not child.tag.startswith("{jabber:client}"))

    def notice(self, local: str) -> list[ET.Element]:
        with self._lock:
            return [n for n in self.notices if n.tag.rsplit("}", 1)[1] == local]

    def send(self, to: str, payload: ET.Element | str, kind: str = "set") -> ET.Element:
        """Send an iq of ``kind`` with ``payload`` to ``to``; the whole answer iq (result or error)."""
        element = ET.fromstring(payload) if isinstance(payload, str) else payload

        async def exchange() -> ET.Element:
            iq = self.xmpp.make_iq(ito=to, itype=kind)
            iq.xml.append(element)
            try:
                answer = await iq.send(timeout=WAIT)
            except IqError as e:
                return e.iq.xml
            except IqTimeout:
                raise AssertionError(f"{to} did not answer {ET.tostring(element)[:200]!r} within {WAIT} s") from None
            return answer.xml

        return network.run(exchange())


def payload(answer: ET.Element) -> ET.Element | None:
    """The child of an answer iq that is not its error, or None."""
    return next((c for c in answer if not c.tag.endswith("}error")), None)


def condition(answer: ET.Element) -> str | None:
    """The stanza error condition of an answer iq, or None for a result."""
    if answer.get("type") != "error":
        return None
    error = next(c for c in answer if c.tag.endswith("}error"))
    return next(c.tag.rsplit("}", 1)[1] for c in error if c.tag.startswith(f"{{{STANZAS}}}") and "text" not in c.tag)


def ok(answer: ET.Element) -> ET.Element | None:
    """The payload of a result, failing with the error of an error answer."""
    assert answer.get("type") == "result", ET.tostring(answer, encoding="unicode")
    return payload(answer)
