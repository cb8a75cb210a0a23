"""What a client sent and received, stanza by stanza, for the protocol inspector.

SASL exchanges and any ``<password>`` element are recorded with their
content replaced by ``[redacted]``, so a trace can be shown or saved freely
(:mod:`.secrets` says what is secret, for traces and logs alike).
"""

from __future__ import annotations

import collections
import datetime as dt
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.tostring import tostring

from .observable import Observable
from .secrets import REDACTED, redacted

__all__ = ["REDACTED", "Trace", "TraceEntry", "redacted"]

_STANZA_NAMESPACES = {"", "jabber:client", "jabber:server", "jabber:component:accept"}
TEXT_PER_ELEMENT = 64
"""Characters of text a trace weighs as much as one element (an element costs about that much memory)."""
_ERROR_CONDITIONS = "urn:ietf:params:xml:ns:xmpp-stanzas"  # <item-not-found/>, <text/>: every error has them


class TraceEntry:
    """One stanza on the wire: ``direction`` is ``"out"`` or ``"in"``.

    The XML text is made when first asked for: most stanzas of a busy stream
    are never looked at, and serializing each would cost more than sending it.
    """

    __slots__ = ("direction", "time", "peer", "tag", "namespaces", "weight", "_element", "_xml")

    def __init__(self, direction: str, element: ET.Element) -> None:
        self.direction = direction
        self.time = dt.datetime.now(dt.UTC)
        self.peer = element.get("to" if direction == "out" else "from", "")
        self.tag = _local(element.tag)
        # The protocols a stanza speaks: its payloads' namespaces, or its own outside the stanza
        # namespace (SASL, stream features). Plain <body/> and <status/> children name none.
        spoken = {_namespace(child.tag) for child in element} | {_namespace(element.tag)}
        # A refusal names its protocol inside <error> (<paramError xmlns="urn:nfi:iot:ctr:1.0"/>):
        # filtering by that protocol must show the error coming back, not only the request.
        for child in element:
            if _local(child.tag) == "error":
                spoken |= {_namespace(detail.tag) for detail in child} - {_ERROR_CONDITIONS}
        self.namespaces = tuple(sorted(spoken - _STANZA_NAMESPACES))
        # What it holds: its elements, and its text by the TEXT_PER_ELEMENT characters (a run of a
        # thousand values is a few elements and tens of kilobytes of text).
        self.weight = sum(1 + len(e.text or "") // TEXT_PER_ELEMENT for e in element.iter())
        self._element: ET.Element | None = redacted(element)
        self._xml: str | None = None

    @property
    def xml(self) -> str:
        """The stanza as XML text, secrets redacted."""
        if self._xml is None:
            self._xml, self._element = tostring(self._element), None
        return self._xml

    def __str__(self) -> str:
        arrow = "→" if self.direction == "out" else "←"
        return f"{self.time:%H:%M:%S.%f} {arrow} {self.peer or '(server)'} {self.xml}"

    def __repr__(self) -> str:
        return f"<TraceEntry {self.direction} {self.tag} {self.peer or '(server)'} {self.time:%H:%M:%S.%f}>"


class Trace(Observable):
    """A bounded record of a client's stanzas, oldest first; observers get each new entry.

    At most ``maxlen`` stanzas, and at most ``max_weight`` elements in all (text counting one per
    :data:`TEXT_PER_ELEMENT` characters), are
    kept: a stream of large event messages pushes old entries out sooner.
    """

    def __init__(self, maxlen: int = 2000, max_weight: int = 200_000) -> None:
        super().__init__()
        self.entries: collections.deque[TraceEntry] = collections.deque()
        self.maxlen = maxlen
        self.max_weight = max_weight
        self._weight = 0

    def record(self, direction: str, element: ET.Element) -> TraceEntry:
        entry = TraceEntry(direction, element)
        self.entries.append(entry)
        self._weight += entry.weight
        while len(self.entries) > self.maxlen or (self._weight > self.max_weight and len(self.entries) > 1):
            self._weight -= self.entries.popleft().weight
        self._notify(entry)
        return entry

    def __iter__(self):
        return iter(list(self.entries))

    def __getitem__(self, index):
        """``trace[-1]`` is the newest entry; ``trace[-5:]`` the last five, as a list."""
        entries = list(self.entries)
        return entries[index]

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        self.entries.clear()
        self._weight = 0

    def __repr__(self) -> str:
        return f"<Trace of {len(self.entries)} stanzas (at most {self.maxlen})>"


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
