"""A participant's contacts: subscription state and live presence, observable.

The roster is a read-only mapping from bare JID to :class:`Contact`, kept
up to date from the network thread. ``roster.observe(callback)`` calls
``callback(roster, jid)`` on every change of that contact (gone from the
roster if ``jid not in roster``), which is how widgets follow it.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ..runtime import Observable

PRESENCE_ORDER = ("chat", "available", "away", "xa", "dnd")


@dataclass(frozen=True)
class Contact:
    """One roster entry, as it stood when this snapshot was taken.

    ``subscription`` is ``none``, ``to`` (we see their presence), ``from``
    (they see ours) or ``both``; ``pending_out``/``pending_in`` are requests
    awaiting an answer; ``presence`` is ``unavailable`` or the best ``show``
    of their online resources; ``resources`` are in the order they came online, the newest last.
    """

    jid: str
    subscription: str = "none"
    pending_out: bool = False
    pending_in: bool = False
    presence: str = "unavailable"
    status: str = ""
    resources: tuple[str, ...] = ()

    @property
    def friend(self) -> bool:
        """Mutual presence subscription: what xiotlab calls a friendship."""
        return self.subscription == "both"

    @property
    def online(self) -> bool:
        return self.presence != "unavailable"

    def __repr__(self) -> str:
        state = (
            self.subscription
            + (" +pending-out" if self.pending_out else "")
            + (" +pending-in" if self.pending_in else "")
        )
        status = f" {self.status!r}" if self.status else ""
        return f"<Contact {self.jid} [{state}] {self.presence}{status}>"


class Roster(Observable, Mapping[str, Contact]):
    """The contacts of one participant; a mapping ``bare JID -> Contact``."""

    def __init__(self, owner_jid: str) -> None:
        super().__init__()
        self.owner_jid = owner_jid
        self._contacts: dict[str, Contact] = {}
        self._waiters: list[tuple[str, Callable[[Contact | None], bool], asyncio.Future]] = []

    # --- mapping ----------------------------------------------------------

    def __getitem__(self, jid: str) -> Contact:
        return self._contacts[str(jid)]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._contacts))

    def __len__(self) -> int:
        return len(self._contacts)

    @property
    def friends(self) -> list[Contact]:
        """Contacts with mutual subscription."""
        return [c for c in self._contacts.values() if c.friend]

    # --- updates from the network thread ------------------------------------

    def update(self, contact: Contact | None, jid: str) -> None:
        """Replace (or with None, remove) the entry of ``jid`` and tell observers and waiters."""
        old = self._contacts.get(jid)
        if contact is None:
            self._contacts.pop(jid, None)
        else:
            self._contacts[jid] = contact
        if old == contact:
            return
        for waiter in list(self._waiters):
            wanted_jid, predicate, future = waiter
            if wanted_jid == jid and not future.done() and predicate(contact):
                future.set_result(contact)
        self._notify(self, jid)

    async def wait_for(self, jid: str, predicate: Callable[[Contact | None], bool], timeout: float) -> Contact | None:
        """Wait on the network loop until ``predicate(contact of jid)`` holds (raises asyncio.TimeoutError)."""
        current = self._contacts.get(jid)
        if predicate(current):
            return current
        waiter = (jid, predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[2], timeout)
        finally:
            self._waiters.remove(waiter)

    # --- display ----------------------------------------------------------

    def __repr__(self) -> str:
        if not self._contacts:
            return f"<Roster of {self.owner_jid}: empty>"
        lines = "\n".join(f"  {c!r}" for c in self._contacts.values())
        return f"<Roster of {self.owner_jid}: {len(self)} contacts\n{lines}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{'🟢' if c.online else '⚪'}</td><td>{html.escape(c.jid)}</td>"
            f"<td>{html.escape(c.presence)}</td><td>{html.escape(c.status)}</td>"
            f"<td>{c.subscription}{' (asked)' if c.pending_out else ''}{' (asking)' if c.pending_in else ''}</td></tr>"
            for c in self._contacts.values()
        )
        return (
            f"<table><caption>Roster of {html.escape(self.owner_jid)}</caption>"
            "<tr><th></th><th>JID</th><th>presence</th><th>status</th><th>subscription</th></tr>"
            f"{rows or '<tr><td colspan=5>no contacts</td></tr>'}</table>"
        )


def contact_from_slixmpp(item) -> Contact:
    """Snapshot a slixmpp RosterItem (subscription and resources) as a Contact."""
    resources = item.resources
    shows = [r.get("show") or "available" for r in resources.values()]
    best = min(shows, key=lambda s: PRESENCE_ORDER.index(s) if s in PRESENCE_ORDER else 99, default="unavailable")
    status = next((r.get("status", "") for r in resources.values() if r.get("status")), "")
    subscription = item["subscription"]
    return Contact(
        jid=str(item.jid),
        subscription=subscription if subscription in ("none", "to", "from", "both") else "none",
        pending_out=bool(item["pending_out"]),
        pending_in=bool(item["pending_in"]),
        presence=best,
        status=status,
        resources=tuple(resources),  # in the order they came online: the newest last
    )
