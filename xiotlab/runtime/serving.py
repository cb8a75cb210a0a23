"""Serving requests: routing incoming stanzas by payload, and answering every iq, whatever it carries.

One handler per stanza kind routes by a dictionary lookup of the payload's tag. A request's
handler runs as a task of its own; its typed errors become XMPP errors, and every iq of type
get or set is answered, at once or within :data:`ANSWER_DEADLINE`, never left waiting. What one
peer's requests may cost is bounded here, below every protocol: nesting depth
(:data:`MAX_STANZA_DEPTH`), time (:data:`ANSWER_DEADLINE`), the size of our error texts
(:data:`MAX_ERROR_TEXT`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

from ..errors import Forbidden, ProtocolError, StanzaError
from .loop import network

log = logging.getLogger("xiotlab")

Handler = Callable[[slixmpp.JID, ET.Element], Awaitable[Iterable[ET.Element] | None]]

# What one peer's requests may cost: every iq of type get or set is answered, at once or within
# the deadline, whatever it carries, and nothing a peer sends can make our answer close our stream.

MAX_STANZA_DEPTH = 64
"""Most levels of elements below a stanza's top element; deeper payloads are cut off unread.

No dialect xiotlab speaks comes near it (a control form is 5 levels deep, a readout 4), nor do
XMPP's common extensions. slixmpp copies a request recursively to answer it (``Iq.reply``): a
request 600 levels deep exceeded Python's recursion limit there and went unanswered, or, with no
handler for it, closed the stream. A cut payload is replaced by :data:`TOO_DEEP`; an iq carrying
one is answered ``bad-request``.
"""

TOO_DEEP = "{urn:xiotlab:refused}too-deep"
"""The element that stands in for a payload cut off at :data:`MAX_STANZA_DEPTH` (the trace shows it)."""

ANSWER_DEADLINE = 8.0
"""Seconds a request's handler may take before the requester is answered ``resource-constraint``.

Less than the default timeout of calls (10 s), so a requester waiting the usual time hears why; a handler
stuck in a device's own code (a sensor function that never returns) is cancelled then.
"""

MAX_ERROR_TEXT = 1024
"""Most characters in the text of an error we send; longer texts are cut.

Error texts may quote what the peer sent, and an answer over the server's stanza limit
(Prosody's is 256 kB) makes the server close our stream.
"""


class Router:
    """The routes and request handlers of one stream."""

    def __init__(self, stream: slixmpp.BaseXMPP, send: Callable[[ET.Element], None]) -> None:
        self._stream = stream
        self._send = send  # a stanza (XML), serialized and traced by the link
        self._routes: dict[str, dict[str, Callable]] = {}
        # First of all filters, before anything walks or copies a hostile stanza recursively.
        stream.add_filter("in", _cut_too_deep, order=0)
        self.on("iq", TOO_DEEP, _refuse_too_deep)

    def on(self, kind: str, tag: str, callback: Callable[[Any, ET.Element], Any]) -> None:
        """Call ``callback(stanza, payload)`` for each ``kind`` stanza ("iq" or "message") carrying ``tag``.

        ``tag`` is a payload element in Clark notation (``{namespace}local``). One handler per
        stanza kind routes by a dictionary lookup, so adding routes costs nothing per stanza.
        """
        routes = self._routes.get(kind)
        if routes is None:
            routes = self._routes[kind] = {}
            top = f"{{{self._stream.default_ns}}}{kind}"  # jabber:client, or a component's namespace
            self._stream.register_handler(
                Callback(
                    f"xiotlab {kind} routes", _PayloadMatcher(top, routes), lambda stanza: _dispatch(stanza, routes)
                )
            )
        routes[tag] = callback

    def off(self, kind: str, tag: str) -> None:
        """Stop routing ``kind`` stanzas carrying ``tag`` (an iq nobody serves gets slixmpp's error)."""
        self._routes.get(kind, {}).pop(tag, None)

    def serve(
        self, namespaces: Iterable[str], local: str, handler: Handler, types: tuple[str, ...] = ("get", "set")
    ) -> None:
        """Answer iqs carrying ``<local>`` in any of ``namespaces`` with ``await handler(sender, element)``.

        The handler returns the result's payload elements (or None for an empty result);
        it runs as a task of its own, so a slow one holds up no other request. Typed
        errors become XMPP errors: Forbidden → forbidden, ProtocolError → bad-request,
        StanzaError → its condition, anything else → internal-server-error (and a log line).
        Every iq of type get or set is answered, never left waiting: one of a type the handler
        does not take is answered ``bad-request``, one whose handler takes longer than
        :data:`ANSWER_DEADLINE` ``resource-constraint`` (and the handler is cancelled), one whose
        handler is cancelled ``internal-server-error``.
        """

        def answer(iq, element):
            if iq["type"] in types:
                network.spawn(self._answer(iq, element, handler))
            elif iq["type"] in ("get", "set"):
                send_error(
                    iq,
                    "modify",
                    "bad-request",
                    f"<{element.tag.rsplit('}', 1)[-1]}/> goes in an iq of type {' or '.join(types)}.",
                )

        for ns in namespaces:
            self.on("iq", f"{{{ns}}}{local}", answer)

    async def _answer(self, iq: slixmpp.Iq, element: ET.Element, handler: Handler) -> None:
        deadline = asyncio.timeout(ANSWER_DEADLINE)
        try:
            async with deadline:
                payload = await handler(iq["from"], element)
        except asyncio.CancelledError:
            send_error(iq, "wait", "internal-server-error", "The device stopped answering: the request was cancelled.")
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being stopped, not just the handler
        except Exception as e:
            _refuse(iq, element, e, deadline_passed=deadline.expired())
        else:
            self._send(_result(iq, payload or ()))


class _PayloadMatcher(MatcherBase):
    """Matches stanzas of one kind that carry a routed payload element."""

    def __init__(self, top: str, routes: dict[str, Callable]) -> None:
        super().__init__(routes)
        self.top = top
        self.routes = routes

    def match(self, stanza) -> bool:
        xml = stanza.xml
        return xml.tag == self.top and any(child.tag in self.routes for child in xml)


def _dispatch(stanza, routes: dict[str, Callable]) -> None:
    xml = stanza.xml
    if len(xml) > 1 and xml.tag.endswith("}iq") and stanza["type"] in ("get", "set"):
        # RFC 6120 §8.2.3: exactly one payload. Routing each would answer one iq twice, or more.
        send_error(stanza, "modify", "bad-request", "An iq of type get or set carries exactly one payload element.")
        return
    for child in xml:
        callback = routes.get(child.tag)
        if callback is not None:
            callback(stanza, child)


class ErrorReply(Exception):
    """Raised by a request handler: answer with an iq error whose children are exactly these.

    For protocols whose error answers have a shape of their own (legacy control).
    """

    def __init__(self, *children: ET.Element) -> None:
        super().__init__("error reply")
        self.children = children


def send_error(iq: slixmpp.Iq, kind: str, condition: str, text: str, details: Iterable[ET.Element] = ()) -> None:
    """Answer ``iq`` with an XMPP error (``kind``: cancel, modify, auth, wait), plus application ``details``.

    ``text`` is made safe to send: characters XML cannot carry replaced, cut at :data:`MAX_ERROR_TEXT`.
    """
    answer = _reply(iq, "error")
    answer["error"]["type"] = kind
    answer["error"]["condition"] = condition
    answer["error"]["text"] = _error_text(text)
    answer["error"].xml.extend(details)
    answer.send()


def _result(iq: slixmpp.Iq, payload: Iterable[ET.Element]) -> ET.Element:
    """The result answering ``iq``, carrying ``payload``, as XML (see :func:`_reply` for the addresses)."""
    xml = iq.xml
    addresses = {"to": xml.get("from"), "id": xml.get("id")}
    if getattr(iq.stream, "is_component", False):
        addresses["from"] = xml.get("to")
    result = ET.Element(xml.tag, {"type": "result", **{k: v for k, v in addresses.items() if v}})
    result.extend(payload)
    return result


def _reply(iq: slixmpp.Iq, kind: str = "result") -> slixmpp.Iq:
    """An empty answer to ``iq``. ``iq.reply()`` would deep-copy the whole request first, only to empty it.

    A component answers from the address it was asked at (XEP-0114: its server stamps nothing).
    """
    sender = iq["to"] if getattr(iq.stream, "is_component", False) else None
    return slixmpp.Iq(stream=iq.stream, stype=kind, sto=iq["from"], sfrom=sender, sid=iq["id"])


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _error_text(text: str) -> str:
    text = _NOT_XML.sub("\ufffd", text)
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def _refuse(iq: slixmpp.Iq, element: ET.Element, error: Exception, *, deadline_passed: bool) -> None:
    """Answer ``iq`` with the error its handler's ``error`` stands for (see :meth:`Router.serve`)."""
    if isinstance(error, ErrorReply):
        answer = _reply(iq, "error")
        answer.xml.extend(error.children)
        answer.send()
    elif isinstance(error, Forbidden):
        send_error(iq, "auth", "forbidden", str(error))
    elif isinstance(error, ProtocolError):
        send_error(iq, "modify", "bad-request", str(error))
    elif isinstance(error, StanzaError):
        send_error(iq, error.kind, error.condition, error.text, error.details)
    elif deadline_passed:
        log.warning("answering %s from %s took over %g s: cancelled", element.tag, iq["from"], ANSWER_DEADLINE)
        send_error(iq, "wait", "resource-constraint", f"The device did not answer within {ANSWER_DEADLINE:g} s.")
    else:
        log.error("answering %s from %s failed", element.tag, iq["from"], exc_info=error)
        send_error(iq, "wait", "internal-server-error", "The device failed while answering; see its log.")


_STANZAS = (slixmpp.Iq, slixmpp.Message, slixmpp.Presence)


def _cut_too_deep(stanza):
    """An incoming filter: each payload nested deeper than :data:`MAX_STANZA_DEPTH` becomes a :data:`TOO_DEEP`.

    The stanza then goes on as usual (stream management counts it, the trace records it), rebuilt so
    that slixmpp's view of its payloads matches the cut XML.
    """
    xml = stanza.xml
    if not isinstance(stanza, _STANZAS) or not _deeper_than(xml, MAX_STANZA_DEPTH):
        return stanza
    for index, child in enumerate(xml):
        if _deeper_than(child, MAX_STANZA_DEPTH - 1):
            xml[index] = ET.Element(TOO_DEEP, {"levels": f"more than {MAX_STANZA_DEPTH}"})
    log.info("cut a payload nested deeper than %d levels from a stanza from %s", MAX_STANZA_DEPTH, xml.get("from"))
    return type(stanza)(stream=stanza.stream, xml=xml, recv=True)


def _deeper_than(element: ET.Element, levels: int) -> bool:
    """Whether ``element`` has descendants more than ``levels`` levels below it (its children are level 1).

    Level by level, never recursing; it visits each element at most once, and none below ``levels + 1``.
    """
    level = [element]
    for _ in range(levels):
        level = [child for parent in level for child in parent]
        if not level:
            return False
    return any(len(parent) for parent in level)


def _refuse_too_deep(iq: slixmpp.Iq, _marker: ET.Element) -> None:
    if iq["type"] in ("get", "set"):
        send_error(iq, "modify", "bad-request", f"The request nests elements over {MAX_STANZA_DEPTH} levels deep.")
