"""What a client sent and received, stanza by stanza, for the protocol inspector.

SASL exchanges and any ``<password>`` element are recorded with their
content replaced by ``[redacted]``, so a trace can be shown or saved freely.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from slixmpp.xmlstream.tostring import tostring

from ..protocol.namespaces import SASL
from .observable import Observable

REDACTED = "[redacted]"
# SASL elements whose text is a base64 authentication payload.
_SASL_PAYLOADS = {"auth", "challenge", "response", "success"}


@dataclass(frozen=True)
class TraceEntry:
    """One stanza on the wire: ``direction`` is ``"out"`` or ``"in"``."""

    direction: str
    time: dt.datetime
    peer: str
    tag: str
    namespaces: tuple[str, ...]
    xml: str

    def __str__(self) -> str:
        arrow = "→" if self.direction == "out" else "←"
        return f"{self.time:%H:%M:%S.%f} {arrow} {self.peer or '(server)'} {self.xml}"


class Trace(Observable):
    """A bounded record of a client's stanzas, oldest first; observers get each new entry."""

    def __init__(self, maxlen: int = 2000) -> None:
        super().__init__()
        self.entries: collections.deque[TraceEntry] = collections.deque(maxlen=maxlen)

    def record(self, direction: str, element: ET.Element) -> TraceEntry:
        peer = element.get("to" if direction == "out" else "from", "")
        entry = TraceEntry(
            direction=direction,
            time=dt.datetime.now(dt.timezone.utc),
            peer=peer,
            tag=_local(element.tag),
            namespaces=tuple(sorted({_namespace(child.tag) for child in element} - {""})),
            xml=tostring(redacted(element)),
        )
        self.entries.append(entry)
        self._notify(entry)
        return entry

    def __iter__(self):
        return iter(list(self.entries))

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        self.entries.clear()

    def __repr__(self) -> str:
        return f"<Trace of {len(self.entries)} stanzas (at most {self.entries.maxlen})>"


def redacted(element: ET.Element) -> ET.Element:
    """``element``, or a copy of it with secrets replaced: the original is never changed."""
    secret_sasl = (
        _namespace(element.tag) == SASL and _local(element.tag) in _SASL_PAYLOADS and bool(element.text)
    )
    passwords = [e for e in element.iter() if _local(e.tag) == "password" and e.text]
    if not secret_sasl and not passwords:
        return element
    clone = copy.deepcopy(element)
    if secret_sasl:
        clone.text = REDACTED
    for e in clone.iter():
        if _local(e.tag) == "password" and e.text:
            e.text = REDACTED
    return clone


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
