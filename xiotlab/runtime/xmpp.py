"""slixmpp's client set up the lab's way: STARTTLS only and verified, nothing automatic, stream management.

TLS is always on (plain connections refused) and always verified: against the
lab's CA, a CA file given by the user, or the system's trusted authorities.
Friend requests are left to the roles. The plugins every participant needs
are loaded here: discovery, ping, software version, entity capabilities, and
stream management (XEP-0198), which resumes a dropped connection's session.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from asyncio import sslproto
from dataclasses import dataclass
from pathlib import Path

import slixmpp

from ..version import __version__
from . import secrets
from .loop import network

CAPS_NODE = "https://github.com/xiotlab/xiotlab"  # XEP-0115: the software's URI, in every presence
SM_WINDOW = 10  # stanzas between our stream management ack requests (the server asks as often)
TLS_READ_BUFFER = 64 * 1024
"""Bytes a TLS connection reads from its socket at a time. asyncio gives each one 256 kB, which was
60% of what a thing weighs: a fleet of a thousand things carried 250 MB of empty buffers. Four
TLS records (16 kB each) at a time keep a flat-out stream's reads few (see small_tls_buffers)."""
_ASYNCIO_DEFAULT_TLS_BUFFER = 256 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a server. ``host``/``port`` None: DNS, as any XMPP client does.

    ``fallbacks``: other ``(host, port)`` serving the same domain (the other nodes of a cluster),
    tried in turn when the one in use cannot be reached while reconnecting.
    """

    host: str | None = None
    port: int | None = None
    ca_file: Path | None = None
    fallbacks: tuple[tuple[str, int], ...] = ()

    @property
    def addresses(self) -> tuple[tuple[str | None, int | None], ...]:
        """Where the server may be reached, first choice first."""
        return ((self.host, self.port), *self.fallbacks)

    def describe(self, domain: str) -> str:
        return f"{self.host}:{self.port}" if self.host else f"{domain} (via DNS)"


@functools.cache
def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """One verifying TLS context per trust anchor, shared by every client that uses it.

    ``ca_file`` None means the system's authorities. A context holding the system store
    weighs hundreds of kilobytes; a fleet of a thousand things must not carry a thousand.
    """
    return ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))


class StanzaText(str):
    """A whole stanza as text: stream management counts it when it is sent."""


class BaseStream(slixmpp.BaseXMPP):
    """What the lab adds to each of its streams, a client's (:class:`LabStream`) or a component's."""

    def send_text(self, text: str) -> None:
        """Send a stanza serialized by us, in order with every other stanza."""
        self.send_raw(text)

    def send_loop(self) -> asyncio.Future | None:
        """The task that sends queued stanzas, if one was started.

        slixmpp leaves it waiting after a disconnect and cancels it only when the stream
        is garbage collected, which asyncio reports as a task destroyed while pending:
        a client's ``disconnect`` ends it instead (:meth:`.link.Link._stop_send_loop`); the next connect
        starts a fresh one.
        """
        return self._run_out_filters


class LabStream(BaseStream, slixmpp.ClientXMPP):
    """slixmpp's client with the lab's defaults: STARTTLS only, verified, nothing automatic."""

    def __init__(self, jid: str, password: str, endpoint: Endpoint) -> None:
        super().__init__(jid, password, loop=network.loop, ssl_context=tls_context(endpoint.ca_file))
        self.enable_direct_tls = False
        self.enable_plaintext = False
        self.enable_starttls = True
        # Friend requests are decided by the roles, never accepted blindly.
        self.roster.auto_authorize = None  # type: ignore[assignment]  # None: "ask the application"; typed bool
        self.roster.auto_subscribe = False
        self.register_plugin("xep_0030")  # service discovery
        self.register_plugin("xep_0199")  # ping
        self.register_plugin("xep_0092", {"software_name": "xiotlab", "version": __version__})  # software version
        # Entity capabilities (XEP-0115): our presence carries the hash of what we support, so a
        # client that knows the hash need not ask. We only announce ours: following every peer's
        # hash would send a discovery query to anyone whose presence shows a hash we have not
        # seen, and keep every answer, however many a stranger makes up.
        self.register_plugin("xep_0115", {"caps_node": CAPS_NODE})
        self.remove_handler("Entity Capabilities")
        self.unregister_feature("caps", 10010)  # the server's hash in stream features: same reason
        # Stream management: a dropped connection resumes its session, and what was in flight is
        # resent. An ack request every few stanzas bounds what waits in memory for its ack.
        self.register_plugin("xep_0198", {"window": SM_WINDOW})
        self.add_event_handler("session_end", lambda _: self.roster.reset())
        secrets.install()  # the plugins just loaded log on loggers of their own

    def _handle_disconnected(self, event) -> None:
        # slixmpp forgets every contact's presence when the connection drops, but a resumed
        # session hears none of it again: forget only once the session is over (session_end).
        if self.plugin["xep_0198"].sm_id:
            self.session_bind_event.clear()
        else:
            super()._handle_disconnected(event)

    def send_text(self, text: str) -> None:
        """Send a stanza this client serialized itself, in order with every other stanza."""
        # Through the send queue, even when it looks empty: the stanza it took out last may still be
        # waiting for an asynchronous filter (the capabilities hash of a presence), and must go first.
        self.send(StanzaText(text))

    def send_raw(self, data: str | bytes) -> None:
        # Stream management counts the stanza objects it sees; stanzas sent as text it never sees,
        # so they are counted here, as they leave, or the server's count and ours would disagree.
        if isinstance(data, StanzaText):
            management = self.plugin["xep_0198"]
            if management.enabled_out:
                management.seq = (management.seq + 1) % 2**32
                management.unacked_queue.append((management.seq, str(data)))  # resent as plain text
                management.window_counter -= 1
                if management.window_counter <= 0:
                    management.window_counter = management.window
                    management.request_ack()
        super().send_raw(data)


def small_tls_buffers(size: int = TLS_READ_BUFFER) -> None:
    """Have asyncio give each TLS connection a read buffer of ``size`` bytes, unless someone chose already.

    asyncio's TLS protocol makes its buffer as large as its class's ``max_size`` when a connection
    starts TLS (256 kB by default). The setting is the process's: a kernel's TLS connections are its
    lab participants', and reads of four TLS records at a time cost nothing measurable to anyone else.
    """
    if sslproto.SSLProtocol.max_size == _ASYNCIO_DEFAULT_TLS_BUFFER:
        sslproto.SSLProtocol.max_size = size
