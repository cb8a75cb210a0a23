"""Stanza errors: built and read without a dialect, and the dialects' readers that wrap the reading."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from xiotlab.errors import Forbidden, ParameterError, StanzaError
from xiotlab.protocol import control, stanza_errors
from xiotlab.protocol import legacy_sensordata as L
from xiotlab.protocol.namespaces import CLIENT, LEGACY_SENSOR_DATA, STANZA_ERRORS


def answer(*children: ET.Element, peer: str = "lamp@example.org/x") -> ET.Element:
    """An iq error from ``peer`` holding ``children``, as it arrives."""
    iq = ET.Element(f"{{{CLIENT}}}iq", {"type": "error", "from": peer})
    iq.extend(children)
    return ET.fromstring(ET.tostring(iq))


def test_build_error_writes_kind_condition_text_and_details():
    detail = ET.Element("{urn:example}why")
    error = stanza_errors.build_error("item-not-found", "no lamp here", kind="modify", details=[detail])
    assert (error.tag, error.get("type")) == (f"{{{CLIENT}}}error", "modify")
    assert [c.tag for c in error] == [
        f"{{{STANZA_ERRORS}}}item-not-found",
        f"{{{STANZA_ERRORS}}}text",
        "{urn:example}why",
    ]
    assert stanza_errors.read_condition(error) == ("item-not-found", "no lamp here")
    bare = stanza_errors.build_error()
    assert (bare.get("type"), [c.tag for c in bare]) == ("cancel", [f"{{{STANZA_ERRORS}}}undefined-condition"])


def test_read_error_names_the_peer_and_knows_refusals():
    refused = stanza_errors.read_error(answer(stanza_errors.build_error("forbidden", "owner only.", kind="auth")))
    assert isinstance(refused, Forbidden)
    assert str(refused) == "lamp@example.org/x refused the request (forbidden): owner only."
    unexplained = stanza_errors.read_error(answer(stanza_errors.build_error("forbidden", kind="auth")))
    assert str(unexplained) == "lamp@example.org/x refused the request (forbidden). Are you its friend or owner?"
    other = stanza_errors.read_error(answer(stanza_errors.build_error("conflict", kind="wait")))
    assert type(other) is StanzaError
    assert (str(other), other.condition, other.text, other.kind) == (
        "lamp@example.org/x answered with an error (conflict).",
        "conflict",
        "lamp@example.org/x answered with an error (conflict).",
        "wait",
    )
    silent = stanza_errors.read_error(answer(peer=""))
    assert str(silent) == "the server answered with an error that says nothing."


def test_control_reader_names_the_refused_parameter_and_falls_back_to_the_generic_one():
    refusal = ParameterError("Level", "above the maximum 100")
    got = control.read_error(answer(control.build_error(refusal)))
    assert isinstance(got, ParameterError) and (got.parameter, got.text) == ("Level", "above the maximum 100")
    plain = control.read_error(answer(stanza_errors.build_error("not-authorized", kind="auth")))
    assert isinstance(plain, Forbidden)


def test_legacy_refusal_pairs_the_standard_error_with_rejected_and_reads_back_its_reason():
    request = ET.Element(f"{{{LEGACY_SENSOR_DATA}}}req", seqnr="7")
    error, rejected = L.build_refusal(request, "Access denied", condition="forbidden", kind="auth")
    assert (error.get("type"), stanza_errors.read_condition(error)) == ("auth", ("forbidden", "Access denied"))
    assert L.parse_rejected(rejected) == L.Rejected("7", "Access denied")
    got = L.read_error(answer(error, rejected))
    assert isinstance(got, Forbidden) and "Access denied" in str(got)
    # The <rejected> reason says more than the condition's text beside it.
    terse = stanza_errors.build_error("bad-request", "bad")
    got = L.read_error(answer(terse, L.build_rejected(8, "seqnr 8 names no field I have")))
    assert (got.condition, got.text) == ("bad-request", "seqnr 8 names no field I have")
    unreadable = ET.Element(f"{{{LEGACY_SENSOR_DATA}}}rejected")  # no seqnr: its reason is not taken
    assert L.read_error(answer(terse, unreadable)).text == "bad"


@pytest.mark.parametrize("seqnr", [None, "abc"])
def test_legacy_refusal_needs_a_seqnr_it_can_echo(seqnr):
    request = ET.Element(f"{{{LEGACY_SENSOR_DATA}}}req", {} if seqnr is None else {"seqnr": seqnr})
    with pytest.raises((TypeError, ValueError)):
        L.build_refusal(request, "why")
