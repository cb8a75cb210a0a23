"""The iqs a stream waits on an answer for: one handler finds each answer by its id.

slixmpp registers a handler per iq it sends, and every stanza that arrives is
matched against every handler; an owner reading a thing a thousand times a
second would walk that list for nothing. Here the waiting iqs are a
dictionary, and one handler looks the answer's id up in it.

An answer counts only when it comes from whom the iq could be answered by
(RFC 6120 §8.2.3, read as slixmpp reads it): the addressee (full or bare JID),
its server (an error such as ``remote-server-not-found``), or our own server
and account (for an iq sent to no one, or to ourselves). An id that someone
else answers stays waiting.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

_ANSWER_TYPES = ("result", "error")


class Answers:
    """Futures of the iqs sent on one stream, by id; each gets the answer iq (result or error) as XML."""

    def __init__(self, stream: slixmpp.BaseXMPP) -> None:
        self._stream = stream
        self._waiting: dict[str, tuple[frozenset[str], asyncio.Future[ET.Element]]] = {}
        top = f"{{{stream.default_ns}}}iq"
        stream.register_handler(Callback("xiotlab answers", _AnswerMatcher(top, self), self._settle))

    def expect(self, iq_id: str, to: str | None) -> asyncio.Future[ET.Element]:
        """A future for the answer to iq ``iq_id`` sent to ``to`` (None: our own account)."""
        future: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()
        self._waiting[iq_id] = (self._answerers(to), future)
        return future

    def forget(self, iq_id: str) -> None:
        """Stop waiting for ``iq_id`` (answered, timed out, or given up on)."""
        self._waiting.pop(iq_id, None)

    def __len__(self) -> int:
        return len(self._waiting)

    def awaits(self, iq_id: str | None, sender: str) -> bool:
        """Whether an iq answer with ``iq_id`` from ``sender`` is one we wait for."""
        waiting = self._waiting.get(iq_id or "")
        return waiting is not None and sender in waiting[0]

    def _answerers(self, to: str | None) -> frozenset[str]:
        own = self._stream.boundjid
        allowed = {"", own.bare, own.domain}
        if to:
            peer = slixmpp.JID(to)
            allowed |= {peer.full, peer.bare, peer.domain, to}
        return frozenset(allowed)

    def _settle(self, stanza) -> None:
        xml = stanza.xml
        waiting = self._waiting.pop(xml.get("id", ""), None)
        if waiting is not None and not waiting[1].done():
            waiting[1].set_result(xml)


def payload_of(answer: ET.Element) -> ET.Element | None:
    """The payload of a result iq (its one child), None for an empty result."""
    return next(iter(answer), None)


class _AnswerMatcher(MatcherBase):
    """Matches result and error iqs whose id and sender an :class:`Answers` waits for."""

    def __init__(self, top: str, answers: Answers) -> None:
        super().__init__(None)
        self.top = top
        self.answers = answers

    def match(self, stanza) -> bool:
        xml = stanza.xml
        return (
            xml.tag == self.top
            and xml.get("type") in _ANSWER_TYPES
            and self.answers.awaits(xml.get("id"), xml.get("from", ""))
        )
