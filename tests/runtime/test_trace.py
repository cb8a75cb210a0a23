"""Traces never hold secrets."""

import xml.etree.ElementTree as ET

from xiotlab.runtime.trace import REDACTED, Trace, redacted

SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


def test_sasl_payloads_are_redacted_without_touching_the_original():
    auth = ET.Element(f"{{{SASL}}}auth", mechanism="PLAIN")
    auth.text = "AGFsaWNlAHNlY3JldA=="
    shown = redacted(auth)
    assert shown.text == REDACTED and shown.get("mechanism") == "PLAIN"
    assert auth.text == "AGFsaWNlAHNlY3JldA=="


def test_sasl_failure_stays_readable():
    failure = ET.fromstring(f"<failure xmlns='{SASL}'><not-authorized/><text>bad</text></failure>")
    assert redacted(failure) is failure


def test_password_elements_anywhere_are_redacted():
    iq = ET.fromstring(
        "<iq xmlns='jabber:client' type='set'><query xmlns='jabber:iq:register'>"
        "<username>bob</username><password>hunter2</password></query></iq>"
    )
    trace = Trace(maxlen=2)
    entry = trace.record("out", iq)
    assert "hunter2" not in entry.xml and "bob" in entry.xml
    assert entry.namespaces == ("jabber:iq:register",)


def test_trace_is_bounded_and_observable():
    trace, seen = Trace(maxlen=3), []
    trace.observe(seen.append)
    for i in range(5):
        trace.record("in", ET.Element("{jabber:client}message", id=str(i)))
    assert [e.xml.count(f'id="{i}"') for i, e in zip(range(2, 5), trace, strict=True)] == [1, 1, 1]
    assert len(seen) == 5 and len(trace) == 3


def test_namespaces_name_the_protocols_a_stanza_speaks_not_the_stanza_namespace():
    import xml.etree.ElementTree as ET

    from xiotlab.runtime.trace import TraceEntry

    message = ET.fromstring(
        "<message xmlns='jabber:client' to='a@b'><body>hi</body><e xmlns='urn:nfi:iot:events:1.0'/></message>"
    )
    auth = ET.fromstring("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGE=</auth>")
    assert TraceEntry("in", message).namespaces == ("urn:nfi:iot:events:1.0",)
    assert TraceEntry("out", auth).namespaces == ("urn:ietf:params:xml:ns:xmpp-sasl",)


def test_a_trace_is_indexed_like_a_list_newest_last():
    trace = Trace()
    for n in range(5):
        trace.record("out", ET.Element("message", id=str(n)))
    assert trace[-1].xml == trace.entries[-1].xml and 'id="4"' in trace[-1].xml
    assert [e.xml for e in trace[-2:]] == [e.xml for e in list(trace)[-2:]]
