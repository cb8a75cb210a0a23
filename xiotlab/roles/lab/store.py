"""The lab services' state: one SQLite file in the lab home, shared by the registry and provisioning.

Both services know who owns which thing (the registry records a claim, the
provisioning service asks that owner), so ownership lives here, in one table
both read; each service keeps its own tables beside it (:meth:`Store.schema`).
A store is used from the network thread only; SQLite's own locking keeps a
second process (a test reading the file) consistent.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

_OWNERSHIP = """
CREATE TABLE IF NOT EXISTS ownership (
    thing TEXT PRIMARY KEY,  -- bare JID of the thing
    owner TEXT NOT NULL      -- bare JID of its owner
)"""


class Store:
    """The services' database; ``Store()`` is an in-memory one (tests, a lab without a home)."""

    def __init__(self, path: str | os.PathLike = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).touch(mode=0o600, exist_ok=True)  # the store names who owns what: the user's only
        # Autocommit; :meth:`transaction` groups what must change together.
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.schema(_OWNERSHIP)
        self._owned_tables: set[str] = set()

    def schema(self, *statements: str) -> None:
        """Create a service's tables and indexes if they do not exist yet (``CREATE ... IF NOT EXISTS``)."""
        with self.transaction():
            for statement in statements:
                self.db.execute(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything in the block changes together, or nothing does (an exception rolls back)."""
        if self.db.in_transaction:  # nested: the outer block decides
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # --- ownership, known to both services ---------------------------------------

    def owner_of(self, thing: str) -> str | None:
        """The bare JID of the owner of ``thing`` (a bare JID), or None while nobody claimed it."""
        row = self.db.execute("SELECT owner FROM ownership WHERE thing = ?", (thing,)).fetchone()
        return row["owner"] if row else None

    def owned_rows(self, *tables: str) -> None:
        """Rows of ``tables`` (each with a ``thing`` column) are its owner's: a new owner starts without them.

        An owner's rules must not outlive the ownership: whoever claims a disowned thing next
        would inherit who may befriend, read and control it.
        """
        self._owned_tables.update(tables)

    def set_owner(self, thing: str, owner: str | None) -> None:
        """Record that ``owner`` owns ``thing``; None: nobody does any more."""
        if owner != self.owner_of(thing):
            for table in sorted(self._owned_tables):
                self.db.execute(f"DELETE FROM {table} WHERE thing = ?", (thing,))  # our own table names
        if owner is None:
            self.db.execute("DELETE FROM ownership WHERE thing = ?", (thing,))
        else:
            self.db.execute("INSERT OR REPLACE INTO ownership (thing, owner) VALUES (?, ?)", (thing, owner))

    def things_of(self, owner: str) -> list[str]:
        """The bare JIDs of the things ``owner`` owns, sorted."""
        rows = self.db.execute("SELECT thing FROM ownership WHERE owner = ? ORDER BY thing", (owner,))
        return [row["thing"] for row in rows]

    def owned(self) -> Iterable[tuple[str, str]]:
        """Every ``(thing, owner)`` pair."""
        return [(row["thing"], row["owner"]) for row in self.db.execute("SELECT thing, owner FROM ownership")]

    def __repr__(self) -> str:
        return f"<Store {self.path}>"
