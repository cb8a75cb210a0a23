"""The protocol inspector: live, filtered, bounded, escaped, and never showing a secret."""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import StanzaError
from xiotlab.faces.widgets import inspector as inspector_module
from xiotlab.faces.widgets.inspector import Inspector, pretty_xml
from xiotlab.runtime import Trace
from xiotlab.runtime.trace import REDACTED

from ..waiting import eventually

SD = "urn:nfi:iot:sd:1.0"


def shown(view: Inspector) -> list[str]:
    """The HTML blocks of the stanzas the inspector shows, oldest first."""
    return re.findall(r"<div class='xiotlab-stanza'.*?</pre></div>", view.stanzas.value, re.S)


def options(dropdown) -> list[str]:
    return [value for _, value in dropdown.options]


def message(i: int, peer: str = "lamp@lab/a", direction: str = "in") -> ET.Element:
    side = "from" if direction == "in" else "to"
    return ET.fromstring(
        f"<message xmlns='jabber:client' {side}='{peer}' id='m{i}'><ping xmlns='urn:test:{i % 2}'/></message>"
    )


@pytest.fixture
def pair(lab, online, name):
    """An owner and her thermometer, friends."""
    alice = online(Owner, name("alice"))
    thermo = Thing(name("thermo"), owner=alice.jid, lab=lab, timeout=5)
    thermo.sensor("temperature", unit="°C", decimals=1)(lambda: 21.5)
    online(thermo)
    alice.befriend(thermo.jid)
    return alice, thermo


def test_a_login_seen_from_the_start_shows_no_password(lab, online, name, widgets):
    alice = Owner(name("alice"), lab=lab, timeout=5)
    view = widgets(Inspector(alice))  # attached before the first stanza
    online(alice)
    password = lab.password_of(alice.jid)
    local = alice.jid.split("@")[0]
    secrets = {
        password,
        *(
            base64.b64encode(s.encode()).decode()
            for s in (
                password,
                f"\0{local}\0{password}",
                f"\0{alice.jid}\0{password}",
                f"{alice.jid}\0{local}\0{password}",
            )
        ),
    }
    # A registration form carries a <password>: the trace redacts it too, whatever the server answers.
    with pytest.raises(StanzaError):
        alice.send_iq(
            lab.domain,
            "<query xmlns='jabber:iq:register'><username>x</username><password>hunter2-never-shown</password></query>",
            "set",
            timeout=2,
        )
    assert eventually(lambda: "jabber:iq:register" in view.stanzas.value)
    html = view.stanzas.value
    assert REDACTED in html
    assert "hunter2-never-shown" not in html
    for secret in secrets:
        assert secret not in html and secret not in repr(view)
    assert "urn:ietf:params:xml:ns:xmpp-sasl" in html  # the authentication itself is shown, its payload not


def test_a_readout_shows_and_the_filters_narrow_it(pair, widgets):
    alice, thermo = pair
    view = widgets(Inspector(alice))
    alice.read(thermo.jid)
    assert eventually(lambda: SD in options(view.namespace))
    assert thermo.jid in options(view.peer)
    everything = len(shown(view))

    view.namespace.value = SD
    assert eventually(lambda: 0 < len(shown(view)) < everything)
    assert all(SD in block for block in shown(view))
    directions = {re.search(r"data-direction='(\w+)'", b).group(1) for b in shown(view)}
    assert directions == {"out", "in"}, "the request and its answer"

    view.direction.value = "in"
    assert eventually(lambda: all("data-direction='in'" in b for b in shown(view)))
    assert "&lt;resp" in view.stanzas.value and "&lt;req" not in view.stanzas.value  # the answer only

    view.namespace.value = inspector_module.ALL
    view.direction.value = inspector_module.ALL
    view.peer.value = thermo.jid
    assert eventually(lambda: shown(view) and all(thermo.jid in b.split("</div>")[0] for b in shown(view)))
    assert "peer=" in repr(view)


def test_status_text_shows_escaped(pair, widgets):
    alice, thermo = pair
    view = widgets(Inspector(alice))
    thermo.set_status("<script>alert('hi')</script>")
    assert eventually(lambda: "alert(" in view.stanzas.value)
    assert "<script" not in view.stanzas.value


def test_the_newest_stanzas_up_to_the_limit_show_newest_last(widgets):
    trace = Trace()
    for i in range(50):
        trace.record("in", message(i))
    view = widgets(Inspector(trace, limit=10))
    blocks = shown(view)
    assert len(blocks) == 10
    assert "m40" in blocks[0] and "m49" in blocks[-1]
    assert "showing 10 of 50" in view.summary.value

    view.namespace.value = "urn:test:1"  # the odd ones
    assert eventually(lambda: "showing 10 of 25" in view.summary.value)
    assert "m31" in shown(view)[0] and "m49" in shown(view)[-1]


def test_only_the_stanzas_shown_are_serialized(widgets):
    trace = Trace()
    for i in range(500):
        trace.record("out", message(i, direction="out"))
    widgets(Inspector(trace, limit=5))
    serialized = [entry for entry in trace if entry._xml is not None]
    assert len(serialized) == 5


def test_new_stanzas_show_live_and_pause_and_clear_work_on_the_view_only(widgets):
    trace = Trace()
    for i in range(3):
        trace.record("in", message(i))
    view = widgets(Inspector(trace))
    assert len(shown(view)) == 3
    trace.record("out", message(3, peer="bob@lab/x", direction="out"))
    assert eventually(lambda: len(shown(view)) == 4)
    assert eventually(lambda: "bob@lab" in options(view.peer))

    view.pause()
    trace.record("in", message(4))
    trace.record("in", message(5))
    assert eventually(lambda: "2 newer not shown" in view.summary.value)
    assert len(shown(view)) == 4
    view.direction.value = "out"  # filters still apply to the frozen view
    assert eventually(lambda: len(shown(view)) == 1)
    view.direction.value = inspector_module.ALL
    view.resume()
    assert eventually(lambda: len(shown(view)) == 6)

    view.clear.click()
    assert eventually(lambda: shown(view) == [])
    assert len(trace) == 6, "Clear empties the view, not the shared trace"
    trace.record("in", message(6))
    assert eventually(lambda: len(shown(view)) == 1 and "m6" in shown(view)[0])


def test_filters_set_from_code_may_name_what_was_not_seen_yet(widgets):
    trace = Trace()
    trace.record("in", message(0))
    view = widgets(Inspector(trace))
    assert view.filter(peer="carol@lab/phone", namespace="urn:test:1") is view
    assert (view.peer.value, view.namespace.value) == ("carol@lab", "urn:test:1")
    assert eventually(lambda: shown(view) == [])
    trace.record("in", message(1, peer="carol@lab/tablet"))
    assert eventually(lambda: len(shown(view)) == 1)
    view.filter(peer="", direction="out")
    assert eventually(lambda: "showing 0 of 0" in view.summary.value)
    with pytest.raises(ValueError, match="'out'"):
        view.filter(direction="sent")


def test_a_failing_redraw_shows_in_errors(widgets, monkeypatch):
    trace = Trace()
    view = widgets(Inspector(trace))

    def broken(entry):
        raise ValueError("this stanza broke the inspector")

    monkeypatch.setattr(inspector_module, "entry_html", broken)
    trace.record("in", message(0))
    assert eventually(lambda: view.errors.outputs)
    assert "this stanza broke the inspector" in view.errors.outputs[0]["text"]


def test_pretty_printing_never_fails():
    assert pretty_xml("<a><b x='1'>t</b><c/></a>") == '<a>\n  <b x="1">t</b>\n  <c/>\n</a>'
    assert pretty_xml("<a><unclosed></a>") == "<a><unclosed></a>"
    assert pretty_xml("") == ""
    odd = "<r xmlns:ns0='urn:x'><ns0:resp>&lt;&amp;</ns0:resp></r>"
    assert "ns0:resp" in pretty_xml(odd) and "&lt;&amp;" in pretty_xml(odd)
    assert "&lt;unclosed&gt;" in re.sub(r"<[^>]+>", "", inspector_module.xml_html("<a><unclosed></a>"))


@pytest.mark.parametrize(
    "text",
    [
        "<a x='1' y=\"2\"/>",
        "</a>",
        "<?xml version='1.0'?>",
        "<!-- c -->",
        "a < b > c & d",
        "<",
        ">",
        "<a x='>'>",
        "<a\nx = '1'\n>t</a>",
        "<script>alert(1)</script>",
        "",
    ],
)
def test_highlighting_keeps_every_character_and_lets_no_markup_through(text):
    highlighted = inspector_module.highlight_xml(text)
    assert html.unescape(re.sub(r"</?span[^>]*>", "", highlighted)) == text
    assert "<script" not in highlighted and not re.search(r"<(?!/?span)", highlighted)


def test_bad_arguments_are_refused_with_advice(lab):
    with pytest.raises(TypeError, match="participant"):
        Inspector("alice")
    with pytest.raises(ValueError, match="positive"):
        Inspector(Trace(), limit=0)


def test_close_stops_following():
    trace = Trace()
    view = Inspector(trace)
    view.close()
    assert view._on_entry not in trace._observers
    trace.record("in", message(0))  # must not raise
    view.close()


def test_an_error_counts_as_the_protocol_its_cause_is_in():
    trace = Trace()
    error = ET.fromstring(
        "<iq xmlns='jabber:client' type='error' from='lamp@lab/a' id='s1'><error type='modify'>"
        "<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "<paramError xmlns='urn:nfi:iot:ctr:1.0' var='brightness'>out of range</paramError></error></iq>"
    )
    assert trace.record("in", error).namespaces == ("urn:nfi:iot:ctr:1.0",)


def test_filtering_by_the_control_protocol_shows_the_set_and_its_refusal_newest_last(lab, online, name, widgets):
    alice = online(Owner, name("alice"))
    lamp = Thing(name("lamp"), owner=alice.jid, lab=lab, timeout=5)
    lamp.control("brightness", type=float, min=0, max=100, value=50.0)(lambda value: None)
    online(lamp)
    alice.befriend(lamp.jid)
    view = widgets(Inspector(alice)).filter(namespace="urn:nfi:iot:ctr:1.0")
    with pytest.raises(StanzaError):
        alice.set(lamp.jid, {"brightness": 150.0})
    # (the owner first fetched the control form: a get in the same protocol)
    assert eventually(lambda: len(shown(view)) >= 2 and "paramError" in shown(view)[-1])
    sent, refused = shown(view)[-2:]
    assert "data-direction='out'" in sent and "&lt;set</span>" in sent and "data-direction='in'" in refused
    # The view scrolls inside a reversed column (a box outside the HTML): it opens at its end, the newest stanza.
    assert view.scroller.layout.flex_flow == "column-reverse" and view.scroller.layout.overflow == "auto"
    assert view.scroller.children == (view.stanzas,)


def test_pause_and_resume_are_methods_as_on_a_plot(widgets):
    trace = Trace()
    view = widgets(Inspector(trace))
    trace.record("in", message(1))
    view._redraws.now()
    view.pause()
    assert view.pause_button.value and view.pause_button.description == "Resume" and "paused" in repr(view)
    trace.record("in", message(2))
    view._redraws.now()
    assert len(shown(view)) == 1
    view.resume()
    view._redraws.now()
    assert len(shown(view)) == 2 and "live" in repr(view)
