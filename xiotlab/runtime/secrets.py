"""Secrets never shown: SASL payloads and ``<password>`` elements, redacted in traces and in log records.

What is secret is said once, here, and one function redacts it,
:func:`redact_text`, on XML text: log records carry the stream's text
(slixmpp logs ``SEND: <auth mechanism='PLAIN'>base64 of the password</auth>``
at DEBUG, after a failed SCRAM attempt or on a server offering only PLAIN),
and the trace hands the rare stanza that may hold a secret through the same
function (:func:`redacted`).

Secret are the text of SASL's ``<auth>``, ``<challenge>``, ``<response>`` and
``<success>`` (base64: a password with PLAIN, proofs and nonces with SCRAM)
and of any ``<password>`` element (registration, legacy authentication).
In log text, where namespaces may not be written out, these names are
redacted in any namespace: hiding an odd ``<response>`` costs nothing.

:func:`install` puts a :class:`SecretsFilter` on slixmpp's loggers and on
xiotlab's, at every level; importing :mod:`xiotlab.runtime` calls it.
"""

from __future__ import annotations

import logging
import re
import traceback
import xml.etree.ElementTree as ET

from ..protocol.namespaces import SASL

REDACTED = "[redacted]"

SASL_PAYLOADS = frozenset({"auth", "challenge", "response", "success"})
"""SASL elements whose text is a base64 authentication payload."""

SECRET_ELEMENTS = SASL_PAYLOADS | {"password"}
"""Elements whose text is redacted in log text, whatever their namespace."""

# <name ...>text</name>, with or without a prefix; the text of these elements has no markup.
_SECRET = re.compile(
    r"(<(?:[\w.-]+:)?(" + "|".join(sorted(SECRET_ELEMENTS)) + r")(?:\s[^>]*)?>)([^<]+)(</(?:[\w.-]+:)?\2\s*>)"
)

# slixmpp's loggers that see authentication, made now if slixmpp has not made them yet, so that
# they have the filter from their first record (a logger's filters see only its own records).
_SLIXMPP_LOGGERS = (
    "slixmpp",
    "slixmpp.xmlstream.xmlstream",  # SEND: / RECV: every byte of the stream
    "slixmpp.features.feature_mechanisms.mechanisms",
    "slixmpp.util.sasl.client",
    "slixmpp.util.sasl.mechanisms",
    "slixmpp.basexmpp",
    "slixmpp.clientxmpp",
)


def redact_text(text: str) -> str:
    """``text`` with the content of every secret element replaced by ``[redacted]``."""
    if "<" not in text:
        return text
    return _SECRET.sub(lambda m: m.group(1) + REDACTED + m.group(4), text)


def may_hold_secret(element: ET.Element) -> bool:
    """Whether a stanza may carry a secret: a SASL payload with text, or an iq with a password.

    Passwords travel only in iqs (registration, legacy auth): big messages need no search.
    """
    ns, local = _split(element.tag)
    if ns == SASL:
        return local in SASL_PAYLOADS and bool(element.text)
    return local == "iq" and any(_is_password(e) for e in element.iter())


def _is_password(element: ET.Element) -> bool:
    tag = element.tag
    return isinstance(tag, str) and (tag == "password" or tag.endswith("}password")) and bool(element.text)


def redacted(element: ET.Element) -> ET.Element:
    """``element``, or a copy of it with secrets replaced: the original is never changed."""
    if not may_hold_secret(element):
        return element
    return ET.fromstring(redact_text(ET.tostring(element, encoding="unicode")))


class SecretsFilter(logging.Filter):
    """Redacts secrets in a log record, however it is to be formatted; never drops a record.

    The message is formatted here (``msg % args``) and kept formatted when it
    held a secret; an exception's traceback is formatted and redacted too,
    since stanzas end up in exception messages.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a record that cannot be formatted is logging's to report, as it would be without us
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


_filter = SecretsFilter()


def install() -> None:
    """Put the filter on xiotlab's logger and every slixmpp logger there is (again: idempotent).

    Call it again after importing slixmpp plugins that log on loggers of their own.
    """
    names = {*_SLIXMPP_LOGGERS, "xiotlab"}
    names |= {name for name in logging.Logger.manager.loggerDict if name.startswith("slixmpp.")}
    for name in names:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return "", tag
