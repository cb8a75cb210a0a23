"""The state of one client's connection, observable: online, lost and coming back, or offline.

Laptops sleep and classroom servers restart: a participant that was online
and lost its connection without asking to leave tries again, with a growing
pause between attempts (:data:`BACKOFF`), until it is back or told to stop.
Observers (widgets, the magics) hear each change as ``(connection, state)``.
"""

from __future__ import annotations

import enum
import html
import time
from dataclasses import dataclass

from .observable import Observable

SETTLING = 5.0
"""Seconds after a fresh session in which friends are still showing up again (their presence is on its way)."""

BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0)
"""Seconds between attempts to reconnect; the last repeats. Short: a lab server restarts in a second."""


class State(enum.Enum):
    """Where a connection stands."""

    OFFLINE = "offline"  # never started, stopped, or given up
    CONNECTING = "connecting"  # start() under way
    ONLINE = "online"
    RECONNECTING = "reconnecting"  # lost without leaving; attempts under way


@dataclass(frozen=True)
class Outage:
    """One time the connection was lost: when, why, when it came back (None while it is out), and how."""

    lost: float  # time.time()
    reason: str
    restored: float | None = None
    resumed: bool = False  # the server kept the session (XEP-0198): nothing was lost


class Connection(Observable):
    """One client's connection state and its history of outages.

    ``session`` says how the last time online began: ``"new"`` (a start), ``"resumed"`` (after a
    loss, the server kept the session: nothing was lost) or ``"fresh"`` (after a loss, a new
    session: presence, subscriptions and the like must be taken up again).
    """

    def __init__(self) -> None:
        super().__init__()
        self.state = State.OFFLINE
        self.session = "new"
        self.since = time.time()
        self.outages: list[Outage] = []
        self.attempts = 0  # since the connection was lost
        self.last_error = ""

    def change(self, state: State) -> None:
        if state is self.state:
            return
        if state is State.CONNECTING:
            self.session = "new"
        self.state, self.since = state, time.time()
        self._notify(self, state)

    def lost(self, reason: str, *, coming_back: bool) -> None:
        self.outages.append(Outage(time.time(), reason))
        self.attempts, self.last_error = 0, ""
        self.change(State.RECONNECTING if coming_back else State.OFFLINE)

    def settling(self) -> float:
        """Seconds left in which friends may still show up again after a fresh session (0: none)."""
        if self.state is not State.ONLINE or self.session != "fresh":
            return 0.0
        return max(0.0, SETTLING - (time.time() - self.since))

    @property
    def out(self) -> Outage | None:
        """The outage under way (reconnecting, or given up), if any."""
        last = self.outages[-1] if self.outages else None
        return last if last is not None and last.restored is None and self.state is not State.ONLINE else None

    def restored(self, resumed: bool) -> None:
        if self.outages and self.outages[-1].restored is None:
            last = self.outages[-1]
            self.outages[-1] = Outage(last.lost, last.reason, time.time(), resumed)
        self.session = "resumed" if resumed else "fresh"
        self.change(State.ONLINE)

    @property
    def words(self) -> str:
        """Where the connection stands, for people: online, reconnecting (attempt n), offline."""
        if self.state is State.RECONNECTING:
            tried = f", attempt {self.attempts}" if self.attempts else ""
            return f"connection lost, reconnecting{tried}"
        if self.state is State.OFFLINE and self.out is not None:
            return "offline: connection lost"
        return self.state.value

    def __repr__(self) -> str:
        detail = f", attempt {self.attempts}: {self.last_error}" if self.state is State.RECONNECTING else ""
        return f"<Connection {self.state.value} since {time.strftime('%H:%M:%S', time.localtime(self.since))}{detail}>"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(repr(self))}</code>"
