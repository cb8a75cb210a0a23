"""SCRAM's key derivation in C: what makes a fleet of things log in quickly.

A SCRAM login (RFC 5802) derives the client's key with PBKDF2, 10,000 rounds of HMAC
at Prosody's default. slixmpp computes them in a Python loop: about 18 ms a login, 83%
of the CPU a thousand things spend coming online. ``hashlib.pbkdf2_hmac`` computes the
same bytes in C in about 2 ms. :func:`install` puts it in place of slixmpp's loop; the
rest of the exchange (nonces, proofs, the server's signature check) stays slixmpp's.
"""

from __future__ import annotations

import hashlib

from slixmpp.util import bytes as utf8
from slixmpp.util.sasl import mechanisms


def derive(mechanism: mechanisms.SCRAM, text: str, salt: bytes, iterations: int) -> bytes:
    """``Hi(text, salt, iterations)`` of RFC 5802, with the mechanism's hash (SHA-1, SHA-256...)."""
    digest = mechanism.hash  # hashlib's constructor, chosen from the mechanism's name by setup()
    assert digest is not None
    # One round at least, as slixmpp's loop computes for a server that says i=0 (its proof then fails).
    return hashlib.pbkdf2_hmac(digest().name, utf8(text), salt, max(iterations, 1))


def install() -> None:
    """Have slixmpp's SCRAM mechanisms derive keys with :func:`derive` (idempotent)."""
    mechanisms.SCRAM.Hi = derive  # type: ignore[method-assign, assignment]
