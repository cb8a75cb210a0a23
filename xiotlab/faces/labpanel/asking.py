"""What each client says it is: the server asks every new session (disco#info), never holding up a poll.

A client that does not answer costs :data:`~.shell.DISCO_TIMEOUT`; asked inside the poll, thirty
silent clients would freeze every panel for as long. So new sessions are asked in a worker thread,
all at once (:meth:`.shell.AdminShell.identities`), on an admin-socket connection of its own;
their roles show at the first poll after the answers came, a few hundred milliseconds later.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...errors import AdminShellError, LabNotRunning
from .shell import AdminShell, Identity, Session


class RoleAsker:
    """The roles sessions said (:meth:`role`); :meth:`update` asks the new ones in the background."""

    def __init__(self, socket: Path) -> None:
        self.shell = AdminShell(socket)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xiotlab-panel-disco")
        self._lock = threading.Lock()
        self._said: dict[str, str] = {}  # full JID -> the role its disco says
        self._known: dict[str, str] = {}  # bare JID -> the role it last said (kept while it is offline)
        self._asking: set[str] = set()

    def update(self, sessions: list[Session]) -> None:
        """Forget the sessions gone; ask each new available one what it is, without waiting for it."""
        live = {s.jid for s in sessions}
        with self._lock:
            for gone in set(self._said) - live:
                del self._said[gone]
            new = [
                s.jid
                for s in sessions
                if s.available and not s.hibernating and s.jid not in self._said and s.jid not in self._asking
            ]
            self._asking.update(new)
        if new:
            self._pool.submit(self._ask, new)

    def role(self, bare: str, sessions: list[Session]) -> str:
        """What the account's sessions said, or what it said last while this server watched, or unknown."""
        with self._lock:
            said = {self._said.get(s.jid, "unknown") for s in sessions} - {"unknown"}
            return said.pop() if len(said) == 1 else self._known.get(bare, "unknown")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.shell.close()

    def _ask(self, jids: list[str]) -> None:
        try:
            found = self.shell.identities(jids)
        except LabNotRunning:  # stopping: ask again if they are still there at the next poll
            found = {}
        except AdminShellError:  # would fail again: these stay "unknown"
            found = dict.fromkeys(jids)
        with self._lock:
            self._asking.difference_update(jids)
            for jid, identity in found.items():
                self._said[jid] = role = role_of(identity)
                if role != "unknown":
                    self._known[jid.split("/", 1)[0]] = role


def role_of(identity: Identity | None) -> str:
    """A session's role by what it says it is: xiotlab things say ``client/bot`` and read sensors,
    owners ``client/pc`` named ``xiotlab``; anything else is ``"unknown"``."""
    if identity is None:
        return "unknown"
    if (identity.category, identity.type) == ("client", "bot") or any(":iot:sd:" in f for f in identity.features):
        return "thing"
    if (identity.category, identity.type, identity.name) == ("client", "pc", "xiotlab"):
        return "owner"
    return "unknown"
