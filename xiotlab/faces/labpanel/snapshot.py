"""The whole lab as the panel shows it, read from the server's own state, never from a client.

- accounts: the names in the lab home's ``accounts.json`` (never the passwords), and any other
  account Prosody's store holds;
- online state and status text: Prosody's admin shell (:mod:`.shell`), every session of every
  account whatever kernel or process runs it;
- friendships: Prosody's roster store (``data/<domain>/roster/<user>.dat``): two accounts are
  friends when each is subscribed to the other (``subscription = "both"``);
- ownership, registry entries and their tags: the lab services' store (``services.sqlite``).

Roles, from what the lab knows for sure to what a client says: a thing is what the registry
lists or someone owns, an owner who owns or claimed one (the services' store); otherwise the
server asks each new session what it is (disco#info from the server itself, through the admin
shell, once per session, in the background: :mod:`.asking`): xiotlab things say ``client/bot``
and answer sensor-data requests, owners say ``client/pc`` named ``xiotlab``; what an account
said is remembered while it is offline. Anything else, and an account never seen online by this Jupyter server and in no
store, is ``"unknown"``: the panel offers it the thing actions too.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import AdminShellError, LabNotRunning
from ...server import LabServer
from ...server.accounts import AccountBook
from . import luadata
from .asking import RoleAsker
from .shell import AdminShell, Session

SOCKET = Path("data") / "prosody.sock"
"""Where mod_admin_socket listens, relative to the lab home (Prosody's default, under ``data_path``)."""


def _decode(name: str) -> str:
    """A name as Prosody's file store spells it (every non-alphanumeric byte as %xx), decoded."""
    return re.sub(rb"%([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name.encode()).decode(errors="replace")


@dataclass
class LabReader:
    """Reads one lab home; :meth:`read` is the lab's state as a JSON-ready dict."""

    home: Path
    shell: AdminShell = field(init=False)
    asker: RoleAsker = field(init=False)

    def __post_init__(self) -> None:
        self.shell = AdminShell(self.home / SOCKET)
        self.asker = RoleAsker(self.home / SOCKET)

    def read(self) -> dict[str, Any]:
        server = self.server()
        sessions: list[Session] = []
        problem: str | None = None
        if server["running"] and server.get("engine", "prosody") != "prosody":
            problem = f"online state is shown for Prosody labs only; this lab runs on {server['engine']}"
        elif server["running"]:
            sessions, problem = self.sessions()
        domains = self.domains()
        domain = server.get("domain") or (domains[0] if domains else None)
        friends = self.friendships(domains)
        owned, registry = self.services_state()
        accounts = self.accounts(domain, domains, sessions, owned, registry)
        return {
            "server": server,
            "domain": domain,
            "accounts": accounts,
            "friendships": friends,
            "ownership": [{"thing": thing, "owner": owner} for thing, owner in owned],
            "registry": registry,
            "problem": problem,  # why presence is unknown while the server runs, else None
        }

    def close(self) -> None:
        self.shell.close()
        self.asker.close()

    # --- the server ----------------------------------------------------------------------

    def server(self) -> dict[str, Any]:
        """The lab server's status (no passwords), or ``running: False`` with what to do."""
        try:
            status = LabServer.running(self.home).status()
        except LabNotRunning as e:
            return {"running": False, "home": str(self.home), "message": str(e)}
        status.pop("accounts", None)  # listed with their state below
        return status

    def sessions(self) -> tuple[list[Session], str | None]:
        """Every client session, and None; or none and why (stopping at this very moment, or no admin socket)."""
        try:
            sessions = self.shell.sessions()
        except (LabNotRunning, AdminShellError) as e:
            return [], str(e)
        self.asker.update(sessions)
        return sessions, None

    # --- Prosody's store -----------------------------------------------------------------

    def domains(self) -> list[str]:
        """The hosts Prosody's store has accounts for."""
        data = self.home / "data"
        return sorted(_decode(d.name) for d in data.glob("*") if (d / "accounts").is_dir()) if data.is_dir() else []

    def store_accounts(self, domain: str) -> list[str]:
        folder = self.home / "data" / _encode(domain) / "accounts"
        return sorted(f"{_decode(f.stem)}@{domain}" for f in folder.glob("*.dat"))

    def friendships(self, domains: list[str]) -> list[list[str]]:
        """Pairs of bare JIDs, each subscribed to the other, sorted."""
        both: set[tuple[str, str]] = set()
        for domain in domains:
            for path in (self.home / "data" / _encode(domain) / "roster").glob("*.dat"):
                user = f"{_decode(path.stem)}@{domain}"
                for contact, item in _roster(path).items():
                    if isinstance(contact, str) and isinstance(item, dict) and item.get("subscription") == "both":
                        both.add((user, contact))
        return sorted([a, b] for a, b in both if a < b and (b, a) in both)

    # --- the services' store ---------------------------------------------------------------

    def services_state(self) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
        """``(thing, owner)`` pairs and the registry's entries with their tags; empty without a store."""
        path = self.home / "services.sqlite"
        if not path.exists():
            return [], []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
        db.row_factory = sqlite3.Row
        try:
            owned = [(r["thing"], r["owner"]) for r in _rows(db, "SELECT thing, owner FROM ownership ORDER BY thing")]
            entries = _rows(
                db,
                "SELECT id, jid, node_id, source, partition, claimed, owner, public, self_owned "
                "FROM registry_things ORDER BY jid, node_id",
            )
            tags: dict[int, dict[str, Any]] = {}
            for row in _rows(db, "SELECT thing, name, str_value, num_value FROM registry_tags ORDER BY name"):
                value = row["str_value"] if row["str_value"] is not None else row["num_value"]
                tags.setdefault(row["thing"], {})[row["name"]] = value
        finally:
            db.close()
        registry = [
            {
                "jid": e["jid"],
                "node": e["node_id"] or None,
                "source": e["source"] or None,
                "partition": e["partition"] or None,
                "claimed": bool(e["claimed"]),
                "owner": e["owner"],
                "public": bool(e["public"]),
                "selfOwned": bool(e["self_owned"]),
                "tags": tags.get(e["id"], {}),
            }
            for e in entries
        ]
        return owned, registry

    # --- accounts ----------------------------------------------------------------------

    def accounts(
        self,
        domain: str | None,
        domains: list[str],
        sessions: list[Session],
        owned: list[tuple[str, str]],
        registry: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        names = AccountBook(self.home / "accounts.json").names()
        jids = {f"{name}@{domain}" for name in names} if domain else set()
        for each in domains:
            jids.update(self.store_accounts(each))
        jids.update(s.bare for s in sessions)
        things = {thing for thing, _ in owned} | {e["jid"] for e in registry}
        owners = {owner for _, owner in owned} | {e["owner"] for e in registry if e["owner"]}
        by_jid: dict[str, list[Session]] = {}
        for session in sessions:
            by_jid.setdefault(session.bare, []).append(session)
        return [
            _account(jid, self.role(jid, things, owners, by_jid.get(jid, [])), by_jid.get(jid, []))
            for jid in sorted(jids)
        ]

    def role(self, jid: str, things: set[str], owners: set[str], sessions: list[Session]) -> str:
        if jid in things:
            return "thing"
        if jid in owners:
            return "owner"
        return self.asker.role(jid, sessions)


def problem_state(home: Path, problem: str, last: dict[str, Any] | None) -> dict[str, Any]:
    """The state to show when reading the lab failed: the last one read (if any), with ``problem`` saying why."""
    if last is not None:
        return {**last, "problem": problem}
    return {
        "server": {"running": False, "home": str(home), "message": problem},
        "domain": None,
        "accounts": [],
        "friendships": [],
        "ownership": [],
        "registry": [],
        "problem": problem,
    }


def _account(jid: str, role: str, sessions: list[Session]) -> dict[str, Any]:
    present = [s for s in sessions if s.available]
    best = present[0] if present else None  # an account has one session in the lab, two at most
    return {
        "jid": jid,
        "name": jid.split("@", 1)[0],
        "role": role,
        "online": best is not None,
        "show": best.show if best else "offline",
        "status": best.status if best else "",
        "sessions": len(sessions),
        "hibernating": any(s.hibernating for s in sessions),
    }


def _encode(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "".join(f"%{b:02x}" for b in c.encode()) for c in text)


def _roster(path: Path) -> dict[Any, Any]:
    try:
        roster = luadata.loads(path.read_text())
    except (OSError, luadata.LuaDataError):
        return {}  # being replaced at this moment, or not a roster: the next poll reads it
    return roster if isinstance(roster, dict) else {}


def _rows(db: sqlite3.Connection, query: str) -> list[sqlite3.Row]:
    try:
        return db.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []  # the service that makes this table has not run in this lab yet


def dumps(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True)
