"""Stanzas written as text by the link (xiotlab.runtime.wire) read back as the same XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from xiotlab.runtime.wire import element_text, stanza_text

CLIENT = "jabber:client"
NAMESPACES = st.sampled_from(["", "urn:nfi:iot:sd:1.0", "urn:xiotlab:iot:series:1", 'urn:a"b&c'])
XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]).filter(lambda c: c in "\t\n" or c >= " "))
NAMES = st.sampled_from(
    ["n", "v", "id", "more", "t-1", "{http://www.w3.org/XML/1998/namespace}lang", "{urn:b}flag", "{urn:c}x"]
)


@st.composite
def elements(draw, depth=0):
    ns = draw(NAMESPACES)
    element = ET.Element(f"{{{ns}}}e{draw(st.integers(0, 3))}" if ns else "plain")
    for name in draw(st.lists(NAMES, max_size=3, unique=True)):
        element.set(name, draw(XML_TEXT))
    element.text = draw(st.none() | XML_TEXT)
    element.tail = draw(st.none() | XML_TEXT)
    if depth < 3:
        element.extend(draw(st.lists(elements(depth + 1), max_size=3)))
    return element


def same(a: ET.Element, b: ET.Element) -> bool:
    """Equal XML, text normalized as any parser normalizes it (a lone \\r becomes \\n)."""

    def text(value):
        return (value or "").replace("\r\n", "\n").replace("\r", "\n")

    return (
        a.tag == b.tag
        and {k: v.replace("\r", "\n") for k, v in a.attrib.items()}
        == {k: v.replace("\r", "\n") for k, v in b.attrib.items()}
        and text(a.text) == text(b.text)
        and text(a.tail) == text(b.tail)
        and len(a) == len(b)
        and all(same(x, y) for x, y in zip(a, b, strict=True))
    )


@given(st.lists(elements(), max_size=3))
def test_a_stanza_reads_back_as_it_was_built(payloads):
    stanza = ET.Element(f"{{{CLIENT}}}message", {"to": "a@b/c", "id": "1"})
    stanza.extend(payloads)
    text = stanza_text(stanza)
    assert text.startswith("<message ")
    parsed = ET.fromstring(text.replace("<message ", f'<message xmlns="{CLIENT}" ', 1))
    for payload in stanza:
        payload.tail = None  # a stanza's own tail is not part of it
    for payload in parsed:
        payload.tail = None
    assert same(parsed, stanza)


def test_payloads_declare_their_namespace_where_it_changes_as_peers_write_it():
    resp = ET.Element("{urn:nfi:iot:sd:1.0}resp", id="1")
    ts = ET.SubElement(resp, "{urn:nfi:iot:sd:1.0}ts", v="2026-12-01T00:00:00Z")
    q = ET.SubElement(ts, "{urn:nfi:iot:sd:1.0}q", n="a<b", v="1.5")
    ET.SubElement(ET.SubElement(q, "{urn:nfi:iot:sd:1.0}x"), "{urn:xiotlab:iot:series:1}s").text = "[[1],[2.5]]"
    assert element_text(resp, CLIENT) == (
        '<resp xmlns="urn:nfi:iot:sd:1.0" id="1"><ts v="2026-12-01T00:00:00Z"><q n="a&lt;b" v="1.5">'
        '<x><s xmlns="urn:xiotlab:iot:series:1">[[1],[2.5]]</s></x></q></ts></resp>'
    )


def test_an_attribute_in_a_namespace_gets_a_prefix_and_children_keep_theirs():
    element = ET.Element("{urn:a}e", {"{urn:b}flag": "1"})
    ET.SubElement(element, "plain").text = "x"
    parsed = ET.fromstring(element_text(element, CLIENT))
    assert parsed.attrib == {"{urn:b}flag": "1"}
    assert [child.tag for child in parsed] == ["plain"]  # in no namespace, as built


def test_the_text_after_a_comment_is_kept():
    element = ET.Element("{urn:a}e")
    comment = ET.Comment("why")
    comment.tail = "after"
    element.append(comment)
    assert ET.fromstring(element_text(element)).text == "after"
