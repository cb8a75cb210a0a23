"""The lab's thing registry over the wire: the specification's own examples, then every operation.

Two kinds of peers, on the real lab server. Raw slixmpp clients (no xiotlab on
their side) send the examples of ``Discovery.md`` to ``registry.<domain>`` as
the page writes them, with its JIDs, keys and serial numbers swapped for this
lab's and this test's; every answer and every notice the registry sends is
validated against ``Discovery.xsd``. Then xiotlab's own ``Thing`` and
``Owner`` go through each operation, and bad input is shown to get the error
and change nothing.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import XmppError
from xiotlab.protocol import registry as r
from xiotlab.protocol.namespaces import DISCOVERY
from xiotlab.runtime import network

from ..protocol.schema import assert_valid, schema, specs_dir
from ..waiting import eventually
from . import plugin_peers
from .raw_peer import NF_DISCOVERY, condition, ok

_BLOCK = re.compile(r"```xml:?([^\n]*)\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def nfi(tmp_path_factory):
    return schema(tmp_path_factory)


def valid(nfi, element: ET.Element | None) -> ET.Element:
    assert element is not None, "expected a payload, got an empty answer"
    assert_valid(nfi, element)
    return element


# --- the page's examples, adapted to this lab ------------------------------------------------------


@pytest.fixture(scope="module")
def page():
    if not (specs_dir() / "Discovery.md").exists():
        pytest.skip(f"specifications not found at {specs_dir()}")
    text = (specs_dir() / "Discovery.md").read_text(encoding="utf-8-sig")
    return {title.strip(): body for title, body in _BLOCK.findall(text)}


class Example:
    """The page's requests with this test's parties: ``example("Register Thing")`` -> the payload to send."""

    def __init__(self, page: dict[str, str], lab, **jids: str) -> None:
        self.page = page
        unique = uuid.uuid4().int % 10**10
        self.swaps = {
            "3453485763440213840928": r.new_key(),  # the page's KEY: every test its own
            "98734238472634": f"9873{unique:010d}",  # its serial number, which the search masks with 9873*
            "www.example.org": f"www.{uuid.uuid4().hex[:8]}.example",  # its manufacturer
            "discovery.example.org": lab.registry,
            **{f"{who}@example.org": jid for who, jid in jids.items()},
        }

    def text(self, title: str) -> str:
        body = self.page[title]
        for old, new in self.swaps.items():
            body = body.replace(old, new)
        return body

    def __call__(self, title: str, index: int = 0) -> ET.Element:
        """The payload of the ``index``-th stanza of the example ``title``."""
        root = ET.fromstring(f"<root xmlns='jabber:client'>{self.text(title)}</root>")
        stanza = list(root)[index]
        return next(iter(stanza))

    @property
    def key(self) -> str:
        return self.swaps["3453485763440213840928"]

    @property
    def man(self) -> str:
        return self.swaps["www.example.org"]


def test_the_pages_life_of_a_thing_over_the_wire(lab, raw, page, nfi):
    thing, owner, curious = raw("thing"), raw("owner"), raw("curious")
    example = Example(page, lab, thing=thing.jid, owner=owner.jid, curious=curious.jid)

    # Register Thing: an empty result.
    assert ok(thing.send(lab.registry, example("Register Thing"))) is None

    # Claim Ownership of public Thing: <claimed jid=thing>; the thing is told, by iq, who owns it.
    claimed = valid(nfi, ok(owner.send(lab.registry, example("Claim Ownership of public Thing"))))
    assert claimed.tag == f"{{{DISCOVERY}}}claimed" and claimed.get("jid") == thing.jid
    assert eventually(lambda: thing.notice("claimed"))
    told = valid(nfi, thing.notice("claimed")[0])
    assert told.get("jid") == owner.jid and told.get("public") in (None, "true")

    # Registration response when already claimed: <claimed jid=owner>.
    again = valid(nfi, ok(thing.send(lab.registry, example("Register Thing"))))
    assert again.tag == f"{{{DISCOVERY}}}claimed" and again.get("jid") == owner.jid

    # A claim of the same code again finds nothing: the KEY is gone with the first claim.
    assert condition(owner.send(lab.registry, example("Claim Ownership of public Thing"))) == "item-not-found"

    # Update Meta Data request (the thing) and Owner requests an update (its owner): empty results.
    assert ok(thing.send(lab.registry, example("Update Meta Data request"))) is None
    assert ok(owner.send(lab.registry, example("Owner requests an update of Meta Data of Thing"))) is None

    # Searching for Things: the page's six conditions find it, with every tag but KEY.
    found = valid(nfi, ok(curious.send(lab.registry, example("Searching for Things"), "get")))
    assert found.tag == f"{{{DISCOVERY}}}found"
    mine = [t for t in found if t.get("jid") == thing.jid]
    assert len(mine) == 1, ET.tostring(found, encoding="unicode")
    tags = {tag.get("name"): tag.get("value") for tag in mine[0]}
    assert tags["MAN"] == example.man and tags["CLASS"] == "PLC" and tags["ROOM"] == "..."
    assert float(tags["LON"]) == -71.519722 and "KEY" not in tags
    assert example.key not in ET.tostring(found, encoding="unicode")

    # Remove Thing: empty result; the thing is told (Thing removed from registry by owner); no longer found.
    assert ok(owner.send(lab.registry, example("Remove Thing"))) is None
    assert eventually(lambda: thing.notice("removed"))
    valid(nfi, thing.notice("removed")[0])
    found = ok(curious.send(lab.registry, example("Searching for Things"), "get"))
    assert not [t for t in found if t.get("jid") == thing.jid]

    # Removal failure, and Update Meta Data request failure: item-not-found.
    assert condition(owner.send(lab.registry, example("Remove Thing"))) == "item-not-found"
    assert condition(thing.send(lab.registry, example("Update Meta Data request"))) == "item-not-found"

    # Unregister Thing: an empty result, also for a thing the registry no longer has.
    assert ok(thing.send(lab.registry, example("Unregister Thing"))) is None


def test_the_pages_disowning_over_the_wire(lab, raw, page, nfi):
    thing, owner, other = raw("thing"), raw("owner"), raw("other")
    example = Example(page, lab, thing=thing.jid, owner=owner.jid)
    ok(thing.send(lab.registry, example("Register Thing")))
    ok(owner.send(lab.registry, example("Claim Ownership of private Thing")))
    assert eventually(lambda: thing.notice("claimed"))
    assert valid(nfi, thing.notice("claimed")[0]).get("public") == "false"

    # Someone else may not disown it: item-not-found, as for a thing that does not exist.
    assert condition(other.send(lab.registry, example("Disowning Thing"))) == "item-not-found"

    # A thing that refuses to acknowledge stays owned: not-allowed.
    thing.refuse = True
    assert condition(owner.send(lab.registry, example("Disowning Thing"))) == "not-allowed"
    assert valid(nfi, ok(thing.send(lab.registry, example("Register Thing")))).get("jid") == owner.jid

    # Acknowledged: disowned. Its next update gets <disowned/>, as the page says.
    thing.refuse = False
    assert ok(owner.send(lab.registry, example("Disowning Thing"))) is None
    assert len(thing.notice("disowned")) == 2
    valid(nfi, thing.notice("disowned")[-1])
    answer = valid(nfi, ok(thing.send(lab.registry, example("Update Meta Data request"))))
    assert answer.tag == f"{{{DISCOVERY}}}disowned"

    # The old owner has no claim on it any more, and the old code no longer claims it.
    assert condition(owner.send(lab.registry, example("Disowning Thing"))) == "item-not-found"
    assert condition(other.send(lab.registry, example("Claim Ownership of public Thing"))) == "item-not-found"

    # Registering anew (the thing makes a new KEY), another owner claims it.
    fresh = Example(page, lab, thing=thing.jid, owner=other.jid)
    assert ok(thing.send(lab.registry, fresh("Register Thing"))) is None
    claimed = valid(nfi, ok(other.send(lab.registry, fresh("Claim Ownership of public Thing"))))
    assert claimed.get("jid") == thing.jid
    assert eventually(lambda: any(n.get("jid") == other.jid for n in thing.notice("claimed")))


def test_disowning_an_offline_thing_is_not_allowed(lab, raw, page, nfi):
    thing, owner = raw("thing"), raw("owner")
    example = Example(page, lab, thing=thing.jid, owner=owner.jid)
    ok(thing.send(lab.registry, example("Register Thing")))
    ok(owner.send(lab.registry, example("Claim Ownership of public Thing")))
    network.run(plugin_peers.disconnect(thing.xmpp))
    answer = owner.send(lab.registry, example("Disowning Thing"))
    assert condition(answer) == "not-allowed"  # Failure to disown Thing - Offline
    # Still the owner's: removing it works.
    assert ok(owner.send(lab.registry, example("Remove Thing"))) is None


def test_the_pages_self_owned_and_concentrator_examples(lab, raw, page, nfi):
    thing, rack, owner, curious = raw("thing"), raw("rack"), raw("owner"), raw("curious")
    example = Example(page, lab, thing=thing.jid, owner=owner.jid)

    # Register self-owned Thing: public at once, owned by itself, its KEY dropped.
    assert ok(thing.send(lab.registry, example("Register self-owned Thing"))) is None
    by_man = f"<search xmlns='{DISCOVERY}'><strEq name='MAN' value='{example.man}'/></search>"
    found = valid(nfi, ok(curious.send(lab.registry, by_man, "get")))
    mine = [t for t in found if t.get("jid") == thing.jid]
    assert len(mine) == 1 and "KEY" not in {tag.get("name") for tag in mine[0]}
    assert condition(owner.send(lab.registry, example("Claim Ownership of public Thing"))) == "item-not-found"

    # Register Thing behind Concentrator (rack@.../plcs), claimed with its node address.
    behind = Example(page, lab, rack=rack.jid, owner=owner.jid)
    assert ok(rack.send(lab.registry, behind("Register Thing behind Concentrator"))) is None
    claimed = valid(nfi, ok(owner.send(lab.registry, behind("Claim Ownership of public Thing"))))
    assert (claimed.get("jid"), claimed.get("id"), claimed.get("src")) == (rack.jid, "plc1", "MeteringTopology")
    assert eventually(lambda: rack.notice("claimed"))
    told = valid(nfi, rack.notice("claimed")[0])
    assert (told.get("jid"), told.get("id"), told.get("src")) == (owner.jid, "plc1", "MeteringTopology")
    assert ok(rack.send(lab.registry, behind("Update Meta Data of Thing behind concentrator"))) is None
    owner_update = behind.text("Owner requests an update of Meta Data of Thing behind concentrator")
    owner_update = owner_update.replace("rack@example.org", rack.jid)
    element = next(iter(ET.fromstring(f"<root xmlns='jabber:client'>{owner_update}</root>")[0]))
    assert ok(owner.send(lab.registry, element)) is None
    found = valid(nfi, ok(curious.send(lab.registry, behind("Searching for Things"), "get")))
    things = [t for t in found if t.get("jid") == rack.jid]
    assert len(things) == 1 and things[0].get("id") == "plc1" and things[0].get("src") == "MeteringTopology"
    assert {tag.get("name") for tag in things[0]} >= {"CLASS", "ROOM", "SN"}
    remove = f"<remove xmlns='{DISCOVERY}' jid='{rack.jid}' id='plc1' src='MeteringTopology'/>"
    assert ok(owner.send(lab.registry, remove)) is None
    assert eventually(lambda: rack.notice("removed"))
    assert valid(nfi, rack.notice("removed")[0]).get("id") == "plc1"


def test_the_service_is_found_by_discovery_on_the_domain(lab, raw):
    client = raw("client")
    items = ok(client.send(lab.domain, "<query xmlns='http://jabber.org/protocol/disco#items'/>", "get"))
    assert items is not None and lab.registry in {item.get("jid") for item in items}
    info = ok(client.send(lab.registry, "<query xmlns='http://jabber.org/protocol/disco#info'/>", "get"))
    assert info is not None
    features = {f.get("var") for f in info if f.tag.endswith("}feature")}
    assert DISCOVERY in features and NF_DISCOVERY in features


def test_the_nf_names_of_the_protocol_are_accepted_and_answered_in(lab, raw, page, nfi):
    thing, owner = raw("thing"), raw("owner")
    example = Example(page, lab, thing=thing.jid, owner=owner.jid)

    def nf(title: str) -> str:
        return ET.tostring(example(title), encoding="unicode").replace(DISCOVERY, NF_DISCOVERY)

    assert ok(thing.send(lab.registry, nf("Register Thing"))) is None
    claimed = ok(owner.send(lab.registry, nf("Claim Ownership of public Thing")))
    assert claimed is not None and claimed.tag == f"{{{NF_DISCOVERY}}}claimed" and claimed.get("jid") == thing.jid
    assert eventually(lambda: thing.notice("claimed"))
    assert thing.notice("claimed")[0].tag == f"{{{NF_DISCOVERY}}}claimed"  # notices in the thing's own dialect
    search = f"<search xmlns='{NF_DISCOVERY}'><strEq name='MAN' value='{example.man}'/></search>"
    found = ok(owner.send(lab.registry, search, "get"))
    assert found is not None and found.tag == f"{{{NF_DISCOVERY}}}found"
    assert thing.jid in {t.get("jid") for t in found}


# --- every operation through xiotlab ---------------------------------------------------------------


@pytest.fixture
def fresh(online, name):
    """``fresh(**tags)`` -> a factory-fresh thing online with ``tags`` (and a temperature and humidity)."""

    def make(**tags) -> Thing:
        thing = online(Thing, name("therm"), tags=tags)
        assert eventually(lambda: thing.registered), "the thing did not register"
        return thing

    return make


@pytest.fixture
def alice(online, name) -> Owner:
    return online(Owner, name("alice"))


def test_a_thing_registers_and_its_owner_claims_it(fresh, alice, lab):
    thing = fresh(MAN="Acme", MODEL="Therm1", SN=uuid.uuid4().hex[:8], V=1.2)
    assert thing.registry == lab.registry and thing.owner is None
    assert thing.claim_uri.startswith("iotdisco:") and f"R={lab.registry}" in thing.claim_uri
    assert alice.claim(thing.claim_uri) == thing.jid
    assert thing.owner == alice.jid
    assert alice.roster[thing.jid].friend
    assert eventually(lambda: alice.jid in thing.roster and thing.roster[alice.jid].friend)
    assert alice.devices() == [thing.jid]
    assert "KEY" not in alice.search(f"SN={thing.claim_uri.split('SN=')[1].split(';')[0]}")[0].tags


def test_a_claim_uri_claims_once(fresh, alice, online, name):
    thing = fresh(MAN="Acme", SN=uuid.uuid4().hex)
    alice.claim(thing.claim_uri)
    bob = online(Owner, name("bob"))
    with pytest.raises(XmppError, match=r"item-not-found|no unclaimed thing"):
        bob.claim(thing.claim_uri)
    assert thing.owner == alice.jid and bob.devices() == []


def test_a_wrong_key_claims_nothing(fresh, alice):
    thing = fresh(MAN="Acme", SN=uuid.uuid4().hex)
    wrong = re.sub(r"KEY=[^;]*", f"KEY={r.new_key()}", thing.claim_uri)
    with pytest.raises(XmppError, match=r"item-not-found|no unclaimed thing"):
        alice.claim(wrong)
    assert thing.owner is None and alice.devices() == []
    assert alice.claim(thing.claim_uri) == thing.jid  # the right code still claims it


def test_a_claim_with_a_missing_tag_claims_nothing(fresh, alice):
    thing = fresh(MAN="Acme", MODEL="Therm1", SN=uuid.uuid4().hex)
    partial = re.sub(r"MODEL=[^;]*;", "", thing.claim_uri)
    with pytest.raises(XmppError):
        alice.claim(partial)
    assert thing.owner is None


@pytest.fixture
def catalogue(lab, raw, alice):
    """Six public things of one unique manufacturer, registered by one concentrator and claimed by alice.

    Node ``n0``..``n5`` with MODEL ``Therm0``..``Therm5``, numeric V 0.5, 1.0, ... 3.0, SN ``s0``..``s5``.
    """
    rack = raw("rack")
    man = f"Acme-{uuid.uuid4().hex[:8]}"
    for i in range(6):
        tags = (r.Tag("MAN", man), r.Tag("MODEL", f"Therm{i}"), r.Tag("SN", f"s{i}"), r.Tag("V", 0.5 * (i + 1)))
        key = r.Tag(r.KEY, r.new_key())
        node = r.NodeAddress(f"n{i}")
        ok(rack.send(lab.registry, r.build_register(r.Register((*tags, key), node))))
        answer = network.run(alice.asend_iq(lab.registry, r.build_mine(r.Mine((*tags, key), node=node)), "set"))
        assert answer is not None and r.parse_claimed(answer).node == node
    return man, rack


def _models(result) -> list[str]:
    return sorted(entry.tags["MODEL"] for entry in result)


@pytest.mark.parametrize(
    ("query", "models"),
    [
        ("MODEL=Therm2", [2]),
        ("MODEL<>Therm2", [0, 1, 3, 4, 5]),
        ("MODEL>Therm3", [4, 5]),
        ("MODEL>=Therm3", [3, 4, 5]),
        ("MODEL<Therm2", [0, 1]),
        ("MODEL<=Therm2", [0, 1, 2]),
        ("MODEL>=Therm1;MODEL<Therm3", [1, 2]),
        ("MODEL~*Therm*[14]*", []),  # a mask's only special character is its wildcard
        ("MODEL~*Therm?", []),
        ("SN~*s*", [0, 1, 2, 3, 4, 5]),
        ("#V=1.5", [2]),
        ("#V<>1.5", [0, 1, 3, 4, 5]),
        ("#V>2", [4, 5]),
        ("#V>=2", [3, 4, 5]),
        ("#V<1", [0]),
        ("#V<=1", [0, 1]),
        ("#V>=1;#V<2", [1, 2]),
        ("#V<1;#V>2.5", [0, 5]),  # no value between the bounds: outside the range
        ("therm3", [3]),  # keywords: any string tag containing the word, any case
    ],
)
def test_search_operators_over_the_wire(catalogue, alice, query, models):
    man, _ = catalogue
    found = alice.search(f"MAN={man};{query}")
    assert _models(found) == [f"Therm{i}" for i in models]
    assert all("KEY" not in entry.tags and entry.tags["MAN"] == man for entry in found)


@pytest.mark.parametrize(
    ("operator", "models"),
    [
        ("<strEq name='MODEL' value='Therm4'/>", [4]),
        ("<strNEq name='MODEL' value='Therm4'/>", [0, 1, 2, 3, 5]),
        ("<strGt name='MODEL' value='Therm4'/>", [5]),
        ("<strGtEq name='MODEL' value='Therm4'/>", [4, 5]),
        ("<strLt name='MODEL' value='Therm1'/>", [0]),
        ("<strLtEq name='MODEL' value='Therm1'/>", [0, 1]),
        ("<strRange name='MODEL' min='Therm1' minIncluded='false' max='Therm3' maxIncluded='true'/>", [2, 3]),
        ("<strNRange name='MODEL' min='Therm1' minIncluded='true' max='Therm4' maxIncluded='true'/>", [0, 5]),
        ("<strMask name='MODEL' value='Th*m3' wildcard='*'/>", [3]),
        ("<strRegEx name='MODEL' value='Therm[24]'/>", [2, 4]),
        ("<strEq name='MOD*' nameWildcard='*' value='Therm0'/>", [0]),
        ("<numEq name='V' value='3'/>", [5]),
        ("<numNEq name='V' value='3'/>", [0, 1, 2, 3, 4]),
        ("<numGt name='V' value='2.5'/>", [5]),
        ("<numGtEq name='V' value='2.5'/>", [4, 5]),
        ("<numLt name='V' value='1'/>", [0]),
        ("<numLtEq name='V' value='1'/>", [0, 1]),
        ("<numRange name='V' min='1' minIncluded='true' max='2' maxIncluded='false'/>", [1, 2]),
        ("<numNRange name='V' min='1' minIncluded='false' max='2.5' maxIncluded='false'/>", [0, 1, 4, 5]),
        ("<strEq name='KEY' value='x'/>", []),
        ("<strMask name='KEY' value='*' wildcard='*'/>", []),  # KEY is never searched
    ],
)
def test_every_operator_element_of_the_page(catalogue, raw, lab, nfi, operator, models):
    man, _ = catalogue
    curious = raw("curious")
    search = f"<search xmlns='{DISCOVERY}'><strEq name='MAN' value='{man}'/>{operator}</search>"
    valid(nfi, ET.fromstring(search))
    found = valid(nfi, ok(curious.send(lab.registry, search, "get")))
    seen = sorted(next(t.get("value") for t in thing if t.get("name") == "MODEL") for thing in found)
    assert seen == [f"Therm{i}" for i in models]
    assert found.get("more") in (None, "false")


def test_offset_max_count_and_more(catalogue, raw, lab, nfi):
    man, _ = catalogue
    curious = raw("curious")

    def page(offset: int, count: int) -> tuple[list[str], bool]:
        search = (
            f"<search xmlns='{DISCOVERY}' offset='{offset}' maxCount='{count}'>"
            f"<strEq name='MAN' value='{man}'/></search>"
        )
        found = valid(nfi, ok(curious.send(lab.registry, search, "get")))
        ids = [thing.get("id") for thing in found]
        return ids, found.get("more") == "true"

    first, more = page(0, 4)
    assert len(first) == 4 and more
    rest, more = page(4, 4)
    assert len(rest) == 2 and not more
    assert sorted(first + rest) == [f"n{i}" for i in range(6)]
    assert page(6, 4) == ([], False)
    exact, more = page(2, 4)
    assert exact == first[2:] + rest and not more


def test_an_owners_update_and_remove_and_a_things_unregister(fresh, alice, online, name):
    thing = fresh(MAN="Acme", SN=uuid.uuid4().hex, V=1.0)
    sn = thing.claim_uri.split("SN=")[1].split(";")[0]
    alice.claim(thing.claim_uri)
    update = r.build_update(r.Update((r.Tag("ROOM", "lab 3"), r.Tag("V", ""), r.Tag("W", 2.0)), jid=thing.jid))
    alice.send_iq(thing.registry, update, "set")
    (entry,) = alice.search(f"SN={sn}")
    assert entry.tags == {"MAN": "Acme", "SN": sn, "ROOM": "lab 3", "W": 2.0}

    bob = online(Owner, name("bob"))
    with pytest.raises(XmppError, match=r"item-not-found|no thing of yours"):
        bob.remove(thing.jid)
    assert len(alice.search(f"SN={sn}")) == 1

    alice.remove(thing.jid)
    assert eventually(lambda: not thing.registered), "the thing was not told it was removed"
    assert alice.search(f"SN={sn}") == []
    assert thing.owner == alice.jid, "removed from the registry, still alice's"

    thing.send_iq(thing.registry, r.build_unregister(r.Unregister()), "set")  # anyone may leave, even twice


def test_disowning_through_the_api(fresh, alice, online, name):
    thing = fresh(MAN="Acme", SN=uuid.uuid4().hex)
    alice.claim(thing.claim_uri)
    bob = online(Owner, name("bob"))
    with pytest.raises(XmppError, match=r"item-not-found|no thing of yours"):
        bob.disown(thing.jid)
    assert thing.owner == alice.jid

    alice.disown(thing.jid)
    assert thing.owner is None, "the thing acknowledged, so it has forgotten its owner"
    assert eventually(lambda: alice.jid not in thing.roster or not thing.roster[alice.jid].friend)
    assert alice.devices() == []

    # The thing registers again (as it does each time it comes online); a new owner claims it.
    network.run(thing._registration.register_now(5))
    assert bob.claim(thing.claim_uri) == thing.jid
    assert thing.owner == bob.jid and bob.devices() == [thing.jid]


# --- bad input: the error, and nothing changed ------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "why"),
    [
        ("<str name='A:B' value='x'/>", "colon"),
        ("<str name='A B' value='x'/>", "white space"),
        ("<str name='A#B' value='x'/>", "hash"),
        (f"<str name='{'N' * 65}' value='x'/>", "name over 64"),
        (f"<str name='LONG' value='{'v' * 129}'/>", "value over 128"),
        ("<num name='V' value='one'/>", "not a number"),
    ],
)
def test_bad_tags_are_refused_and_nothing_is_registered(lab, raw, alice, tag, why):
    thing = raw("thing")
    key, sn = r.new_key(), uuid.uuid4().hex
    register = (
        f"<register xmlns='{DISCOVERY}'><str name='SN' value='{sn}'/>{tag}<str name='KEY' value='{key}'/></register>"
    )
    answer = thing.send(lab.registry, register)
    assert condition(answer) == "bad-request", why
    mine = f"<mine xmlns='{DISCOVERY}'><str name='SN' value='{sn}'/><str name='KEY' value='{key}'/></mine>"
    assert condition(thing.send(lab.registry, mine)) == "item-not-found", "nothing was registered"
    update = f"<update xmlns='{DISCOVERY}'>{tag}</update>"
    assert condition(thing.send(lab.registry, update)) in ("bad-request", "item-not-found")


def test_the_longest_tags_are_fine(lab, raw):
    thing, owner = raw("thing"), raw("owner")
    key, name_, value = r.new_key(), "N" * 64, "v" * 128
    tags = f"<str name='{name_}' value='{value}'/><str name='KEY' value='{key}'/>"
    assert ok(thing.send(lab.registry, f"<register xmlns='{DISCOVERY}'>{tags}</register>")) is None
    claimed = ok(owner.send(lab.registry, f"<mine xmlns='{DISCOVERY}'>{tags}</mine>"))
    assert claimed is not None and claimed.get("jid") == thing.jid


def test_a_bad_update_changes_nothing(fresh, alice, lab):
    thing = fresh(MAN="Acme", SN=uuid.uuid4().hex)
    sn = thing.claim_uri.split("SN=")[1].split(";")[0]
    alice.claim(thing.claim_uri)
    bad = (
        f"<update xmlns='{DISCOVERY}' jid='{thing.jid}'><str name='ROOM' value='3'/>"
        f"<str name='BAD:NAME' value='x'/></update>"
    )
    with pytest.raises(XmppError, match=r"bad-request|colon|':'"):
        alice.send_iq(lab.registry, bad, "set")
    assert alice.search(f"SN={sn}")[0].tags == {"MAN": "Acme", "SN": sn}, "half an update was kept"
    too_long = r.build_update(r.Update((r.Tag("ROOM", "x"),), jid=thing.jid))
    too_long[0].set("value", "x" * 129)
    with pytest.raises(XmppError, match=r"bad-request|128"):
        alice.send_iq(lab.registry, too_long, "set")
    assert alice.search(f"SN={sn}")[0].tags == {"MAN": "Acme", "SN": sn}


def test_a_registration_without_a_key_is_refused(lab, raw):
    thing = raw("thing")
    answer = thing.send(lab.registry, f"<register xmlns='{DISCOVERY}'><str name='SN' value='1'/></register>")
    assert condition(answer) == "bad-request"


def test_a_runaway_regex_is_refused(lab, raw):
    curious = raw("curious")
    search = f"<search xmlns='{DISCOVERY}'><strRegEx name='MODEL' value='(a+)+b'/></search>"
    assert condition(curious.send(lab.registry, search, "get")) == "bad-request"


def test_notices_from_someone_else_than_the_registry_are_refused(fresh, alice, online, name):
    thing = fresh(MAN="Acme", SN=uuid.uuid4().hex)
    alice.claim(thing.claim_uri)
    mallory = online(Owner, name("mallory"))
    for forged in (
        r.build_claimed(r.Claimed(mallory.jid)),
        r.build_disowned(r.Disowned()),
        r.build_removed(r.Removed()),
    ):
        with pytest.raises(XmppError, match=r"forbidden|Only the registry"):
            mallory.send_iq(thing.full_jid, forged, "set")
    assert thing.owner == alice.jid and thing.registered
