"""The provisioning service's decisions (Rules), over an in-memory store: no network."""

import pytest

from xiotlab.errors import Forbidden, StanzaError
from xiotlab.protocol import provisioning as p
from xiotlab.protocol import provisioning_device as d
from xiotlab.protocol.values import Category, NodeRef
from xiotlab.roles.lab.provisioning import Ask, ClearCache, Recommend, Rules, narrow_control, narrow_read
from xiotlab.roles.lab.store import Store

LAMP, ALICE, BOB, CAROL, EVE = "lamp@lab", "alice@lab", "bob@lab", "carol@lab", "eve@other"
JID, DOMAIN, ALL = (p.Origin(k) for k in (p.OriginKind.JID, p.OriginKind.DOMAIN, p.OriginKind.ALL))


@pytest.fixture
def rules():
    store = Store()
    store.set_owner(LAMP, ALICE)
    yield Rules(store)
    store.close()


def read_rule(result=True, origin=JID, remote=BOB, partial=None, node=None, thing=LAMP):
    return p.CanReadRule(thing, remote, "k", result, origin, node, partial)


def control_rule(result=True, origin=JID, remote=BOB, partial=None, node=None):
    return p.CanControlRule(LAMP, remote, "k", result, origin, node, partial)


def asks(effects):
    return [e for e in effects if isinstance(e, Ask)]


# --- the owner, and things nobody owns ---------------------------------------------------


def test_the_owner_is_always_a_friend_and_reads_and_controls_everything(rules):
    assert rules.is_friend(LAMP, d.IsFriend(ALICE)).answer.result
    request = d.CanRead(ALICE + "/phone", fields=("Temperature",), categories=Category.MOMENTARY)
    answer = rules.can_read(LAMP + "/r1", request).answer
    assert (answer.result, answer.fields, answer.categories) == (True, ("Temperature",), Category.MOMENTARY)
    assert rules.can_control(LAMP, d.CanControl(ALICE, parameters=("Output",))).answer.parameters == ("Output",)
    assert rules.questions() == []


def test_a_thing_nobody_owns_denies_and_asks_nobody(rules):
    decision = rules.can_read("orphan@lab", d.CanRead(BOB))
    assert not decision.answer.result and decision.effects == ()
    assert not rules.is_friend("orphan@lab", d.IsFriend(BOB)).answer.result
    assert rules.questions() == []


# --- unknown requests: denied, and the owner asked once ---------------------------------------


@pytest.mark.parametrize(
    "ask",
    [
        lambda r: r.is_friend(LAMP, d.IsFriend(BOB)),
        lambda r: r.can_read(LAMP, d.CanRead(BOB, fields=("Temperature",))),
        lambda r: r.can_control(LAMP, d.CanControl(BOB, parameters=("Output",))),
    ],
)
def test_an_unknown_request_is_denied_and_asked_once(rules, ask):
    first = ask(rules)
    assert not first.answer.result
    [question] = asks(first.effects)
    assert question.owner == ALICE
    assert (question.question.jid, question.question.remote_jid) == (LAMP, BOB)
    assert question.question.key == rules.questions()[0]["key"]
    again = ask(rules)
    assert not again.answer.result and asks(again.effects) == []
    assert len(rules.questions()) == 1


def test_distinct_questions_are_asked_separately(rules):
    rules.can_read(LAMP, d.CanRead(BOB, fields=("A",)))
    rules.can_read(LAMP, d.CanRead(BOB, fields=("B",)))
    rules.can_read(LAMP, d.CanRead(CAROL, fields=("A",)))
    assert len(rules.questions(LAMP)) == 3


def test_a_question_about_several_nodes_asks_one_question_a_node(rules):
    decision = rules.can_read(LAMP, d.CanRead(BOB, nodes=(NodeRef("N1"), NodeRef("N2"))))
    assert sorted(a.question.node.id for a in asks(decision.effects)) == ["N1", "N2"]


def test_a_read_question_carries_the_request(rules):
    request = d.CanRead(BOB, (NodeRef("N1", "S"),), ("T",), Category.STATUS, user_token="u1")
    [ask] = asks(rules.can_read(LAMP, request).effects)
    q = ask.question
    assert (q.node, q.fields, q.categories, q.user_token) == (NodeRef("N1", "S"), ("T",), Category.STATUS, "u1")


# --- rules: who, and how much --------------------------------------------------------------


def test_a_rule_answers_and_settles_the_question(rules):
    key = asks(rules.can_read(LAMP, d.CanRead(BOB)).effects)[0].question.key
    effects = rules.set_read_rule(ALICE, p.CanReadRule(LAMP, BOB, key, True, JID))
    assert effects == [ClearCache(LAMP)]
    assert rules.questions() == []
    assert rules.can_read(LAMP, d.CanRead(BOB)).answer.result


@pytest.mark.parametrize(("origin", "allowed"), [(JID, {BOB}), (DOMAIN, {BOB, CAROL}), (ALL, {BOB, CAROL, EVE})])
def test_rules_reach_caller_domain_or_all(rules, origin, allowed):
    rules.set_read_rule(ALICE, read_rule(origin=origin))
    for remote in (BOB, CAROL, EVE):
        assert rules.can_read(LAMP, d.CanRead(remote)).answer.result == (remote in allowed), remote


def test_the_most_specific_rule_wins(rules):
    rules.set_read_rule(ALICE, read_rule(True, ALL))
    rules.set_read_rule(ALICE, read_rule(False, DOMAIN))
    rules.set_read_rule(ALICE, read_rule(True, JID))
    assert rules.can_read(LAMP, d.CanRead(BOB)).answer.result  # caller beats domain
    assert not rules.can_read(LAMP, d.CanRead(CAROL)).answer.result  # domain beats all
    assert rules.can_read(LAMP, d.CanRead(EVE)).answer.result  # all


def test_a_partial_rule_narrows_fields(rules):
    rules.set_read_rule(ALICE, read_rule(partial=p.ReadPartial(("Temperature", "Humidity"))))
    answer = rules.can_read(LAMP, d.CanRead(BOB, fields=("Temperature", "Pressure"))).answer
    assert (answer.result, answer.fields) == (True, ("Temperature",))
    every = rules.can_read(LAMP, d.CanRead(BOB)).answer
    assert (every.result, every.fields) == (True, ("Temperature", "Humidity"))
    assert not rules.can_read(LAMP, d.CanRead(BOB, fields=("Pressure",))).answer.result


def test_a_partial_rule_narrows_categories(rules):
    rules.set_read_rule(ALICE, read_rule(origin=DOMAIN, partial=p.ReadPartial((), Category.MOMENTARY)))
    assert rules.can_read(LAMP, d.CanRead(CAROL, categories=Category.ALL)).answer.categories == Category.MOMENTARY
    narrowed = rules.can_read(LAMP, d.CanRead(CAROL, categories=Category.MOMENTARY | Category.STATUS)).answer
    assert narrowed.categories == Category.MOMENTARY
    assert not rules.can_read(LAMP, d.CanRead(CAROL, categories=Category.STATUS)).answer.result


def test_a_partial_rule_narrows_parameters(rules):
    rules.set_control_rule(ALICE, control_rule(partial=("Output",)))
    answer = rules.can_control(LAMP, d.CanControl(BOB, parameters=("Output", "Mode"))).answer
    assert (answer.result, answer.parameters) == (True, ("Output",))
    assert rules.can_control(LAMP, d.CanControl(BOB)).answer.parameters == ("Output",)
    assert not rules.can_control(LAMP, d.CanControl(BOB, parameters=("Mode",))).answer.result


def test_a_node_rule_narrows_the_nodes(rules):
    rules.set_control_rule(ALICE, control_rule(node=NodeRef("N1")))
    decision = rules.can_control(LAMP, d.CanControl(BOB, nodes=(NodeRef("N1"), NodeRef("N2"))))
    assert (decision.answer.result, decision.answer.nodes) == (True, (NodeRef("N1"),))
    assert [a.question.node for a in asks(decision.effects)] == [NodeRef("N2")]


def test_answers_use_the_question_namespace(rules):
    ns = d.NAMESPACES[2]
    assert rules.can_read(LAMP, d.CanRead(BOB, namespace=ns)).answer.namespace == ns


# --- who may set rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.set_read_rule(BOB, read_rule(remote=BOB)),
        lambda r: r.set_control_rule(BOB, control_rule()),
        lambda r: r.set_friend_rule(BOB, p.IsFriendRule(LAMP, BOB, "k", True)),
        lambda r: r.delete_rules(BOB, p.DeleteRules(LAMP)),
        lambda r: r.clear_cache(BOB, p.ClearCache(LAMP)),
        lambda r: r.set_read_rule(ALICE, read_rule(thing="orphan@lab")),
    ],
)
def test_only_the_owner_changes_rules(rules, change):
    rules.set_read_rule(ALICE, read_rule(False))
    with pytest.raises(Forbidden, match="does not own"):
        change(rules)
    assert not rules.can_read(LAMP, d.CanRead(BOB)).answer.result
    assert rules.store.db.execute("SELECT COUNT(*) FROM provisioning_rules").fetchone()[0] == 1


def test_token_rules_are_not_implemented_yet(rules):
    with pytest.raises(StanzaError, match="tokens come later") as caught:
        rules.set_read_rule(ALICE, read_rule(origin=p.Origin(p.OriginKind.SERVICE, "s1")))
    assert caught.value.condition == "feature-not-implemented"


# --- deleting, clearing, listing ---------------------------------------------------------


def test_delete_rules_forgets_them_and_clears_the_cache(rules):
    rules.set_read_rule(ALICE, read_rule())
    assert rules.delete_rules(ALICE, p.DeleteRules(LAMP)) == [ClearCache(LAMP)]
    assert not rules.can_read(LAMP, d.CanRead(BOB)).answer.result
    assert len(rules.questions()) == 1  # asked anew


def test_delete_rules_of_one_node_keeps_the_others(rules):
    rules.set_read_rule(ALICE, read_rule(node=NodeRef("N1")))
    rules.set_read_rule(ALICE, read_rule(node=NodeRef("N2")))
    assert rules.delete_rules(ALICE, p.DeleteRules(LAMP, NodeRef("N1"))) == [ClearCache(LAMP, NodeRef("N1"))]
    answer = rules.can_read(LAMP, d.CanRead(BOB, nodes=(NodeRef("N1"), NodeRef("N2")))).answer
    assert answer.nodes == (NodeRef("N2"),)


def test_clear_cache_targets_one_device_or_all_the_owners(rules):
    rules.store.set_owner("heater@lab", ALICE)
    rules.store.set_owner("fan@lab", BOB)
    assert rules.clear_cache(ALICE, p.ClearCache(LAMP, NodeRef("N1"))) == [ClearCache(LAMP, NodeRef("N1"))]
    assert rules.clear_cache(ALICE + "/laptop", p.ClearCache()) == [ClearCache("heater@lab"), ClearCache(LAMP)]


def test_rules_clear_the_cache_of_their_node(rules):
    assert rules.set_control_rule(ALICE, control_rule(node=NodeRef("N1"))) == [ClearCache(LAMP, NodeRef("N1"))]


def test_get_devices_pages(rules):
    things = [*(f"t{i:02}@lab" for i in range(7)), LAMP]
    for thing in things:
        rules.store.set_owner(thing, ALICE)
    first = rules.devices(ALICE, p.GetDevices(0, 5))
    second = rules.devices(ALICE, p.GetDevices(5, 5))
    assert first.more and not second.more
    assert [f.jid for f in first.devices + second.devices] == sorted(things)
    assert {f.owner for f in first.devices} == {ALICE}
    assert rules.devices(BOB, p.GetDevices()).devices == ()


def test_get_devices_caps_the_page(rules):
    for i in range(p.MAX_DEVICES_PAGE + 1):
        rules.store.set_owner(f"t{i:03}@lab", CAROL)
    page = rules.devices(CAROL, p.GetDevices(max_count=10**6))
    assert (len(page.devices), page.more) == (p.MAX_DEVICES_PAGE, True)


# --- friendship recommendations ----------------------------------------------------------


def test_allowing_a_refused_caller_recommends_friendship(rules):
    assert not rules.is_friend(LAMP, d.IsFriend(BOB)).answer.result
    effects = rules.set_friend_rule(ALICE, p.IsFriendRule(LAMP, BOB, "k", True))
    assert effects == [ClearCache(LAMP), Recommend(LAMP, BOB, True)]
    assert rules.set_friend_rule(ALICE, p.IsFriendRule(LAMP, BOB, "k", True)) == [ClearCache(LAMP)]


def test_refusing_a_friend_recommends_unfriending(rules):
    rules.set_friend_rule(ALICE, p.IsFriendRule(LAMP, CAROL, "k", True, p.RuleRange.DOMAIN))
    assert rules.is_friend(LAMP, d.IsFriend(BOB)).answer.result
    assert rules.is_friend(LAMP, d.IsFriend(ALICE)).answer.result
    effects = rules.set_friend_rule(ALICE, p.IsFriendRule(LAMP, BOB, "k", False))
    assert effects == [ClearCache(LAMP), Recommend(LAMP, BOB, False)]  # never the owner


# --- reaching devices ----------------------------------------------------------------------


def test_where_a_device_asks_from_and_whether_it_missed_a_clear(rules):
    assert rules.address(LAMP) is None
    assert not rules.seen(LAMP + "/r1")
    assert rules.address(LAMP) == LAMP + "/r1"
    rules.stale(LAMP)
    assert rules.seen(LAMP + "/r2")
    assert rules.address(LAMP) == LAMP + "/r2"
    rules.stale(LAMP, False)
    assert not rules.seen(LAMP + "/r2")


# --- the narrowing itself -------------------------------------------------------------------


def test_narrowing():
    assert narrow_read(("a", "b"), Category(0), None) == (("a", "b"), Category(0))
    assert narrow_read((), Category.ALL, p.ReadPartial(("a",))) == (("a",), Category.ALL)
    assert narrow_read(("b",), Category(0), p.ReadPartial(("a",))) is None
    assert narrow_control(("x", "y"), ("y", "z")) == ("y",)
    assert narrow_control(("x",), ("y",)) is None
    assert narrow_control((), None) == ()
