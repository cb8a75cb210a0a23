"""The registry and provisioning magics: claim, search, decide read and control requests in part."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from xiotlab import Owner
from xiotlab.errors import Forbidden, ParameterError, Rejected
from xiotlab.faces.magics import XmppMagics
from xiotlab.faces.session import parse_tags
from xiotlab.roles.claim_code import ClaimCode
from xiotlab.roles.claiming import SearchResult

from ..waiting import eventually
from .test_magics import session, xmpp

THERMOMETER = """
thing.sensor("temperature", unit="°C")(lambda: 21.5)
thing.sensor("humidity", unit="%")(lambda: 40.0)

@thing.control("on", type=bool, value=False)
def switch(on):
    pass
"""


@pytest.fixture
def ip(lab):
    """An IPython shell with the extension loaded and its session on the test lab."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xiotlab")
    shell.magics_manager.registry["XmppMagics"].session.lab = lab
    yield shell
    session(shell).disconnect_all()
    shell.run_line_magic("unload_ext", "xiotlab")


@pytest.fixture
def offline(tmp_path):
    return XmppMagics(InteractiveShell.instance(), home=str(tmp_path))


def unowned(ip, name, serial):
    """A `%%thing` made with tags: registered, nobody's yet."""
    return ip.run_cell_magic("thing", f"{name} --tags MAN=Acme,MODEL=T1,SN={serial},#V=1.5", THERMOMETER)


def claimed(ip, name):
    """Alice online in the session and a thermometer of the session she claimed with the magic."""
    alice = xmpp(ip, f"connect {name('alice')} --as owner")
    thing = unowned(ip, name("thermo"), name("sn"))
    assert xmpp(ip, f"claim {thing.claim_uri}") == thing.jid
    return alice, thing


def refused(call, *args, **kwargs) -> bool:
    try:
        call(*args, **kwargs)
    except (Forbidden, ParameterError):
        return True
    return False


def test_tags_are_name_value_pairs_and_a_hash_makes_a_number():
    assert parse_tags("MAN=Acme,MODEL=T 1;SN=42,#V=1.5") == {"MAN": "Acme", "MODEL": "T 1", "SN": "42", "V": 1.5}
    for wrong, said in (("MAN", "NAME=VALUE"), ("#V=new", "makes a number"), (",", "at least one tag")):
        with pytest.raises(ValueError, match=said):
            parse_tags(wrong)


def test_registry_commands_show_in_help_and_complete(offline, capsys):
    offline.xmpp("help")
    out = capsys.readouterr().out
    for usage in (
        "%xmpp claim [--private] URI",
        "%xmpp search QUERY",
        "%xmpp devices",
        "%xmpp disown JID",
        "%xmpp remove JID",
        "%xmpp delete-rules [JID]",
        "%xmpp clear-cache [JID]",
        "%xmpp qr NAME",
        "[--kind {friend,read,control}] [--thing THING] [--fields A,B] [--parameters P,Q] JID",
        "[--tags MAN=Acme,#V=1.0] NAME",
    ):
        assert usage in out
    assert offline.complete("de", "%xmpp de") == ["devices", "delete-rules"]
    assert offline.complete("--f", "%xmpp approve bob --f") == ["--fields"]
    assert offline.complete("r", "%xmpp approve bob --kind r") == ["read"]
    assert offline.complete("--", "%xmpp reject bob --") == ["--range", "--kind", "--thing"]


def test_a_claim_uri_and_a_search_reach_the_owner_as_typed(offline, monkeypatch):
    """Quotes, backslashes, `#` and spaces of a URI are not shell words: the rest of the line is taken whole."""
    seen = []
    monkeypatch.setattr(offline, "_claim", lambda args: seen.append((args.uri, args.private)))
    monkeypatch.setattr(offline, "_search", lambda args: seen.append(args.query))
    offline.xmpp(r"claim iotdisco:MODEL=O'Brien 2;#V=1;KEY=a\;b --private")
    offline.xmpp("claim 'iotdisco:SN=1;KEY=k'")
    offline.xmpp("search   thermometer  acme ")
    offline.xmpp("search MAN=Acme;#V>=1.0")
    assert seen == [
        (r"iotdisco:MODEL=O'Brien 2;#V=1;KEY=a\;b", True),
        ("iotdisco:SN=1;KEY=k", False),
        "thermometer  acme",
        "MAN=Acme;#V>=1.0",
    ]
    with pytest.raises(UsageError, match="required: URI"):
        offline.xmpp("claim --private")


def test_a_tagged_cell_thing_is_unowned_shows_its_code_and_a_magic_claims_it(ip, name, capsys):
    alice = xmpp(ip, f"connect {name('alice')} --as owner")
    thermo, serial = name("thermo"), name("sn")
    thing = unowned(ip, thermo, serial)
    assert thing.owner is None and thing.registered
    assert f"`%xmpp qr {thermo}` shows the code" in capsys.readouterr().out
    code = xmpp(ip, f"qr {thermo}")
    assert isinstance(code, ClaimCode) and code.uri == thing.claim_uri and "#V=1.5" in code.uri
    assert "<svg" in code._repr_html_()

    # Through the cell transformer, as a learner types it: `#` and `;` reach the magic.
    ip.run_cell(f"claimed = %xmpp claim {code.uri}")
    assert ip.user_ns["claimed"] == thing.jid
    assert thing.owner == alice.jid and alice.roster[thing.jid].friend
    assert eventually(lambda: alice.jid in thing.roster and thing.roster[alice.jid].friend)
    assert xmpp(ip, "devices") == [thing.jid]
    with pytest.raises(UsageError, match="StanzaError"):
        xmpp(ip, f"claim {code.uri}")  # claimed already: the registry says so, in one line

    ip.run_cell(f"found = %xmpp search SN={serial};#V>=1.0")
    found = ip.user_ns["found"]
    assert isinstance(found, SearchResult) and [e.jid for e in found] == [thing.jid]
    assert found[0].tags["V"] == 1.5 and "<table>" in found._repr_html_()
    assert xmpp(ip, f"search SN={serial};#V>=2") == []
    assert [e.jid for e in xmpp(ip, f"search acme {serial}")] == [thing.jid]

    # Running the cell again keeps the thing as it is (unowned-made, now claimed).
    assert unowned(ip, thermo, serial) is thing and thing.owner == alice.jid


def test_remove_and_disown_from_magics(ip, name, capsys):
    alice = xmpp(ip, f"connect {name('alice')} --as owner")
    kept, given_up = (unowned(ip, name("thermo"), serial) for serial in (name("sn"), name("sn")))
    for thing in (kept, given_up):
        xmpp(ip, f"claim {thing.claim_uri}")
    assert sorted(xmpp(ip, "devices")) == sorted([kept.jid, given_up.jid])

    xmpp(ip, f"remove {kept.jid}")
    assert "still yours" in capsys.readouterr().out
    serial = next(tag for tag in kept.claim_uri.split(";") if tag.startswith("SN="))
    assert xmpp(ip, f"search {serial}") == [] and not kept.registered
    assert kept.owner == alice.jid

    xmpp(ip, f"disown {given_up.jid}")
    assert "no longer yours" in capsys.readouterr().out
    assert eventually(lambda: given_up.owner is None)
    assert xmpp(ip, "devices") == [kept.jid]
    with pytest.raises(UsageError, match="StanzaError"):
        xmpp(ip, f"disown {given_up.jid}")  # not hers any more: the registry's error, in one line


def test_a_stranger_reads_only_the_fields_approved_with_the_magic(ip, lab, name, online, capsys):
    alice, thing = claimed(ip, name)
    bob = online(Owner, name("bob"))
    with pytest.raises(Rejected):
        bob.befriend(thing.jid)  # an unknown question is denied at once; the owner is asked
    assert eventually(lambda: len(xmpp(ip, "requests")) == 1)
    with pytest.raises(UsageError, match=r"--fields is for a read request; .* asks to befriend") as error:
        xmpp(ip, f"approve {bob.jid} --fields temperature")
    assert "\n" not in str(error.value)
    xmpp(ip, f"approve {bob.jid.split('@')[0]} --kind friend")
    assert bob.befriend(thing.jid).friend

    assert refused(bob.read, thing.jid, ["temperature", "humidity"])
    assert eventually(lambda: session(ip).current.requests.find(bob.jid, kind="read"))
    with pytest.raises(UsageError, match="No control request from"):
        xmpp(ip, f"approve {bob.jid} --kind control")
    with pytest.raises(UsageError, match=r"name some of what .* asked for: temperature, humidity"):
        xmpp(ip, f"approve {bob.jid} --fields pressure")
    with pytest.raises(UsageError, match="--parameters is for a control request"):
        xmpp(ip, f"approve {bob.jid} --parameters on")
    capsys.readouterr()
    xmpp(ip, f"approve {bob.jid} --fields temperature --thing {thing.jid}")
    assert f"Approved: {bob.jid} to read temperature of {thing.jid} (Caller)." in capsys.readouterr().out
    assert len(alice.requests) == 0

    assert eventually(lambda: not refused(bob.read, thing.jid, ["temperature", "humidity"]))
    assert bob.read(thing.jid, ["temperature", "humidity"]).names == ["temperature"]
    assert bob.read(thing.jid).names == ["temperature"]
    assert refused(bob.read, thing.jid, "humidity")

    xmpp(ip, f"delete-rules {thing.jid}")
    assert "asks you again" in capsys.readouterr().out
    assert eventually(lambda: refused(bob.read, thing.jid, "temperature"))
    xmpp(ip, "clear-cache")
    assert "forget the provisioning service's answers" in capsys.readouterr().out


def test_a_control_request_is_approved_for_some_parameters_or_rejected(ip, name, online):
    alice, thing = claimed(ip, name)
    bob, carol = online(Owner, name("bob")), online(Owner, name("carol"))
    for stranger in (bob, carol):
        with pytest.raises(Rejected):
            stranger.befriend(thing.jid)
        assert eventually(lambda s=stranger: alice.requests.find(s.jid, kind="friend"))
        xmpp(ip, f"approve {stranger.jid}")
        assert stranger.befriend(thing.jid).friend

    assert refused(bob.set, thing.jid, on=True)
    assert eventually(lambda: alice.requests.find(bob.jid, kind="control"))
    with pytest.raises(UsageError, match=r"--fields is for a read request; .* asks to control"):
        xmpp(ip, f"approve {bob.jid} --fields on")
    xmpp(ip, f"approve {bob.jid} --kind control --parameters on")
    assert eventually(lambda: not refused(bob.set, thing.jid, on=True))
    assert thing.controls["on"] is True

    assert refused(carol.set, thing.jid, on=False)
    assert eventually(lambda: alice.requests.find(carol.jid, kind="control"))
    xmpp(ip, f"reject {carol.jid} --kind control")
    assert alice.requests.find(carol.jid) is None
    assert refused(carol.set, thing.jid, on=False) and thing.controls["on"] is True
    with pytest.raises(UsageError, match=f"No request from {carol.jid} is waiting"):
        xmpp(ip, f"reject {carol.jid}")


def test_tag_mistakes_and_claim_codes_of_other_things_are_usage_errors(ip, name):
    alice = name("alice")
    xmpp(ip, f"connect {alice} --as owner")
    for line, said in (
        (f"{name('t')} --tags MAN", "NAME=VALUE"),
        (f"{name('t')} --tags #V=new", "makes a number"),
        (f"{name('t')} --tags MAN=Acme --owner {alice}", "leave --owner out"),
    ):
        with pytest.raises(UsageError, match=said):
            ip.run_cell_magic("thing", line, "pass")
    owned = name("owned")
    ip.run_cell_magic("thing", owned, "pass")
    with pytest.raises(UsageError, match="only a thing made with --tags has a claim code"):
        xmpp(ip, f"qr {owned}")
    with pytest.raises(UsageError, match="made with an owner: `%xmpp disconnect"):
        ip.run_cell_magic("thing", f"{owned} --tags MAN=Acme", "pass")
    with pytest.raises(UsageError, match="is not a thing of this notebook"):
        xmpp(ip, f"qr {name('nobody')}")
    xmpp(ip, f"connect {name('sensor')} --as thing")
    with pytest.raises(UsageError, match="Only an owner can claim"):
        xmpp(ip, "claim iotdisco:SN=1;KEY=k")
