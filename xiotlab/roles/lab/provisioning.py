"""The lab's provisioning service: devices ask it what to allow, it answers with their owners' rules.

Two halves. :class:`Rules` decides, over the shared :class:`~.store.Store`
(ownership, set by the registry on claims) and tables of its own; it does no
I/O and returns what must be sent as :data:`Effect` values.
:class:`~.provisioning_component.ProvisioningComponent` is the thin XMPP side: it parses, calls
:class:`Rules`, answers, and carries out the effects.

How a device's question is decided (DecisionSupport.md, Provisioning.md):

* a thing nobody claimed (no owner in the store): denied, and nobody is
  asked, since nobody may decide for it yet;
* the requester is the owner: allowed, everything;
* else the most specific rule of the owner answers: the requester's bare
  JID, then its domain, then "all"; at each of these, a rule for the node
  asked about before a rule for the whole device. A yes may be narrowed
  (:func:`narrow_read`, :func:`narrow_control`);
* no rule: denied now, and the owner is asked, once a distinct question
  (same thing, kind, requester, node and selection): repeats ask nothing.

Owners set rules for their own things only (others get ``forbidden`` and
nothing changes); every change of rules, and the owner's ``clearCache``,
makes the service tell the device to clear its cache. An ``isFriendRule``
that changes the answer the device got earlier for a requester recommends
the change: ``friend`` if it was refused and is now allowed, ``unfriend`` if
it was allowed and is now refused. Rules by token origin are refused with
``feature-not-implemented``: tokens (Tokens.md) come later.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from ...errors import Forbidden, StanzaError
from ...protocol import provisioning as prov
from ...protocol import provisioning_device as device
from ...protocol.values import Category, NodeRef
from .store import Store

log = logging.getLogger("xiotlab")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS provisioning_rules (
        thing TEXT NOT NULL,    -- bare JID of the device
        node TEXT NOT NULL,     -- '' for the whole device, else the node (see _node_key)
        kind TEXT NOT NULL,     -- friend, read or control
        origin TEXT NOT NULL,   -- jid, domain or all
        value TEXT NOT NULL,    -- the bare JID, the domain, or ''
        result INTEGER NOT NULL,
        partial TEXT,           -- JSON of the allowed selection; NULL: all of it
        PRIMARY KEY (thing, node, kind, origin, value))""",
    """CREATE TABLE IF NOT EXISTS provisioning_questions (
        key TEXT PRIMARY KEY,   -- the key the owner's rule refers to
        thing TEXT NOT NULL, kind TEXT NOT NULL, remote TEXT NOT NULL, node TEXT NOT NULL,
        details TEXT NOT NULL,  -- JSON of the request's selection and tokens
        asked REAL NOT NULL DEFAULT 0,  -- when the owner was last asked (time.time())
        UNIQUE (thing, kind, remote, node, details))""",
    """CREATE TABLE IF NOT EXISTS provisioning_devices (
        thing TEXT PRIMARY KEY,
        full_jid TEXT,                   -- where it last asked from
        stale INTEGER NOT NULL DEFAULT 0 -- its cache must be cleared, but it could not be reached
    )""",
    """CREATE TABLE IF NOT EXISTS provisioning_friends (
        thing TEXT NOT NULL, remote TEXT NOT NULL,
        result INTEGER NOT NULL,  -- the last isFriend answer the device got about remote
        PRIMARY KEY (thing, remote))""",
)

FRIEND, READ, CONTROL = "friend", "read", "control"
ASK_AGAIN_AFTER = 60.0
"""Seconds before the same unanswered question is put to the owner again (its inbox may be gone)."""
CLEAR_CACHE_TIMEOUT = 10.0
"""Seconds a device has to acknowledge a ``clearCache``; silent ones are cleared on their next question."""


# --- what Rules asks the component to send ----------------------------------------------


Question = prov.IsFriend | prov.CanRead | prov.CanControl
"""What the service asks an owner."""


@dataclasses.dataclass(frozen=True)
class Ask:
    """Send ``question`` to ``owner`` (a bare JID) in a message."""

    owner: str
    question: Question


@dataclasses.dataclass(frozen=True)
class ClearCache:
    """Tell device ``thing`` (of ``node`` only, when given) to forget its cached answers."""

    thing: str
    node: NodeRef | None = None


@dataclasses.dataclass(frozen=True)
class Recommend:
    """Tell device ``thing`` to befriend (``friend``) or drop (not ``friend``) ``remote``."""

    thing: str
    remote: str
    friend: bool


Effect = Ask | ClearCache | Recommend


A = TypeVar("A", device.IsFriendResponse, device.CanReadResponse, device.CanControlResponse)


@dataclasses.dataclass(frozen=True)
class Decision(Generic[A]):
    """The answer to a device's question, and what else must be sent because of it."""

    answer: A
    effects: tuple[Effect, ...] = ()


# --- small pure helpers --------------------------------------------------------------------


def bare(jid: str) -> str:
    """``user@domain`` of ``user@domain/resource``."""
    return jid.partition("/")[0]


def domain(jid: str) -> str:
    """The domain of a JID (a JID without ``@`` is a domain, or a component's address)."""
    return bare(jid).rpartition("@")[2]


def _node_key(node: NodeRef | None) -> str:
    return "" if node is None else json.dumps([node.id, node.source, node.partition])


def _node_of(key: str) -> NodeRef | None:
    return None if not key else NodeRef(*json.loads(key))


def narrow_read(
    fields: tuple[str, ...], categories: Category, partial: prov.ReadPartial | None
) -> tuple[tuple[str, ...], Category] | None:
    """The part of a read selection a rule allows, or ``None`` when nothing is left.

    Fields: the request's that the rule lists (a request for every field gets
    the rule's list). Categories likewise; ``Category(0)`` and ``ALL`` both
    mean every category.
    """
    if partial is None:
        return fields, categories
    if partial.fields:
        fields = tuple(f for f in fields if f in partial.fields) if fields else partial.fields
        if not fields:
            return None
    every = (Category(0), Category.ALL)
    if partial.categories not in every:
        categories = partial.categories if categories in every else categories & partial.categories
        if not categories:
            return None
    return fields, categories


def narrow_control(parameters: tuple[str, ...], partial: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The parameters a rule allows of those asked for (none asked: the rule's list); ``None``: none left."""
    if partial is None:
        return parameters
    allowed = tuple(p for p in parameters if p in partial) if parameters else partial
    return allowed or None


def _read_partial(text: str | None) -> prov.ReadPartial | None:
    if text is None:
        return None
    data = json.loads(text)
    return prov.ReadPartial(tuple(data["fields"]), Category(data["categories"]))


def _control_partial(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


# --- the decisions -------------------------------------------------------------------------


class Rules:
    """The owners' rules and the questions waiting for them, in the store; decides devices' questions."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        store.schema(*_SCHEMA)
        store.owned_rows("provisioning_rules", "provisioning_questions", "provisioning_friends")

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db

    # device questions

    def is_friend(self, thing: str, request: device.IsFriend) -> Decision[device.IsFriendResponse]:
        """May ``request.jid`` subscribe to ``thing``'s presence?"""
        thing, remote = bare(thing), bare(request.jid)
        effects: list[Effect] = []
        result = self._friend_ruling(thing, remote)
        if result is None:
            result = False
            effects += self._ask(thing, FRIEND, remote, None, {}, prov.IsFriend(thing, remote, ""))
        if self.store.owner_of(thing) is not None:
            self._remember_friendship(thing, remote, result)
        return Decision(device.IsFriendResponse(request.jid, result, namespace=request.namespace), tuple(effects))

    def can_read(self, thing: str, request: device.CanRead) -> Decision[device.CanReadResponse]:
        """May ``request.jid`` read this selection of ``thing``'s data? A yes is narrowed to what the rules allow."""
        thing, remote = bare(thing), bare(request.jid)
        denied = device.CanReadResponse(
            request.jid, False, request.nodes, request.fields, request.categories, namespace=request.namespace
        )
        owner_jid = self.store.owner_of(thing)
        if owner_jid is None:
            return Decision(denied)
        if remote == owner_jid:
            return Decision(dataclasses.replace(denied, result=True))
        selection: tuple[tuple[str, ...], Category] = (request.fields, request.categories)
        allowed: list[NodeRef | None] = []
        effects: list[Effect] = []
        for node in request.nodes or (None,):
            row = self._rule(thing, node, READ, remote)
            if row is None:
                effects += self._ask_read(thing, remote, node, request)
                continue
            narrowed = narrow_read(*selection, _read_partial(row["partial"])) if row["result"] else None
            if narrowed is not None:  # a node whose rule leaves nothing of the selection so far is dropped
                selection = narrowed
                allowed.append(node)
        if not allowed:
            return Decision(denied, tuple(effects))
        nodes = tuple(n for n in allowed if n is not None)
        answer = device.CanReadResponse(request.jid, True, nodes, *selection, namespace=request.namespace)
        return Decision(answer, tuple(effects))

    def can_control(self, thing: str, request: device.CanControl) -> Decision[device.CanControlResponse]:
        """May ``request.jid`` set these parameters of ``thing``? A yes is narrowed to the allowed parameters."""
        thing, remote = bare(thing), bare(request.jid)
        denied = device.CanControlResponse(
            request.jid, False, request.nodes, request.parameters, namespace=request.namespace
        )
        owner_jid = self.store.owner_of(thing)
        if owner_jid is None:
            return Decision(denied)
        if remote == owner_jid:
            return Decision(dataclasses.replace(denied, result=True))
        parameters = request.parameters
        allowed: list[NodeRef | None] = []
        effects: list[Effect] = []
        for node in request.nodes or (None,):
            row = self._rule(thing, node, CONTROL, remote)
            if row is None:
                effects += self._ask_control(thing, remote, node, request)
                continue
            narrowed = narrow_control(parameters, _control_partial(row["partial"])) if row["result"] else None
            if narrowed is not None:
                parameters = narrowed
                allowed.append(node)
        if not allowed:
            return Decision(denied, tuple(effects))
        nodes = tuple(n for n in allowed if n is not None)
        answer = device.CanControlResponse(request.jid, True, nodes, parameters, namespace=request.namespace)
        return Decision(answer, tuple(effects))

    # the owner's operations

    def set_friend_rule(self, sender: str, rule: prov.IsFriendRule) -> list[Effect]:
        """Record an owner's ``isFriendRule``; the device clears its cache, and gets friendship recommendations."""
        thing = self._owned_by(sender, rule.jid)
        origin = {prov.RuleRange.CALLER: "jid", prov.RuleRange.DOMAIN: "domain", prov.RuleRange.ALL: "all"}
        kind = origin[rule.range]
        self._store_rule(thing, None, FRIEND, kind, self._origin_value(kind, rule.remote_jid), rule.result, None)
        self._settle_questions(thing, FRIEND, rule.key)
        return [ClearCache(thing), *self._recommendations(thing)]

    def set_read_rule(self, sender: str, rule: prov.CanReadRule) -> list[Effect]:
        """Record an owner's ``canReadRule``; the device (or node) clears its cache."""
        thing = self._owned_by(sender, rule.jid)
        kind = self._origin_kind(rule.origin)
        partial = None
        if rule.partial is not None:
            partial = json.dumps({"fields": list(rule.partial.fields), "categories": rule.partial.categories.value})
        value = self._origin_value(kind, rule.remote_jid)
        self._store_rule(thing, rule.node, READ, kind, value, rule.result, partial)
        self._settle_questions(thing, READ, rule.key)
        return [ClearCache(thing, rule.node)]

    def set_control_rule(self, sender: str, rule: prov.CanControlRule) -> list[Effect]:
        """Record an owner's ``canControlRule``; the device (or node) clears its cache."""
        thing = self._owned_by(sender, rule.jid)
        kind = self._origin_kind(rule.origin)
        partial = None if rule.partial is None else json.dumps(list(rule.partial))
        value = self._origin_value(kind, rule.remote_jid)
        self._store_rule(thing, rule.node, CONTROL, kind, value, rule.result, partial)
        self._settle_questions(thing, CONTROL, rule.key)
        return [ClearCache(thing, rule.node)]

    def clear_cache(self, sender: str, request: prov.ClearCache) -> list[Effect]:
        """The devices whose caches the owner's ``clearCache`` clears: ``jid``, or all the owner's."""
        if request.jid is None:
            return [ClearCache(thing) for thing in self.store.things_of(bare(sender))]
        return [ClearCache(self._owned_by(sender, request.jid), request.node)]

    def delete_rules(self, sender: str, request: prov.DeleteRules) -> list[Effect]:
        """Delete the rules of device ``jid`` (or its ``node``), or of all the owner's devices."""
        things = self.store.things_of(bare(sender)) if request.jid is None else [self._owned_by(sender, request.jid)]
        node = None if request.jid is None else request.node
        with self.store.transaction() as db:
            for thing in things:
                # Questions go too: an owner starting afresh is asked again, at once.
                for table in ("provisioning_rules", "provisioning_questions"):
                    if node is None:
                        db.execute(f"DELETE FROM {table} WHERE thing = ?", (thing,))
                    else:
                        db.execute(f"DELETE FROM {table} WHERE thing = ? AND node = ?", (thing, _node_key(node)))
        return [ClearCache(thing, node) for thing in things]

    def devices(self, sender: str, request: prov.GetDevices) -> prov.Devices:
        """One page of the owner's things, at most :data:`~.provisioning.MAX_DEVICES_PAGE` long."""
        owner_jid = bare(sender)
        things = self.store.things_of(owner_jid)
        count = min(request.max_count or prov.MAX_DEVICES_PAGE, prov.MAX_DEVICES_PAGE)
        page = things[request.offset : request.offset + count]
        more = request.offset + count < len(things)
        return prov.Devices(tuple(prov.FoundDevice(t, owner_jid) for t in page), more)

    # what the component needs to reach devices

    def seen(self, full_jid: str) -> bool:
        """Record where a device asks from; True when its cache should be cleared (it missed a ``clearCache``)."""
        thing = bare(full_jid)
        row = self.db.execute("SELECT stale FROM provisioning_devices WHERE thing = ?", (thing,)).fetchone()
        self.db.execute(
            "INSERT INTO provisioning_devices (thing, full_jid) VALUES (?, ?) "
            "ON CONFLICT(thing) DO UPDATE SET full_jid = excluded.full_jid",
            (thing, full_jid),
        )
        return bool(row and row["stale"])

    def address(self, thing: str) -> str | None:
        """The full JID ``thing`` last asked from, if any."""
        row = self.db.execute("SELECT full_jid FROM provisioning_devices WHERE thing = ?", (bare(thing),)).fetchone()
        return row["full_jid"] if row else None

    def stale(self, thing: str, stale: bool = True) -> None:
        """Mark that ``thing`` missed a ``clearCache`` (or, ``stale=False``, that it got one)."""
        self.db.execute(
            "INSERT INTO provisioning_devices (thing, stale) VALUES (?, ?) "
            "ON CONFLICT(thing) DO UPDATE SET stale = excluded.stale",
            (bare(thing), int(stale)),
        )

    def questions(self, thing: str | None = None) -> list[sqlite3.Row]:
        """The questions waiting for an owner's answer (of ``thing`` only, when given)."""
        if thing is None:
            return list(self.db.execute("SELECT * FROM provisioning_questions ORDER BY key"))
        return list(self.db.execute("SELECT * FROM provisioning_questions WHERE thing = ? ORDER BY key", (thing,)))

    # internals

    def _owned_by(self, sender: str, thing: str) -> str:
        """``thing`` as a bare JID, if ``sender`` owns it; :class:`Forbidden` otherwise."""
        thing, who = bare(thing), bare(sender)
        if self.store.owner_of(thing) != who:
            raise Forbidden(
                f"{who} does not own {thing}: only a thing's owner may change or read its provisioning. "
                "Claim the thing in the registry first, or ask its owner."
            )
        return thing

    @staticmethod
    def _origin_kind(origin: prov.Origin) -> str:
        if origin.kind.by_token:
            raise StanzaError(
                f"Rules by token (<{origin.kind.value}/>) are not implemented yet; tokens come later. "
                "Use <fromJid/>, <fromDomain/> or <all/>.",
                condition="feature-not-implemented",
                kind="cancel",
            )
        return {prov.OriginKind.JID: "jid", prov.OriginKind.DOMAIN: "domain", prov.OriginKind.ALL: "all"}[origin.kind]

    @staticmethod
    def _origin_value(kind: str, remote: str) -> str:
        return {"jid": bare(remote), "domain": domain(remote), "all": ""}[kind]

    def _store_rule(
        self, thing: str, node: NodeRef | None, kind: str, origin: str, value: str, result: bool, partial: str | None
    ) -> None:
        self.db.execute(
            "INSERT INTO provisioning_rules (thing, node, kind, origin, value, result, partial) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(thing, node, kind, origin, value) "
            "DO UPDATE SET result = excluded.result, partial = excluded.partial",
            (thing, _node_key(node), kind, origin, value, int(result), partial),
        )

    def _rule(self, thing: str, node: NodeRef | None, kind: str, remote: str) -> sqlite3.Row | None:
        """The most specific rule: requester, domain, all; at each, the node's before the device's."""
        nodes = [_node_key(node), ""] if node is not None else [""]
        for origin in ("jid", "domain", "all"):
            for key in nodes:
                row = self.db.execute(
                    "SELECT result, partial FROM provisioning_rules "
                    "WHERE thing = ? AND node = ? AND kind = ? AND origin = ? AND value = ?",
                    (thing, key, kind, origin, self._origin_value(origin, remote)),
                ).fetchone()
                if row is not None:
                    return row
        return None

    def _friend_ruling(self, thing: str, remote: str) -> bool | None:
        """What a device should answer ``remote``'s friend request; None when the owner must be asked."""
        owner_jid = self.store.owner_of(thing)
        if owner_jid is None:
            return False
        if remote == owner_jid:
            return True
        row = self._rule(thing, None, FRIEND, remote)
        return None if row is None else bool(row["result"])

    def _ask(
        self, thing: str, kind: str, remote: str, node: NodeRef | None, details: dict, question: Question
    ) -> list[Effect]:
        """Record a question for the owner, once per distinct question: an :class:`Ask` if it is new."""
        owner_jid = self.store.owner_of(thing)
        if owner_jid is None:
            return []
        identity = (thing, kind, remote, _node_key(node), json.dumps(details, sort_keys=True))
        now = self.clock()
        row = self.db.execute(
            "SELECT key, asked FROM provisioning_questions WHERE thing = ? AND kind = ? AND remote = ? AND node = ? "
            "AND details = ?",
            identity,
        ).fetchone()
        if row is not None and now - row["asked"] < ASK_AGAIN_AFTER:
            return []  # asked already; the owner answers in human time
        # New, or asked long ago and still unanswered: the owner's session may have lost it.
        key = row["key"] if row is not None else secrets.token_hex(8)
        self.db.execute(
            "INSERT OR REPLACE INTO provisioning_questions (key, thing, kind, remote, node, details, asked) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, *identity, now),
        )
        return [Ask(owner_jid, dataclasses.replace(question, key=key))]

    def _ask_read(self, thing: str, remote: str, node: NodeRef | None, request: device.CanRead) -> list[Effect]:
        tokens = {"st": request.service_token, "dt": request.device_token, "ut": request.user_token}
        details = {"fields": list(request.fields), "categories": request.categories.value, **tokens}
        question = prov.CanRead(
            thing, remote, "", node, request.fields, request.categories,
            request.service_token, request.device_token, request.user_token,
        )  # fmt: skip
        return self._ask(thing, READ, remote, node, details, question)

    def _ask_control(self, thing: str, remote: str, node: NodeRef | None, request: device.CanControl) -> list[Effect]:
        tokens = {"st": request.service_token, "dt": request.device_token, "ut": request.user_token}
        details = {"parameters": list(request.parameters), **tokens}
        question = prov.CanControl(
            thing, remote, "", node, request.parameters,
            request.service_token, request.device_token, request.user_token,
        )  # fmt: skip
        return self._ask(thing, CONTROL, remote, node, details, question)

    def _settle_questions(self, thing: str, kind: str, key: str) -> None:
        """Forget the answered question (``key``) and every other one of ``thing`` a rule now decides."""
        self.db.execute("DELETE FROM provisioning_questions WHERE key = ? AND thing = ?", (key, thing))
        waiting = self.db.execute(
            "SELECT key, remote, node FROM provisioning_questions WHERE thing = ? AND kind = ?", (thing, kind)
        ).fetchall()
        for row in waiting:
            if self._rule(thing, _node_of(row["node"]), kind, row["remote"]) is not None:
                self.db.execute("DELETE FROM provisioning_questions WHERE key = ?", (row["key"],))

    def _remember_friendship(self, thing: str, remote: str, result: bool) -> None:
        self.db.execute(
            "INSERT INTO provisioning_friends (thing, remote, result) VALUES (?, ?, ?) "
            "ON CONFLICT(thing, remote) DO UPDATE SET result = excluded.result",
            (thing, remote, int(result)),
        )

    def _recommendations(self, thing: str) -> list[Effect]:
        """``friend``/``unfriend`` for each requester whose answer the rules now change."""
        effects: list[Effect] = []
        for row in self.db.execute("SELECT remote, result FROM provisioning_friends WHERE thing = ?", (thing,)):
            now = self._friend_ruling(thing, row["remote"])
            if now is not None and now != bool(row["result"]):
                effects.append(Recommend(thing, row["remote"], now))
        for effect in effects:
            assert isinstance(effect, Recommend)
            self._remember_friendship(thing, effect.remote, effect.friend)
        return effects
