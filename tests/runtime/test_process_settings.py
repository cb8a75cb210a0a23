"""What importing the runtime sets for the whole process: SCRAM keys derived in C, small TLS read buffers."""

from __future__ import annotations

import hmac
from asyncio import sslproto

from hypothesis import given
from hypothesis import strategies as st
from slixmpp.util.sasl import mechanisms

from xiotlab.runtime import scram
from xiotlab.runtime.xmpp import TLS_READ_BUFFER


def slixmpp_hi(hash_name: str, text: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802's Hi as slixmpp writes it (a Python loop), independent of what install() replaced."""
    key = text.encode("utf-8")
    block = hmac.new(key, salt + b"\0\0\0\1", hash_name).digest()
    result = block
    for _ in range(iterations - 1):
        block = hmac.new(key, block, hash_name).digest()
        result = bytes(a ^ b for a, b in zip(result, block, strict=True))
    return result


@given(
    st.sampled_from(["SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
    st.text(max_size=30),
    st.binary(min_size=1, max_size=32),
    st.integers(1, 50),
)
def test_derived_keys_are_the_rfc_5802_keys(mechanism_name, password, salt, iterations):
    mechanism = mechanisms.SCRAM(mechanism_name, {}, {"encrypted": True})
    hash_name = mechanism.hash().name
    assert scram.derive(mechanism, password, salt, iterations) == slixmpp_hi(hash_name, password, salt, iterations)


def test_slixmpp_uses_it_once_the_runtime_is_imported():
    assert mechanisms.SCRAM.Hi is scram.derive


def test_tls_connections_read_into_small_buffers():
    assert sslproto.SSLProtocol.max_size == TLS_READ_BUFFER < 256 * 1024
