"""The lab's thing registry: who registered what, who claimed it, and searches over public things.

Two parts. :class:`Registry` is the logic, on typed values of
:mod:`xiotlab.protocol.registry`, over the lab's :class:`~.store.Store`: it
decides, stores and says what to tell whom, and raises typed errors
(:class:`NotFound` → ``item-not-found``, :class:`NotAllowed` →
``not-allowed``, ``ProtocolError`` → ``bad-request``). It does no I/O besides
the store, so tests drive it directly. :class:`~.registry_component.RegistryComponent`
is the XMPP side: parse, ask the logic, build the answer, deliver notices.

Rules, from the specification (``Discovery.md``) unless marked ours:

* One record per thing: its bare JID and node address (id, source,
  partition). Registering again replaces every tag, unless the thing is
  claimed: then nothing changes and the answer is ``<claimed jid=owner>``.
  A registration must carry a KEY unless self-owned (the page says a device
  "must use the KEY tag"); a self-owned thing is public and claimed at once.
* A claim (``mine``) must match one unclaimed thing's tags exactly, KEY
  included, names case insensitive, order free. Any failure is
  ``item-not-found`` without saying why. The KEY is then deleted.
* Only the owner may ``remove`` or ``disown``, and ``update`` naming a
  thing; anyone else, or an unknown thing, gets ``item-not-found``. Only the
  thing itself updates itself (no ``jid``) and unregisters.
* Disowning asks the thing (an iq ``<disowned>`` to the full JID it last
  used) and needs its empty result; without it (offline, error, timeout):
  ``not-allowed``, nothing changed. With it, the thing is unclaimed, its tags
  replaced by a random KEY, and nobody owns it.
* Searches see claimed public things only; KEY is never searched nor
  returned (an operator naming it finds nothing).
* Ours: at most :data:`MAX_COUNT` things per answer; at most
  :data:`~xiotlab.protocol.registry.MAX_TAGS` tags per thing; regular
  expressions must pass :func:`check_regex` (Python's engine backtracks, and
  the registry is shared); ``strRegEx`` matches the whole value.

Ownership: the registry keeps the owner of each record, and mirrors it into
the store's shared ``ownership`` table (``store.set_owner``) for things that
are not behind a concentrator, which that table (one row per bare JID)
cannot tell apart. A self-owned thing owns itself there. ``remove`` and
``unregister`` take the thing out of the registry but leave its owner.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable

import slixmpp
from slixmpp.jid import InvalidJID

from ...errors import ProtocolError, StanzaError
from ...protocol import registry as r
from ...protocol.registry import NO_NODE, Claimed, Disowned, NodeAddress, Removed, Tag
from .store import Store

__all__ = [
    "MAX_COUNT", "MAX_REGEX_QUANTIFIERS", "NOTICE_TIMEOUT", "NotFound", "NotAllowed", "ThingRecord", "Notice",
    "Registry", "check_regex",
]  # fmt: skip

log = logging.getLogger("xiotlab")

MAX_COUNT = 100
"""Most things in one search answer; a larger ``maxCount`` is lowered to it (the page allows that)."""

MAX_REGEX_QUANTIFIERS = 3
"""Most quantifiers in a ``strRegEx`` pattern: each multiplies the worst-case time by the value's length."""

NOTICE_TIMEOUT = 5.0
"""Seconds a thing has to acknowledge a notice; under the serving deadline, so a disown is answered in time."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS registry_things (
        id INTEGER PRIMARY KEY,
        jid TEXT NOT NULL,                  -- bare JID of the thing, or of its concentrator
        address TEXT NOT NULL,              -- JSON [id, src, pt]: the node, part of the identity
        node_id TEXT, source TEXT, partition TEXT,
        full_jid TEXT,                      -- the full JID the thing last used: where notices go
        namespace TEXT NOT NULL,            -- the namespace it last spoke: notices use it
        self_owned INTEGER NOT NULL DEFAULT 0,
        claimed INTEGER NOT NULL DEFAULT 0,
        claimed_at TEXT,
        public INTEGER NOT NULL DEFAULT 0,
        owner TEXT,                         -- bare JID of the owner while claimed
        UNIQUE (jid, address)
    )""",
    """CREATE TABLE IF NOT EXISTS registry_tags (
        thing INTEGER NOT NULL REFERENCES registry_things(id) ON DELETE CASCADE,
        norm TEXT NOT NULL,                 -- the upper-cased name: names are case insensitive
        name TEXT NOT NULL,
        str_value TEXT,                     -- exactly one of the two values is set
        num_value REAL,
        PRIMARY KEY (thing, norm)
    )""",
    "CREATE INDEX IF NOT EXISTS registry_tags_str ON registry_tags (norm, str_value)",
    "CREATE INDEX IF NOT EXISTS registry_tags_num ON registry_tags (norm, num_value)",
    "CREATE INDEX IF NOT EXISTS registry_things_owner ON registry_things (owner)",
)


class NotFound(StanzaError):
    """``item-not-found``: no such thing, or not one the sender may act on (the spec does not say which)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, condition="item-not-found", kind="cancel")


class NotAllowed(StanzaError):
    """``not-allowed``: the thing did not acknowledge being disowned, so it stays owned."""

    def __init__(self, message: str) -> None:
        super().__init__(message, condition="not-allowed", kind="cancel")


@dataclasses.dataclass(frozen=True)
class ThingRecord:
    """What the registry knows about one thing."""

    jid: str
    node: NodeAddress
    tags: tuple[Tag, ...]
    owner: str | None
    claimed: bool
    public: bool
    self_owned: bool
    full_jid: str | None
    namespace: str
    claimed_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Notice:
    """What to tell a thing: ``payload`` to ``to`` (its last full JID, else its bare one), in ``namespace``."""

    to: str
    bare: str
    payload: Claimed | Removed | Disowned
    namespace: str

    @property
    def full(self) -> bool:
        """Whether :attr:`to` is a full JID, so that an iq can reach the thing."""
        return self.to != self.bare

    def element(self) -> ET.Element:
        if isinstance(self.payload, Claimed):
            return r.build_claimed(self.payload, self.namespace)
        if isinstance(self.payload, Removed):
            return r.build_removed(self.payload, self.namespace)
        return r.build_disowned(self.payload, self.namespace)


# --- small helpers ------------------------------------------------------------------------------


def _jid(text: str, what: str) -> slixmpp.JID:
    try:
        jid = slixmpp.JID(text)
    except InvalidJID as exc:
        raise ProtocolError(f"{what} {text[:60]!r} is not a valid JID ({exc}); give the thing's JID") from None
    if not jid.bare:
        raise ProtocolError(f"{what} {text[:60]!r} has no address; give the thing's JID")
    return jid


def _address(node: NodeAddress) -> str:
    return json.dumps([node.id, node.source, node.partition])


def _signature(tags: Iterable[Tag]) -> frozenset[tuple[str, bool, str | float]]:
    """What a claim compares: names case insensitive, kinds and values exact, order free."""
    return frozenset((r.norm(t.name), t.numeric, t.value) for t in tags)


def _glob(text: str, wildcard: str) -> str:
    """A SQLite GLOB pattern for ``text`` where ``wildcard`` stands for any text (and nothing else is special)."""
    special = {"*": "[*]", "?": "[?]", "[": "[[]"}
    return "*".join("".join(special.get(c, c) for c in piece) for piece in text.split(wildcard))


_QUANTIFIED_GROUP = re.compile(r"\)[*+?{]")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def check_regex(pattern: str) -> re.Pattern[str]:
    """The compiled ``pattern`` if it runs in bounded time; ``ProtocolError`` saying why not otherwise.

    Python's engine backtracks, and values are up to 128 characters, so a
    repeated group (``(a+)+``, ``(a|aa)*``) or a back reference can take
    astronomically long. We refuse those, and more than
    :data:`MAX_REGEX_QUANTIFIERS` quantifiers.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ProtocolError(f"strRegEx {pattern[:60]!r} is not a regular expression: {exc}") from None
    plain = re.sub(r"\\.|\[(?:\\.|[^\]])*\]|\(\?", "", pattern)  # escapes, classes and group flags quantify nothing
    if _QUANTIFIED_GROUP.search(plain) or _BACKREFERENCE.search(pattern):
        raise ProtocolError(
            f"strRegEx {pattern[:60]!r} repeats a group or refers back; this registry refuses those, since they "
            "can run for hours. Use strMask, or several simpler operators"
        )
    if sum(plain.count(q) for q in "*+?{") > MAX_REGEX_QUANTIFIERS:
        raise ProtocolError(
            f"strRegEx {pattern[:60]!r} has more than {MAX_REGEX_QUANTIFIERS} quantifiers; simplify it or use strMask"
        )
    return compiled


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return check_regex(pattern)


def _regexp(pattern: str, value: str | None) -> bool:
    """SQL ``xiotlab_regexp(pattern, value)``: the whole value matches (patterns are checked before)."""
    return value is not None and _compiled(pattern).fullmatch(value) is not None


# --- search conditions in SQL -------------------------------------------------------------------

_SQL_COMPARISONS = {
    r.Comparison.EQ: "=",
    r.Comparison.NEQ: "<>",
    r.Comparison.GT: ">",
    r.Comparison.GT_EQ: ">=",
    r.Comparison.LT: "<",
    r.Comparison.LT_EQ: "<=",
}


def _name_condition(name: str, wildcard: str | None) -> tuple[str, list[object]]:
    if wildcard is None:
        return "t.norm = ?", [r.norm(name)]
    return "t.norm GLOB ?", [_glob(r.norm(name), r.norm(wildcard))]


def _value_condition(op: r.Operator) -> tuple[str, list[object]]:
    if isinstance(op, r.Mask):
        return "t.str_value GLOB ?", [_glob(op.value, op.wildcard)]
    if isinstance(op, r.Range):
        column = "t.str_value" if isinstance(op.min, str) else "t.num_value"
        if op.outside:  # below min or above max; an included endpoint belongs to the range, not the result
            low, high = ("<" if op.min_included else "<="), (">" if op.max_included else ">=")
            return f"({column} {low} ? OR {column} {high} ?)", [op.min, op.max]
        low, high = (">=" if op.min_included else ">"), ("<=" if op.max_included else "<")
        return f"({column} {low} ? AND {column} {high} ?)", [op.min, op.max]
    if op.comparison is r.Comparison.REGEX:
        check_regex(str(op.value))
        return "xiotlab_regexp(?, t.str_value)", [op.value]
    column = "t.str_value" if isinstance(op.value, str) else "t.num_value"
    return f"{column} {_SQL_COMPARISONS[op.comparison]} ?", [op.value]


def _condition(op: r.Operator) -> tuple[str, list[object]]:
    """``EXISTS`` a tag of the thing, never KEY, with a matching name and value."""
    name_sql, name_args = _name_condition(op.name, op.name_wildcard if isinstance(op, r.Compare) else None)
    value_sql, value_args = _value_condition(op)
    sql = (
        "EXISTS (SELECT 1 FROM registry_tags t WHERE t.thing = th.id AND t.norm <> 'KEY' "
        f"AND {name_sql} AND {value_sql})"
    )
    return sql, name_args + value_args


# --- the logic ------------------------------------------------------------------------------------


class Registry:
    """The registry's decisions over ``store`` (network thread), on typed values; no XMPP here.

    ``sender`` arguments are the requester's full JID as text; ``clock`` gives
    the time claims are stamped with.
    """

    def __init__(
        self, store: Store, *, max_count: int = MAX_COUNT, clock: Callable[[], dt.datetime] | None = None
    ) -> None:
        self.store = store
        self.max_count = max_count
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        store.schema(*_SCHEMA)
        store.db.create_function("xiotlab_regexp", 2, _regexp, deterministic=True)

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db

    # --- reading ---

    def thing(self, jid: str, node: NodeAddress = NO_NODE) -> ThingRecord | None:
        """The record of thing ``jid`` (any form; its bare JID counts) at ``node``, or None."""
        row = self._row(_jid(jid, "thing").bare, node)
        return None if row is None else self._record(row)

    def _row(self, bare: str, node: NodeAddress) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM registry_things WHERE jid = ? AND address = ?", (bare, _address(node))
        ).fetchone()

    def _tags(self, thing_id: int) -> tuple[Tag, ...]:
        rows = self.db.execute(
            "SELECT name, str_value, num_value FROM registry_tags WHERE thing = ? ORDER BY rowid", (thing_id,)
        )
        return tuple(
            Tag(row["name"], row["str_value"] if row["num_value"] is None else row["num_value"]) for row in rows
        )

    def _public_tags(self, thing_ids: list[int]) -> dict[int, tuple[Tag, ...]]:
        """The tags of many things in one query, KEY left out: a page of search results."""
        found: dict[int, list[Tag]] = {}
        marks = ", ".join("?" * len(thing_ids))
        rows = self.db.execute(
            f"SELECT thing, name, str_value, num_value FROM registry_tags WHERE thing IN ({marks}) ORDER BY rowid",
            thing_ids,
        )
        for row in rows:
            if not r.is_key(row["name"]):
                value = row["str_value"] if row["num_value"] is None else row["num_value"]
                found.setdefault(row["thing"], []).append(Tag(row["name"], value))
        return {thing: tuple(tags) for thing, tags in found.items()}

    def _record(self, row: sqlite3.Row) -> ThingRecord:
        node = NodeAddress(row["node_id"], row["source"], row["partition"])
        stamp = dt.datetime.fromisoformat(row["claimed_at"]) if row["claimed_at"] else None
        return ThingRecord(
            row["jid"], node, self._tags(row["id"]), row["owner"], bool(row["claimed"]), bool(row["public"]),
            bool(row["self_owned"]), row["full_jid"], row["namespace"], stamp,
        )  # fmt: skip

    # --- writing ---

    def _write_tags(self, thing_id: int, tags: Iterable[Tag]) -> None:
        for tag in tags:
            values = (None, tag.value) if tag.numeric else (tag.value, None)
            self.db.execute(
                "INSERT INTO registry_tags (thing, norm, name, str_value, num_value) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (thing, norm) DO UPDATE SET name = excluded.name, str_value = excluded.str_value, "
                "num_value = excluded.num_value",
                (thing_id, r.norm(tag.name), tag.name, *values),
            )

    def _set_owner(self, row: sqlite3.Row, owner: str | None) -> None:
        """Mirror ownership into the store, for things the store's table can name (no node address)."""
        if row["address"] == _address(NO_NODE):
            self.store.set_owner(row["jid"], owner)

    def _saw(self, row_id: int, sender: slixmpp.JID, namespace: str) -> None:
        self.db.execute(
            "UPDATE registry_things SET full_jid = ?, namespace = ? WHERE id = ?", (sender.full, namespace, row_id)
        )

    # --- the thing's requests ---

    def register(self, sender: str, request: r.Register) -> Claimed | None:
        """Record the thing's tags; if it is claimed already, change nothing and return who owns it."""
        jid = _jid(sender, "the sender")
        key, _ = r.split_key(request.tags)
        if key is None and not request.self_owned:
            raise ProtocolError(
                "a registration needs a KEY tag with a random value (protocol.registry.new_key()), so that only "
                "who holds the thing's claim URI can claim it; add one, or register selfOwned"
            )
        if r.REGISTRY_TAG in r.tag_map(request.tags):
            raise ProtocolError("tag 'R' is reserved for the registry's address in iotdisco URIs; leave it out")
        with self.store.transaction():
            row = self._row(jid.bare, request.node)
            if row is not None and row["claimed"]:
                self._saw(row["id"], jid, request.namespace)
                return Claimed(row["owner"], request.node, bool(row["public"]), request.namespace)
            self._replace(row, jid, request)
        return None

    def _replace(self, row: sqlite3.Row | None, jid: slixmpp.JID, request: r.Register) -> None:
        if row is not None:
            self.db.execute("DELETE FROM registry_things WHERE id = ?", (row["id"],))
        node = request.node
        claimed = request.self_owned
        cursor = self.db.execute(
            "INSERT INTO registry_things (jid, address, node_id, source, partition, full_jid, namespace, self_owned, "
            "claimed, claimed_at, public, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (jid.bare, _address(node), node.id, node.source, node.partition, jid.full, request.namespace,
             claimed, claimed, self.clock().isoformat() if claimed else None, claimed,
             jid.bare if claimed else None),
        )  # fmt: skip
        tags = request.tags if not claimed else r.split_key(request.tags)[1]  # a claimed thing keeps no KEY
        assert cursor.lastrowid is not None
        self._write_tags(cursor.lastrowid, tags)
        if claimed:
            self._set_owner(self._row(jid.bare, node), jid.bare)  # type: ignore[arg-type]  # just inserted

    def update(self, sender: str, request: r.Update) -> Disowned | None:
        """Add, replace or (empty string) remove tags; a thing not claimed gets ``Disowned`` and no change.

        With ``request.jid`` naming another thing, the sender must be its owner.
        """
        jid = _jid(sender, "the sender")
        target = jid if request.jid is None else _jid(request.jid, "the thing")
        with self.store.transaction():
            row = self._row(target.bare, request.node)
            if target.bare != jid.bare:
                if row is None or not row["claimed"] or row["owner"] != jid.bare:
                    raise NotFound("no thing of yours has this JID and node in the registry")
            elif row is None:
                raise NotFound("this thing is not in the registry (its owner may have removed it); stop updating")
            else:
                self._saw(row["id"], jid, request.namespace)
                if not row["claimed"]:
                    return Disowned(request.node, request.namespace)
            self._merge(row["id"], request.tags)
        return None

    def _merge(self, thing_id: int, tags: tuple[Tag, ...]) -> None:
        for tag in tags:
            if r.is_key(tag.name) and tag.value != "":
                raise ProtocolError("KEY cannot be updated: it only serves claiming, and is deleted by the claim")
        removed = [r.norm(t.name) for t in tags if t.value == ""]
        self.db.executemany("DELETE FROM registry_tags WHERE thing = ? AND norm = ?", [(thing_id, n) for n in removed])
        self._write_tags(thing_id, [t for t in tags if t.value != ""])
        (count,) = self.db.execute("SELECT count(*) FROM registry_tags WHERE thing = ?", (thing_id,)).fetchone()
        if count > r.MAX_TAGS:
            raise ProtocolError(f"the update would give the thing {count} tags; at most {r.MAX_TAGS} are kept")

    def unregister(self, sender: str, request: r.Unregister) -> None:
        """Forget the thing (its owner, if any, stays in the store); unknown things are fine too."""
        jid = _jid(sender, "the sender")
        self.db.execute("DELETE FROM registry_things WHERE jid = ? AND address = ?", (jid.bare, _address(request.node)))

    # --- the owner's requests ---

    def claim(self, sender: str, request: r.Mine) -> tuple[Claimed, Notice]:
        """Claim the one unclaimed thing whose tags are exactly ``request.tags``.

        Returns the answer to the owner and the notice for the thing; any
        failure is :class:`NotFound`, which does not say why.
        """
        owner = _jid(sender, "the sender").bare
        key, _ = r.split_key(request.tags)
        if key is None:
            raise ProtocolError("a claim must carry the thing's KEY tag, as its claim URI (QR code) gives it")
        with self.store.transaction():
            row = self._match(request)
            self.db.execute(
                "UPDATE registry_things SET claimed = 1, claimed_at = ?, public = ?, owner = ? WHERE id = ?",
                (self.clock().isoformat(), request.public, owner, row["id"]),
            )
            self.db.execute("DELETE FROM registry_tags WHERE thing = ? AND norm = ?", (row["id"], r.KEY))
            self._set_owner(row, owner)
        node = NodeAddress(row["node_id"], row["source"], row["partition"])
        answer = Claimed(row["jid"], node, request.public, request.namespace)
        to_thing = Claimed(owner, node, request.public, row["namespace"])
        return answer, Notice(row["full_jid"] or row["jid"], row["jid"], to_thing, row["namespace"])

    def _match(self, request: r.Mine) -> sqlite3.Row:
        key, _ = r.split_key(request.tags)
        rows = self.db.execute(
            "SELECT th.* FROM registry_things th JOIN registry_tags t ON t.thing = th.id "
            "WHERE th.claimed = 0 AND t.norm = ? AND t.str_value = ?",
            (r.KEY, key),
        ).fetchall()
        wanted = _signature(request.tags)
        matches = [
            row
            for row in rows
            if _signature(self._tags(row["id"])) == wanted
            and (not request.node or _address(request.node) == row["address"])
        ]
        if len(matches) != 1:
            raise NotFound("no unclaimed thing has exactly these tags; check the claim URI")
        return matches[0]

    def _owned(self, sender: str, jid: str, node: NodeAddress) -> sqlite3.Row:
        """The record of thing ``jid`` at ``node`` if ``sender`` owns it; :class:`NotFound` otherwise."""
        owner = _jid(sender, "the sender").bare
        row = self._row(_jid(jid, "the thing").bare, node)
        if row is None or not row["claimed"] or row["owner"] != owner:
            raise NotFound("no thing of yours has this JID and node in the registry")
        return row

    def remove(self, sender: str, request: r.Remove) -> Notice:
        """Take the owner's thing out of the registry; returns the notice for the thing."""
        with self.store.transaction():
            row = self._owned(sender, request.jid, request.node)
            self.db.execute("DELETE FROM registry_things WHERE id = ?", (row["id"],))
        return self._notice(row, Removed(request.node, row["namespace"]))

    def disown(self, sender: str, request: r.Disown) -> Notice:
        """Check the owner may disown the thing; returns the ``disowned`` request the thing must acknowledge.

        Nothing changes until :meth:`confirm_disown`. A thing that never sent us
        a full JID cannot be asked: :class:`NotAllowed`.
        """
        row = self._owned(sender, request.jid, request.node)
        if not row["full_jid"]:
            raise NotAllowed("the thing is not known to be online, so it cannot acknowledge being disowned")
        return self._notice(row, Disowned(request.node, row["namespace"]))

    def confirm_disown(self, sender: str, request: r.Disown) -> None:
        """The thing acknowledged: unclaim it, replace its tags by a random KEY, and clear its owner."""
        with self.store.transaction():
            row = self._owned(sender, request.jid, request.node)
            self.db.execute(
                "UPDATE registry_things SET claimed = 0, claimed_at = NULL, public = 0, owner = NULL, "
                "self_owned = 0 WHERE id = ?",
                (row["id"],),
            )
            self.db.execute("DELETE FROM registry_tags WHERE thing = ?", (row["id"],))
            self._write_tags(row["id"], [Tag(r.KEY, r.new_key())])
            self._set_owner(row, None)

    @staticmethod
    def _notice(row: sqlite3.Row, payload: Removed | Disowned) -> Notice:
        return Notice(row["full_jid"] or row["jid"], row["jid"], payload, row["namespace"])

    # --- anyone's requests ---

    def search(self, request: r.Search) -> r.Found:
        """Public claimed things meeting every operator, a page of at most :attr:`max_count` (KEY left out)."""
        conditions = [_condition(op) for op in request.operators]
        where = " AND ".join(["th.claimed = 1", "th.public = 1", *(sql for sql, _ in conditions)])
        args = [arg for _, op_args in conditions for arg in op_args]
        limit = min(request.max_count or self.max_count, self.max_count)
        rows = self.db.execute(
            f"SELECT * FROM registry_things th WHERE {where} ORDER BY th.id LIMIT ? OFFSET ?",
            (*args, limit + 1, request.offset),
        ).fetchall()
        page = rows[:limit]
        tags = self._public_tags([row["id"] for row in page])
        things = tuple(
            r.FoundThing(
                row["jid"],
                tags.get(row["id"], ()),
                NodeAddress(row["node_id"], row["source"], row["partition"]),
                row["owner"],
            )
            for row in page
        )
        return r.Found(things, more=len(rows) > limit, namespace=request.namespace)
