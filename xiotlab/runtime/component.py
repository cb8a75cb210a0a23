"""An XMPP component (XEP-0114): a service with an address of its own on the lab's server.

The lab's registry and provisioning services are components, as their
specifications say: the server routes every stanza for ``registry.<domain>``
to one stream, which says who it is with a shared secret instead of an
account. The stream is plain TCP by the XEP's design, so the server listens for
components on loopback only (:mod:`xiotlab.server.prosody`); what a component
answers reaches clients over their own TLS streams.

:class:`ComponentClient` offers what services use of :class:`~.client.XmppClient`
(``serve``, ``on``, ``request``, ``send_message``, discovery features), so the
same :class:`~xiotlab.roles.service.Service` classes run on either. Every
stanza it sends names its sender, the component's address, as XEP-0114 asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable

import slixmpp

from ..errors import CannotConnect, NotConnected, TimedOut
from ..protocol import stanza_errors
from ..protocol.namespaces import COMPONENT
from .connection import State
from .link import DEFAULT_TIMEOUT, ErrorReader, IqKind, Link
from .loop import network
from .xmpp import BaseStream

log = logging.getLogger("xiotlab")


class ComponentStream(BaseStream, slixmpp.ComponentXMPP):
    """slixmpp's component with the lab's discovery and nothing automatic."""

    def __init__(self, jid: str, secret: str, host: str, port: int) -> None:
        super().__init__(jid, secret, host, port)
        self.loop = network.loop
        self.register_plugin("xep_0030")  # service discovery: how clients find the service
        self.register_plugin("xep_0199")  # ping: the baseline of the services' benchmarks


class ComponentClient(Link[ComponentStream]):
    """A component connection: ``jid`` is the service's address (``registry.xiotlab.localhost``).

    ``identity`` is its XEP-0030 identity (category, type, name). Once online, a lost
    connection (the server restarted) is taken back by itself, as a participant's is.
    ``fallbacks``: the same service's listeners on a cluster's other nodes, tried in turn
    when the one in use cannot be reached.
    """

    def __init__(self, jid: str, secret: str, host: str, port: int, *,
                 fallbacks: tuple[tuple[str, int], ...] = (),
                 identity: tuple[str, str, str] = ("component", "generic", "xiotlab"),
                 timeout: float = DEFAULT_TIMEOUT, trace_size: int = 2000) -> None:  # fmt: skip
        self.identity = identity
        self.read_error: ErrorReader = stanza_errors.read_error
        self.features: set[str] = set()
        self._addresses = ((host, port), *fallbacks)
        self._address = 0  # which address is in use (a cluster's nodes take turns)
        self._where = f"{host}:{port}"
        super().__init__(ComponentStream(jid, secret, host, port), timeout=timeout, trace_size=trace_size)

    # --- connecting -------------------------------------------------------

    async def _attempt(self, timeout: float) -> bool:
        """One try at being accepted by the server (raising CannotConnect or TimedOut if not); never resumed.

        With fallbacks, each address is tried in turn while none can be reached.
        """
        for tried in range(1, len(self._addresses) + 1):
            host, port = self._addresses[self._address]
            self._where = f"{host}:{port}"
            try:
                return await self._attempt_at(host, port, timeout)
            except CannotConnect:
                if tried == len(self._addresses):
                    raise
                self._address = (self._address + 1) % len(self._addresses)
        raise AssertionError("unreachable")

    async def _attempt_at(self, host: str, port: int, timeout: float) -> bool:
        result = await self._first_outcome(
            lambda: self.stream.connect(host, port),
            {
                "session_start": lambda _: None,
                "connection_failed": lambda e: CannotConnect(f"Cannot reach {self._where} ({e})."),
                "disconnected": lambda e: CannotConnect(
                    f"The server at {self._where} closed the stream of {self.jid} ({e or 'no reason given'}): "
                    "is the component declared in its configuration, with the same secret?"
                ),
                "stream_error": lambda e: CannotConnect(f"The server refused {self.jid}: {e['condition']}."),
            },
            timeout,
            lambda: TimedOut(f"{self.jid} was not accepted by the server at {self._where} within {timeout:g} s."),
        )
        if isinstance(result, Exception):
            self._abandon()
            raise result
        self._publish()
        return False

    async def disconnect(self, timeout: float | None = None) -> None:
        """Close the stream and stop any reconnecting. Safe to call twice."""
        if self._leave() is State.ONLINE:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stream.disconnect(wait=1.0), self.timeout if timeout is None else timeout)
        self._abandon()
        await self._stop_send_loop()

    def _went_down(self, reason) -> str:
        return f"the stream to {self._where} was lost ({reason or 'closed'})"

    # --- discovery ----------------------------------------------------------

    def add_features(self, features: Iterable[str]) -> None:
        """Announce ``features`` in service discovery at the component's address."""
        self.features |= set(features)
        if self.online:
            self._publish()

    def remove_features(self, features: Iterable[str]) -> None:
        gone = self.features & set(features)
        self.features -= gone
        for feature in gone:
            self.stream.plugin["xep_0030"].del_feature(jid=self.jid, feature=feature)

    def _publish(self) -> None:
        disco = self.stream.plugin["xep_0030"]
        category, kind, name = self.identity
        disco.set_identities(jid=self.jid, identities={(category, kind, None, name)})
        for feature in self.features:
            disco.add_feature(feature, jid=self.jid)

    # --- routing and serving: on, off, serve, on_event (see :class:`.link.Link`) ----------

    # --- sending ----------------------------------------------------------------

    async def request(
        self,
        to: str,
        kind: IqKind,
        payload: ET.Element,
        timeout: float | None = None,
        read_error: ErrorReader | None = None,
    ) -> ET.Element | None:
        """Send an iq of ``kind`` carrying ``payload`` to ``to``; the answer's payload, or a typed error."""
        if not self.online:
            raise NotConnected(f"{self.jid} is not connected to its server.")
        answer = await self._ask(to, kind, payload, self.timeout if timeout is None else timeout, self.jid.full)
        return self._payload(answer, read_error)

    def send_message(self, to: str, payloads: Iterable[ET.Element], kind: str = "normal") -> None:
        """Send one message from the component carrying ``payloads``."""
        message = ET.Element(
            f"{{{COMPONENT}}}message", {"from": self.jid.full, "to": to, "type": kind, "id": self.stream.new_id()}
        )
        self._send_message(message, payloads)

    def __repr__(self) -> str:
        return f"<ComponentClient {self.jid} {self.connection.state.value}>"
