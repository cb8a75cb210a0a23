"""slixmpp 1.17's own IoT plugins (``xep_0323``, ``xep_0325``) as third-party peers on the real lab.

The plugin clients run on xiotlab's network loop (slixmpp is not thread-safe),
connect to the lab server with its certificate and STARTTLS, and leave cleanly.
Used by the legacy sensor data and legacy control interoperability tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from xiotlab.runtime import network

WAIT = 10.0  # the longest any single wait in these tests may take


class PluginPeer:
    """A connected slixmpp client with its plugins, on the xiotlab network loop."""

    plugin_name = ""  # the plugin :attr:`plugin` returns

    def __init__(self, xmpp: slixmpp.ClientXMPP) -> None:
        self.xmpp = xmpp
        self.iq_errors: list[slixmpp.Iq] = []  # every iq error that reached it, for the plugin or not
        xmpp.register_handler(Callback("test: iq errors", StanzaPath("iq@type=error"), self.iq_errors.append))

    @property
    def jid(self) -> str:
        return self.xmpp.boundjid.bare

    @property
    def full_jid(self) -> str:
        return self.xmpp.boundjid.full

    @property
    def plugin(self):
        return self.xmpp.plugin[self.plugin_name]

    def befriend(self, jid: str) -> None:
        """Send a friend request; the peer accepts the one coming back on its own (auto_authorize)."""
        self.call(self.xmpp.send_presence_subscription, pto=jid)

    def call(self, fn: Callable, *args, **kwargs):
        """``fn(*args, **kwargs)`` on the network loop (the plugins are not thread-safe); its result."""
        return network.run(_on_loop(fn, *args, **kwargs))

    def call_quietly(self, fn: Callable, *args, **kwargs):
        """As :meth:`call`, for plugin calls that send iqs and drop their futures.

        The plugins read answers by handlers of their own and never retrieve the
        future ``iq.send()`` returns: an error answer would be logged as "Future
        exception was never retrieved". Here each such future is retrieved.
        """

        def quietly():
            make_iq = self.xmpp.Iq

            def quiet_iq(*a, **k):
                iq = make_iq(*a, **k)
                send = iq.send
                iq.send = lambda *sa, **sk: _retrieved(send(*sa, **sk))
                return iq

            self.xmpp.Iq = quiet_iq
            try:
                return fn(*args, **kwargs)
            finally:
                del self.xmpp.Iq

        return self.call(quietly)


async def _on_loop(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def _retrieved(future: asyncio.Future) -> asyncio.Future:
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return future


async def connect(
    lab,
    jid_name: str,
    plugins: dict[str, dict],
    peer_class: type[PluginPeer] = PluginPeer,
    prepare: Callable[[slixmpp.ClientXMPP], None] | None = None,
) -> PluginPeer:
    """A new lab account ``jid_name`` online as a slixmpp client with ``plugins`` (name -> pconfig).

    ``prepare(xmpp)`` runs after the plugins are registered and before connecting
    (to register a plugin device, say).
    """
    account = lab.account(jid_name)
    xmpp = slixmpp.ClientXMPP(account.jid, account.password, loop=asyncio.get_running_loop())
    xmpp.enable_direct_tls = False
    xmpp.ca_certs = str(lab.ca_file)
    for plugin, pconfig in plugins.items():
        xmpp.register_plugin(plugin, pconfig=pconfig)
    if prepare is not None:
        prepare(xmpp)
    peer = peer_class(xmpp)
    outcome = asyncio.get_running_loop().create_future()

    def settle(failure):
        if not outcome.done():
            outcome.set_result(failure)

    xmpp.add_event_handler("session_start", lambda _: settle(None))
    xmpp.add_event_handler("failed_auth", lambda _: settle("authentication failed"))
    xmpp.add_event_handler("connection_failed", lambda e: settle(f"connection failed: {e}"))
    xmpp.connect(lab.host, lab.port)
    try:
        failure = await asyncio.wait_for(outcome, WAIT)
        if failure is None:
            await xmpp.get_roster(timeout=WAIT)
            xmpp.send_presence()
            return peer
    except TimeoutError:
        failure = f"not online within {WAIT:g} s"
    await disconnect(xmpp)
    raise AssertionError(f"plugin peer {account.jid}: {failure}")


async def disconnect(xmpp: slixmpp.ClientXMPP) -> None:
    """Leave cleanly (or abort after a while), leaving no slixmpp task pending."""
    try:
        await asyncio.wait_for(xmpp.disconnect(wait=1.0), WAIT / 2)
    except TimeoutError:
        xmpp.abort()
    xmpp.cancel_connection_attempt()
    sender = xmpp._run_out_filters  # slixmpp leaves its send loop pending after a disconnect
    if sender is not None and not sender.done():
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


@contextlib.contextmanager
def plugin_peers(lab, name):
    """Yields ``connect(prefix, plugins, peer_class, prepare)`` -> an online peer; all leave at the end."""
    peers: list[PluginPeer] = []

    def start(
        prefix: str,
        plugins: dict[str, dict],
        peer_class: type[PluginPeer] = PluginPeer,
        prepare: Callable[[slixmpp.ClientXMPP], None] | None = None,
    ) -> PluginPeer:
        peer = network.run(connect(lab, name(prefix), plugins, peer_class, prepare))
        peers.append(peer)
        return peer

    try:
        yield start
    finally:
        for peer in peers:
            network.run(disconnect(peer.xmpp))


__all__ = ["WAIT", "PluginPeer", "connect", "disconnect", "plugin_peers"]
