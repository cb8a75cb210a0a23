"""A client with fallback addresses (a cluster's nodes) names the address it tried, and all of them."""

from __future__ import annotations

import socket

import pytest

from xiotlab.errors import CannotConnect
from xiotlab.runtime.client import XmppClient
from xiotlab.runtime.loop import network
from xiotlab.runtime.xmpp import Endpoint


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_when_every_node_is_unreachable_the_error_names_the_last_tried_and_all():
    first, second = _closed_port(), _closed_port()
    endpoint = Endpoint("127.0.0.1", first, None, (("127.0.0.1", second),))

    async def connect() -> None:
        await XmppClient("x@lab.test", "x", endpoint, timeout=5, reconnect=False).connect()

    with pytest.raises(CannotConnect) as caught:
        network.run(connect())
    message = str(caught.value)
    assert message.startswith(f"Cannot connect to 127.0.0.1:{second} "), "the node tried last, not the first"
    assert f"127.0.0.1:{first}, 127.0.0.1:{second}" in message
