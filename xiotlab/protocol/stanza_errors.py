"""XMPP stanza errors (RFC 6120 §8.3), built and read without knowing any IoT dialect.

An error answer is the request's stanza with ``type='error'`` holding one
``<error type=kind>`` (``kind`` is cancel, modify, auth or wait) in the
stream's namespace; inside it, one defined condition (``<bad-request/>``,
``<forbidden/>``, ...) and an optional ``<text/>``, both in
:data:`~.namespaces.STANZA_ERRORS`, then any application elements
(*details*) a protocol adds: control's ``paramError``, say.

:func:`read_error` turns such an answer into the exception to raise; dialects
whose errors say more wrap it (:func:`.control.read_error`,
:func:`.legacy_sensordata.read_error`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from ..errors import Forbidden, ServerUnreachable, StanzaError, XmppError
from .elements import split, xml_text
from .namespaces import CLIENT, STANZA_ERRORS

__all__ = ["MAX_TEXT", "build_error", "error_of", "read_condition", "read_error"]

MAX_TEXT = 65536
"""Longest error text kept, in characters."""

_ERROR = f"{{{CLIENT}}}error"
_TEXT = f"{{{STANZA_ERRORS}}}text"
_REFUSALS = ("forbidden", "not-authorized")
_UNREACHABLE = ("remote-server-not-found", "remote-server-timeout")


def build_error(
    condition: str = "undefined-condition", text: str = "", *, kind: str = "cancel", details: Iterable[ET.Element] = ()
) -> ET.Element:
    """``<error type=kind><condition/><text>text</text>details</error>``, the child of an error answer."""
    error = ET.Element(_ERROR, type=kind or "cancel")
    ET.SubElement(error, f"{{{STANZA_ERRORS}}}{condition or 'undefined-condition'}")
    if text:
        ET.SubElement(error, _TEXT).text = xml_text(text, "error text")
    error.extend(details)
    return error


def error_of(element: ET.Element) -> ET.Element | None:
    """The ``<error/>`` of an error answer, whatever the stream's namespace; ``element`` itself if it is one."""
    # Not only jabber:client: a component's stream (jabber:component:accept) carries the same errors.
    if split(element.tag)[1] == "error":
        return element
    return next((child for child in element if split(child.tag)[1] == "error"), None)


def read_condition(error: ET.Element) -> tuple[str, str]:
    """``(condition, text)`` of an ``<error/>``; ``undefined-condition`` when it names none."""
    condition, text = "undefined-condition", ""
    for child in error:
        ns, local = split(child.tag)
        if ns != STANZA_ERRORS:
            continue
        if local == "text":
            text = (child.text or "")[:MAX_TEXT]
        elif condition == "undefined-condition":
            condition = local
    return condition, text


def read_error(answer: ET.Element, *, reason: str = "") -> XmppError:
    """The exception an error answer stands for, naming the peer that sent it.

    :class:`~xiotlab.errors.Forbidden` when the peer refused us
    (``forbidden``, ``not-authorized``), else a
    :class:`~xiotlab.errors.StanzaError` carrying condition, text and kind.
    ``reason``, a dialect's own explanation, replaces the error's text.
    """
    peer = answer.get("from") or "the server"
    error = error_of(answer)
    if error is None:  # slixmpp's legacy plugins send a <rejected> and no <error>
        if reason:
            return StanzaError(
                f"{peer} answered with an error: {reason.rstrip('.')}.", condition="undefined-condition", text=reason
            )
        return StanzaError(f"{peer} answered with an error that says nothing.")
    condition, text = read_condition(error)
    text = reason or text
    detail = f": {text.rstrip('.')}" if text else ""
    if condition in _UNREACHABLE:
        return _unreachable(answer, error, condition, detail)
    if condition in _REFUSALS:
        hint = "" if text else " Are you its friend or owner?"  # a peer that says why needs no guess of ours
        return Forbidden(f"{peer} refused the request ({condition}){detail}.{hint}")
    return StanzaError(
        f"{peer} answered with an error ({condition}){detail}.",
        condition=condition,
        text=text,
        kind=error.get("type", "cancel"),
    )


def _unreachable(answer: ET.Element, error: ET.Element, condition: str, detail: str) -> ServerUnreachable:
    """The error of a server that could not reach the peer's (down, misspelled, or not trusting this one)."""
    peer = answer.get("from") or "the peer"
    server = error.get("by") or "your server"
    return ServerUnreachable(
        f"{server} could not reach the server of {peer} ({condition}){detail}. That server is down, its "
        "domain is misspelled, or the two servers do not federate with and trust each other "
        "(two labs must each trust the other).",
        condition=condition,
        text=detail.removeprefix(": "),
        kind=error.get("type", "cancel"),
    )
