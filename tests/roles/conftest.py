"""Fixtures the wire tests of the roles share."""

from __future__ import annotations

import pytest

from . import plugin_peers
from .raw_peer import RawPeer


@pytest.fixture
def raw(lab, name):
    """``raw(prefix)`` -> a new lab account online as a plain slixmpp :class:`~.raw_peer.RawPeer`."""
    with plugin_peers.plugin_peers(lab, name) as start:
        yield lambda prefix="raw": start(prefix, {}, RawPeer)
