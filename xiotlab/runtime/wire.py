"""Stanzas to text: what a link sends, written in one pass.

ElementTree's serializer walks an element twice (once to name its namespaces,
once to write) and gives every namespace a made-up prefix (``ns0:resp``);
slixmpp's escapes text one character at a time. Here each element declares its
namespace where it changes (``<resp xmlns="urn:nfi:iot:sd:1.0">``), as XMPP
peers and the specifications write it, which is also what the inspector shows.
Attributes in a namespace (rare in IoT payloads) get a prefix declared on
their element (``xml:lang`` keeps the one XML gives it).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

_XML_NS = "http://www.w3.org/XML/1998/namespace"
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)


def stanza_text(stanza: ET.Element) -> str:
    """``stanza`` as text in the stream's default namespace (its own is not written), its payloads in theirs."""
    stream_ns = stanza.tag[1:].split("}", 1)[0] if stanza.tag.startswith("{") else ""
    parts: list[str] = []
    _write(stanza, stream_ns, parts, tail=False)
    return "".join(parts)


def element_text(element: ET.Element, default_ns: str = "") -> str:
    """``element`` as text, inside a parent whose namespace is ``default_ns``."""
    parts: list[str] = []
    _write(element, default_ns, parts)
    return "".join(parts)


def _write(element: ET.Element, default_ns: str, parts: list[str], tail: bool = True) -> None:
    tag = element.tag
    if isinstance(tag, str):
        if tag.startswith("{"):
            ns, local = tag[1:].split("}", 1)
        else:
            ns, local = "", tag
        declare = f' xmlns="{ns.translate(_ATTRIBUTE)}"' if ns != default_ns else ""
        attributes = _attributes(element) if element.attrib else ""
        if len(element) or element.text:
            parts.append(f"<{local}{declare}{attributes}>")
            if element.text:
                parts.append(element.text.translate(_TEXT))
            for child in element:
                _write(child, ns, parts)
            parts.append(f"</{local}>")
        else:
            parts.append(f"<{local}{declare}{attributes} />")
    # A comment or processing instruction is nothing a stanza needs; the text after it is.
    if tail and element.tail:
        parts.append(element.tail.translate(_TEXT))


def _attributes(element: ET.Element) -> str:
    """The attributes, each attribute namespace (but xml's) declared on this element with a prefix of its own."""
    written = []
    prefixes: dict[str, str] = {}
    for name, value in element.attrib.items():
        if name.startswith("{"):
            ns, local = name[1:].split("}", 1)
            if ns == _XML_NS:
                name = "xml:" + local
            else:
                prefix = prefixes.get(ns)
                if prefix is None:
                    prefix = prefixes[ns] = f"a{len(prefixes)}"
                    written.append(f' xmlns:{prefix}="{ns.translate(_ATTRIBUTE)}"')
                name = f"{prefix}:{local}"
        written.append(f' {name}="{value.translate(_ATTRIBUTE)}"')
    return "".join(written)
