"""The registry's logic over an in-memory store, and its component over a fake client: no network."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xiotlab.errors import ProtocolError
from xiotlab.protocol import iotdisco
from xiotlab.protocol import registry as r
from xiotlab.protocol.namespaces import DISCOVERY_ALIASES
from xiotlab.roles.lab.registry import NotFound, Registry, check_regex
from xiotlab.roles.lab.store import Store

THING = "lamp@lab.example/device"
OWNER = "alice@lab.example/phone"
OTHER = "mallory@lab.example/laptop"


def identity(key: str = "k-123", sn: str = "42") -> tuple[r.Tag, ...]:
    return (r.Tag("SN", sn), r.Tag("MAN", "example.org"), r.Tag("MODEL", "Lamp"), r.Tag("V", 1.0), r.Tag("KEY", key))


@pytest.fixture
def store():
    s = Store()
    yield s
    s.close()


@pytest.fixture
def reg(store):
    return Registry(store)


def claimed_thing(reg, thing=THING, owner=OWNER, sn="42", public=True):
    reg.register(thing, r.Register(identity(sn=sn)))
    return reg.claim(owner, r.Mine(identity(sn=sn), public))


def snapshot(store):
    """Every row of the registry's tables and the ownership table, to show nothing changed."""
    return [
        [tuple(row) for row in store.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in ("registry_things", "registry_tags", "ownership")
    ]


# --- register and claim ---------------------------------------------------------------------------


def test_claim_marks_claimed_records_the_owner_and_drops_the_key(reg, store):
    assert reg.register(THING, r.Register(identity())) is None
    answer, notice = reg.claim(OWNER, r.Mine(tuple(reversed(identity()))))  # order is free
    assert answer == r.Claimed("lamp@lab.example", public=True)
    assert notice.payload == r.Claimed("alice@lab.example", public=True)
    assert (notice.to, notice.bare, notice.full) == (THING, "lamp@lab.example", True)
    record = reg.thing("lamp@lab.example")
    assert record.claimed and record.public and record.owner == "alice@lab.example"
    assert record.claimed_at is not None
    assert not any(r.is_key(t.name) for t in record.tags)
    assert store.owner_of("lamp@lab.example") == "alice@lab.example"


def test_claim_names_are_case_insensitive(reg):
    reg.register(THING, r.Register(identity()))
    lower = tuple(r.Tag(t.name.lower(), t.value) for t in identity())
    assert reg.claim(OWNER, r.Mine(lower))[0].jid == "lamp@lab.example"


@pytest.mark.parametrize(
    "tags",
    [
        identity(key="wrong"),
        identity()[:-2] + identity()[-1:],  # one tag missing
        (*identity(), r.Tag("ROOM", "1")),  # one too many
        tuple(r.Tag(t.name, "1.0") if t.name == "V" else t for t in identity()),  # V as a string
    ],
    ids=["wrong key", "missing tag", "extra tag", "wrong kind"],
)
def test_a_claim_must_match_exactly_and_changes_nothing_otherwise(reg, store, tags):
    reg.register(THING, r.Register(identity()))
    before = snapshot(store)
    with pytest.raises(NotFound) as caught:
        reg.claim(OWNER, r.Mine(tags))
    assert caught.value.condition == "item-not-found"
    assert snapshot(store) == before


def test_a_claimed_thing_cannot_be_claimed_again(reg):
    claimed_thing(reg)
    reg.register(THING, r.Register(identity()))  # answered claimed; no new key
    with pytest.raises(NotFound):
        reg.claim(OTHER, r.Mine(identity()))


def test_a_claim_without_key_is_refused(reg):
    with pytest.raises(ProtocolError, match="KEY"):
        reg.claim(OWNER, r.Mine(identity()[:-1]))


def test_registering_needs_a_key_unless_self_owned(reg):
    with pytest.raises(ProtocolError, match="KEY"):
        reg.register(THING, r.Register(identity()[:-1]))
    with pytest.raises(ProtocolError, match="'R'"):
        reg.register(THING, r.Register((*identity(), r.Tag("R", "x"))))
    assert reg.thing(THING) is None


def test_a_claimed_thing_registering_again_learns_its_owner_and_nothing_changes(reg, store):
    claimed_thing(reg, public=False)
    before = snapshot(store)
    answer = reg.register("lamp@lab.example/other", r.Register((r.Tag("KEY", "new"), r.Tag("SN", "x"))))
    assert answer == r.Claimed("alice@lab.example", public=False)
    tags_after = snapshot(store)[1]
    assert tags_after == before[1]
    assert reg.thing(THING).full_jid == "lamp@lab.example/other"  # where notices go now


def test_registering_again_replaces_every_tag(reg):
    reg.register(THING, r.Register(identity()))
    reg.register(THING, r.Register((r.Tag("KEY", "2"), r.Tag("CLASS", "Lamp"))))
    assert reg.thing(THING).tags == (r.Tag("KEY", "2"), r.Tag("CLASS", "Lamp"))


def test_self_owned_things_are_public_and_own_themselves(reg, store):
    reg.register(THING, r.Register(identity(), self_owned=True))
    record = reg.thing(THING)
    assert record.claimed and record.public and record.self_owned
    assert record.owner == "lamp@lab.example" == store.owner_of("lamp@lab.example")
    assert not any(r.is_key(t.name) for t in record.tags)
    assert [t.jid for t in reg.search(r.Search((r.Compare("SN", r.Comparison.EQ, "42"),))).things] == [
        "lamp@lab.example"
    ]


def test_nodes_behind_one_concentrator_are_separate_things(reg, store):
    rack = "rack@lab.example/plcs"
    plc1, plc2 = r.NodeAddress("plc1", "Metering"), r.NodeAddress("plc2", "Metering")
    reg.register(rack, r.Register(identity(sn="1"), plc1))
    reg.register(rack, r.Register(identity(sn="2"), plc2))
    answer, notice = reg.claim(OWNER, r.Mine(identity(sn="2")))
    assert answer == r.Claimed("rack@lab.example", plc2, True)
    assert notice.payload.node == plc2
    assert not reg.thing(rack, plc1).claimed
    assert store.owner_of("rack@lab.example") is None  # the shared table names whole things only


# --- search -----------------------------------------------------------------------------------------


def populate(reg):
    things = {
        "a@lab.example": (r.Tag("MAN", "acme"), r.Tag("MODEL", "Therm-1"), r.Tag("V", 1.0), r.Tag("LAT", -33.5)),
        "b@lab.example": (r.Tag("MAN", "acme"), r.Tag("MODEL", "Therm-2"), r.Tag("V", 2.0)),
        "c@lab.example": (r.Tag("MAN", "other"), r.Tag("MODEL", "Lamp"), r.Tag("V", 1.5), r.Tag("LAT", -40.0)),
    }
    for jid, tags in things.items():
        reg.register(f"{jid}/r", r.Register((*tags, r.Tag("KEY", jid))))
        reg.claim(OWNER, r.Mine((*tags, r.Tag("KEY", jid))))
    return things


def found(reg, *operators, offset=0, max_count=None):
    return [t.jid.split("@")[0] for t in reg.search(r.Search(operators, offset, max_count)).things]


C = r.Comparison


@pytest.mark.parametrize(
    ("operators", "expected"),
    [
        ((r.Compare("MAN", C.EQ, "acme"),), "ab"),
        ((r.Compare("man", C.EQ, "acme"),), "ab"),
        ((r.Compare("MAN", C.NEQ, "acme"),), "c"),
        ((r.Compare("MODEL", C.GT, "Therm-1"),), "b"),
        ((r.Compare("MODEL", C.GT_EQ, "Therm-1"),), "ab"),
        ((r.Compare("MODEL", C.LT, "Therm-1"),), "c"),
        ((r.Compare("MODEL", C.LT_EQ, "Therm-1"),), "ac"),
        ((r.Compare("MODEL", C.REGEX, "Therm-[0-9]"),), "ab"),
        ((r.Compare("MODEL", C.REGEX, "Therm"),), ""),  # the whole value must match
        ((r.Compare("V", C.EQ, 1.5),), "c"),
        ((r.Compare("V", C.NEQ, 1.5),), "ab"),
        ((r.Compare("V", C.GT, 1.0),), "bc"),
        ((r.Compare("V", C.GT_EQ, 1.5),), "bc"),
        ((r.Compare("V", C.LT, 1.5),), "a"),
        ((r.Compare("V", C.LT_EQ, 1.5),), "ac"),
        ((r.Compare("V", C.EQ, "1.0"),), ""),  # a string operator does not see numeric tags
        ((r.Range("V", 1.0, 2.0, True, False),), "ac"),
        ((r.Range("V", 1.0, 2.0, False, True),), "bc"),
        ((r.Range("V", 1.0, 2.0, True, True, outside=True),), ""),
        ((r.Range("V", 1.0, 2.0, False, False, outside=True),), "ab"),
        ((r.Range("MODEL", "Lamp", "Therm-1"),), "ac"),
        ((r.Range("MODEL", "Lamp", "Therm-1", outside=True),), "b"),
        ((r.Mask("MODEL", "Therm*", "*"),), "ab"),
        ((r.Mask("MODEL", "?herm%", "%"),), ""),  # '?' is no wildcard here
        ((r.Mask("MODEL", "*-2", "*"),), "b"),
        ((r.Compare("MAN", C.EQ, "acme"), r.Range("LAT", -34, -33)), "a"),
        ((r.Compare("M*", C.EQ, "Lamp", "*"),), "c"),
        ((r.Compare("NOPE", C.NEQ, "x"),), ""),  # things without the tag are not found
        (iotdisco.parse_search("acme therm")[0], "ab"),
        (iotdisco.parse_search("MAN=acme;#V>1;#V<=2")[0], "b"),
    ],
)
def test_search_operators(reg, operators, expected):
    populate(reg)
    assert "".join(found(reg, *operators)) == expected


def test_key_is_never_found_nor_returned(reg, store):
    reg.register(THING, r.Register(identity(key="secret")))  # unclaimed: keeps its KEY
    reg.register("x@lab.example/r", r.Register((r.Tag("KEY", "secret"), r.Tag("SN", "1")), self_owned=True))
    populate(reg)
    # Claimed things hold no KEY; plant one anyway, as defence in depth must hold without that rule.
    store.db.execute(
        "INSERT INTO registry_tags (thing, norm, name, str_value) SELECT id, 'KEY', 'Key', 'secret' "
        "FROM registry_things WHERE jid = 'a@lab.example'"
    )
    assert found(reg, r.Compare("KEY", C.EQ, "secret")) == []
    assert found(reg, r.Compare("K*", C.EQ, "secret", "*")) == []
    assert found(reg, r.Mask("KEY", "*", "*")) == []
    result = reg.search(r.Search((r.Compare("*", C.REGEX, ".*", "*"),)))
    assert {t.jid for t in result.things} == {"a@lab.example", "b@lab.example", "c@lab.example", "x@lab.example"}
    assert not any(r.is_key(tag.name) for thing in result.things for tag in thing.tags)


def test_only_public_claimed_things_are_found(reg):
    reg.register("u@lab.example/r", r.Register(identity(sn="1")))
    claimed_thing(reg, "p@lab.example/r", sn="2", public=False)
    claimed_thing(reg, "q@lab.example/r", sn="3")
    assert found(reg, r.Compare("MAN", C.EQ, "example.org")) == ["q"]


def test_found_things_carry_owner_node_and_tags(reg):
    populate(reg)
    (thing,) = reg.search(r.Search((r.Compare("MODEL", C.EQ, "Lamp"),))).things
    assert thing == r.FoundThing(
        "c@lab.example",
        (r.Tag("MAN", "other"), r.Tag("MODEL", "Lamp"), r.Tag("V", 1.5), r.Tag("LAT", -40.0)),
        owner="alice@lab.example",
    )


def test_paging_with_offset_max_count_and_more(store):
    reg = Registry(store, max_count=4)
    for i in range(10):
        reg.register(f"t{i}@lab.example/r", r.Register((r.Tag("N", float(i)), r.Tag("KEY", str(i)))))
        reg.claim(OWNER, r.Mine((r.Tag("N", float(i)), r.Tag("KEY", str(i)))))
    everything = r.Compare("N", C.GT_EQ, 0)
    pages, offset = [], 0
    while True:
        result = reg.search(r.Search((everything,), offset, 3))
        pages.append([t.jid for t in result.things])
        offset += len(result.things)
        if not result.more:
            break
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [jid for page in pages for jid in page] == [f"t{i}@lab.example" for i in range(10)]
    capped = reg.search(r.Search((everything,), max_count=1000))
    assert len(capped.things) == 4 and capped.more
    assert not reg.search(r.Search((everything,), offset=10)).things


@pytest.mark.parametrize("pattern", ["(a+)+", "(a|aa)*", "(?:ab)*", r"(a)\1", "a*b*c*d*", "[", "a{1,99}b+c?d*"])
def test_dangerous_or_broken_regexes_are_refused(reg, pattern):
    populate(reg)
    with pytest.raises(ProtocolError, match="strRegEx"):
        reg.search(r.Search((r.Compare("MODEL", C.REGEX, pattern),)))


def test_harmless_regexes_pass():
    for pattern in ["Therm-[0-9]+", r"(?is).*acme.*", r"a\(b\)*", "[)*+]x"]:
        assert check_regex(pattern)


# A reference of each operator's meaning, in Python, that the SQL must agree with.


def _holds(op: r.Operator, tag: r.Tag) -> bool:
    if isinstance(op, r.Mask):
        return (
            isinstance(tag.value, str)
            and re.fullmatch(".*".join(map(re.escape, op.value.split(op.wildcard))), tag.value, re.S) is not None
        )
    if isinstance(op, r.Range):
        if isinstance(op.min, str) != isinstance(tag.value, str):
            return False
        above = tag.value > op.min if not op.min_included else tag.value >= op.min
        below = tag.value < op.max if not op.max_included else tag.value <= op.max
        if op.outside:
            return not above or not below
        return above and below
    if isinstance(op.value, str) != isinstance(tag.value, str):
        return False
    return {
        C.EQ: tag.value == op.value,
        C.NEQ: tag.value != op.value,
        C.GT: tag.value > op.value,
        C.GT_EQ: tag.value >= op.value,
        C.LT: tag.value < op.value,
        C.LT_EQ: tag.value <= op.value,
        C.REGEX: False,
    }[op.comparison]


short_text = st.text(st.sampled_from("ab*?[-"), max_size=3)
small = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0])
values = st.one_of(short_text, small)
tag_lists = st.lists(st.builds(r.Tag, st.sampled_from(["A", "B"]), values), max_size=2, unique_by=lambda t: t.name)


@st.composite
def reference_operators(draw):
    name = draw(st.sampled_from(["A", "b"]))
    kind = draw(st.sampled_from(["compare", "range", "mask"]))
    if kind == "mask":
        return r.Mask(name, draw(short_text), draw(st.sampled_from("*?")))
    if kind == "range":
        pool = draw(st.sampled_from([short_text, small]))
        return r.Range(name, draw(pool), draw(pool), draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))
    comparison = draw(st.sampled_from([c for c in C if c is not C.REGEX]))
    return r.Compare(name, comparison, draw(values))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(tag_lists, min_size=1, max_size=5), st.lists(reference_operators(), min_size=1, max_size=2))
def test_search_agrees_with_the_meaning_of_each_operator(things, operators):
    store = Store()
    reg = Registry(store)
    for i, tags in enumerate(things):
        reg.register(f"t{i}@lab.example/r", r.Register((*tags, r.Tag("KEY", "k")), self_owned=True))
    expected = [
        f"t{i}@lab.example"
        for i, tags in enumerate(things)
        if all(any(r.norm(t.name) == r.norm(op.name) and _holds(op, t) for t in tags) for op in operators)
    ]
    assert [t.jid for t in reg.search(r.Search(tuple(operators))).things] == expected
    store.close()


# --- remove, update, unregister -----------------------------------------------------------------------


def test_a_non_owner_cannot_remove_and_nothing_changes(reg, store):
    claimed_thing(reg)
    before = snapshot(store)
    for sender, jid in [(OTHER, THING), (OWNER, "nobody@lab.example"), (THING, THING)]:
        with pytest.raises(NotFound) as caught:
            reg.remove(sender, r.Remove(jid))
        assert caught.value.condition == "item-not-found"
    assert snapshot(store) == before


def test_the_owner_removes_and_the_thing_is_told(reg, store):
    claimed_thing(reg)
    notice = reg.remove(OWNER, r.Remove("lamp@lab.example/whatever"))
    assert notice.payload == r.Removed()
    assert notice.to == THING
    assert reg.thing(THING) is None
    assert store.owner_of("lamp@lab.example") == "alice@lab.example"  # removed from the registry, still owned
    with pytest.raises(NotFound, match="stop updating"):
        reg.update(THING, r.Update((r.Tag("ROOM", "1"),)))


def test_the_thing_updates_its_tags(reg):
    claimed_thing(reg)
    assert reg.update(THING, r.Update((r.Tag("room", "kitchen"), r.Tag("MODEL", ""), r.Tag("V", 2)))) is None
    tags = {t.name: t.value for t in reg.thing(THING).tags}
    assert tags == {"SN": "42", "MAN": "example.org", "V": 2.0, "room": "kitchen"}


def test_an_unclaimed_thing_updating_is_told_it_is_disowned_and_nothing_changes(reg, store):
    reg.register(THING, r.Register(identity()))
    before = snapshot(store)
    assert reg.update(THING, r.Update((r.Tag("ROOM", "1"),), namespace=DISCOVERY_ALIASES[0])) == r.Disowned()
    assert snapshot(store)[1] == before[1]


def test_the_owner_updates_others_cannot(reg, store):
    claimed_thing(reg)
    assert reg.update(OWNER, r.Update((r.Tag("ROOM", "1"),), jid="lamp@lab.example")) is None
    assert r.Tag("ROOM", "1") in reg.thing(THING).tags
    before = snapshot(store)
    with pytest.raises(NotFound):
        reg.update(OTHER, r.Update((r.Tag("ROOM", "2"),), jid="lamp@lab.example"))
    assert snapshot(store) == before


def test_key_cannot_be_updated_and_tags_stay_bounded(reg, store):
    claimed_thing(reg)
    with pytest.raises(ProtocolError, match="KEY"):
        reg.update(THING, r.Update((r.Tag("KEY", "again"),)))
    before = snapshot(store)
    many = tuple(r.Tag(f"T{i}", "v") for i in range(r.MAX_TAGS))
    with pytest.raises(ProtocolError, match="at most"):
        reg.update(THING, r.Update(many))
    assert snapshot(store) == before


def test_unregister_forgets_only_the_sender(reg):
    reg.register(THING, r.Register(identity()))
    reg.register(OTHER, r.Register(identity(key="2")))
    reg.unregister(THING, r.Unregister())
    reg.unregister(THING, r.Unregister())  # again: still fine
    assert reg.thing(THING) is None
    assert reg.thing(OTHER) is not None


# --- disown -----------------------------------------------------------------------------------------


def test_only_the_owner_may_disown(reg, store):
    claimed_thing(reg)
    before = snapshot(store)
    with pytest.raises(NotFound):
        reg.disown(OTHER, r.Disown("lamp@lab.example"))
    with pytest.raises(NotFound):
        reg.confirm_disown(OTHER, r.Disown("lamp@lab.example"))
    assert snapshot(store) == before


def test_disowning_unclaims_and_hides_behind_a_random_key(reg, store):
    claimed_thing(reg)
    notice = reg.disown(OWNER, r.Disown("lamp@lab.example"))
    assert (notice.to, notice.payload) == (THING, r.Disowned())
    assert reg.thing(THING).claimed  # nothing changes before the thing acknowledges
    reg.confirm_disown(OWNER, r.Disown("lamp@lab.example"))
    record = reg.thing(THING)
    assert not record.claimed and record.owner is None and not record.public
    assert [t.name for t in record.tags] == ["KEY"]
    assert record.tags[0].value not in ("k-123", "")
    assert store.owner_of("lamp@lab.example") is None
    with pytest.raises(NotFound):
        reg.claim(OTHER, r.Mine(identity()))  # the old QR code no longer works
    reg.register(THING, r.Register(identity(key="fresh")))  # the thing registers anew
    assert reg.claim(OTHER, r.Mine(identity(key="fresh")))[0].jid == "lamp@lab.example"
    assert store.owner_of("lamp@lab.example") == "mallory@lab.example"
