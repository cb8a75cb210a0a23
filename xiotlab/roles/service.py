"""What every protocol feature of a participant is: a service over the participant's client.

A service sees only what it is given: the client (send, serve, route, request)
and, where it decides who may do what, an access port. Like a slixmpp plugin,
it registers its handlers and announces its discovery features when attached,
and takes both back when detached, so a new protocol is a new service, not
edits across :class:`~xiotlab.roles.thing.Thing`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from ..runtime import network
from ..runtime.connection import Connection, State
from ..runtime.serving import Handler


class Host(Protocol):
    """What a service needs of the connection it runs on: a client's (XmppClient) or a component's."""

    connection: Connection

    def serve(self, namespaces: Iterable[str], local: str, handler: Handler, types: tuple[str, ...] = ...) -> None: ...

    def on(self, kind: str, tag: str, callback: Callable[[Any, Any], Any]) -> None: ...

    def off(self, kind: str, tag: str) -> None: ...

    def add_features(self, features: Iterable[str]) -> None: ...

    def remove_features(self, features: Iterable[str]) -> None: ...

    def on_event(self, event: str, handler: Callable[[Any], Any]) -> None: ...

    def off_event(self, event: str, handler: Callable[[Any], Any]) -> None: ...


C = TypeVar("C", bound=Host)


class Service(Generic[C]):
    """A feature of one participant (or of a lab component); subclasses register what they answer in :meth:`register`.

    ``features`` are the namespaces announced in service discovery while attached.
    """

    features: tuple[str, ...] = ()

    def __init__(self, client: C) -> None:
        self.client = client
        self._undo: list[Callable[[], None]] = []

    def register(self) -> None:
        """Register handlers with :meth:`serve`, :meth:`route` and :meth:`on_event` (called by :meth:`attach`)."""

    def attach(self) -> None:
        """Start answering: handlers registered, features announced (from any thread)."""
        network.do(self._attach)

    def detach(self) -> None:
        """Stop answering: every handler removed, features no longer announced (from any thread)."""
        network.do(self._detach)

    # Handlers and features are read by the network loop: they change only there.

    def _attach(self) -> None:
        self.register()
        self.client.add_features(self.features)

    def _detach(self) -> None:
        self.client.remove_features(self.features)
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    # --- for register() ---------------------------------------------------------

    def serve(
        self, namespaces: Iterable[str], local: str, handler: Handler, types: tuple[str, ...] = ("get", "set")
    ) -> None:
        """Answer iqs carrying ``<local>`` in ``namespaces`` (see :meth:`XmppClient.serve`)."""
        namespaces = tuple(namespaces)
        self.client.serve(namespaces, local, handler, types)
        for ns in namespaces:
            self._undo.append(functools.partial(self.client.off, "iq", f"{{{ns}}}{local}"))

    def route(self, kind: str, tag: str, callback: Callable[[Any, Any], Any]) -> None:
        """Call ``callback(stanza, payload)`` for ``kind`` stanzas carrying ``tag`` (see :meth:`XmppClient.on`)."""
        self.client.on(kind, tag, callback)
        self._undo.append(functools.partial(self.client.off, kind, tag))

    def on_state(self, observer: Callable[[Connection, State], Any]) -> None:
        """Call ``observer(connection, state)`` at each change of the connection (lost, back, offline)."""
        self.client.connection.observe(observer)
        self._undo.append(functools.partial(self.client.connection.unobserve, observer))

    def on_event(self, event: str, handler: Callable[[Any], Any]) -> None:
        """Call ``handler`` on each stream ``event`` (``presence_unavailable``, ``disconnected``...)."""
        self.client.on_event(event, handler)
        self._undo.append(functools.partial(self.client.off_event, event, handler))
