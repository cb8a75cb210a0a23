"""The lab panel's readers of the server's own files, on files written here: no server needed."""

from __future__ import annotations

import pytest

from xiotlab.faces.labpanel import luadata
from xiotlab.faces.labpanel.asking import role_of
from xiotlab.faces.labpanel.shell import Identity
from xiotlab.faces.labpanel.snapshot import LabReader
from xiotlab.roles.lab.registry import Registry
from xiotlab.roles.lab.store import Store

DOMAIN = "xiotlab.localhost"

# What Prosody 0.12's internal storage writes for a roster (util.serialization, as in a lab's data dir).
ROSTER = """return {
\t[false] = {
\t\t["version"] = 3;
\t\t["pending"] = {};
\t};
\t["lamp@xiotlab.localhost"] = {
\t\t["groups"] = {};
\t\t["subscription"] = "both";
\t};
\t["bob@xiotlab.localhost"] = {
\t\t["groups"] = {
\t\t\t["Friends"] = true;
\t\t};
\t\t["name"] = "Bob \\"the\\" builder\\010";
\t\t["subscription"] = "to";
\t\t["ask"] = "subscribe";
\t};
};
"""


def test_a_prosody_roster_reads_as_python():
    roster = luadata.loads(ROSTER)
    assert roster[False] == {"version": 3, "pending": {}}
    assert roster["lamp@xiotlab.localhost"]["subscription"] == "both"
    assert roster["bob@xiotlab.localhost"]["name"] == 'Bob "the" builder\n'
    assert roster["bob@xiotlab.localhost"]["groups"] == {"Friends": True}


def test_lists_numbers_and_nesting():
    assert luadata.loads('{ 1, -2.5, 0x10, "x", { a = true } }') == [1, -2.5, 16, "x", {"a": True}]


@pytest.mark.parametrize("text", ["return { [1] = }", "{ 1, 2", "return os.exit()", "{ 1 } 2"])
def test_anything_else_is_refused(text):
    with pytest.raises(luadata.LuaDataError):
        luadata.loads(text)


def write_roster(home, user: str, contacts: dict[str, str]) -> None:
    folder = home / "data" / "xiotlab%2elocalhost" / "roster"
    folder.mkdir(parents=True, exist_ok=True)
    items = "".join(
        f'\t["{jid}"] = {{ ["subscription"] = "{sub}"; ["groups"] = {{}}; }};\n' for jid, sub in contacts.items()
    )
    (folder / f"{user}.dat").write_text("return {\n" + items + "};\n")
    (home / "data" / "xiotlab%2elocalhost" / "accounts").mkdir(exist_ok=True)


def test_friends_are_those_subscribed_both_ways(tmp_path):
    write_roster(tmp_path, "alice", {f"lamp@{DOMAIN}": "both", f"bob@{DOMAIN}": "to", f"door@{DOMAIN}": "both"})
    write_roster(tmp_path, "lamp", {f"alice@{DOMAIN}": "both"})
    write_roster(tmp_path, "bob", {f"alice@{DOMAIN}": "from"})
    write_roster(tmp_path, "door", {})  # alice says both, the door's own roster disagrees: not friends
    reader = LabReader(tmp_path)
    assert reader.domains() == [DOMAIN]
    assert reader.friendships([DOMAIN]) == [[f"alice@{DOMAIN}", f"lamp@{DOMAIN}"]]


def test_ownership_and_registry_entries_come_from_the_services_store(tmp_path):
    store = Store(tmp_path / "services.sqlite")
    Registry(store)  # makes its tables, as the running service does
    store.set_owner(f"lamp@{DOMAIN}", f"alice@{DOMAIN}")
    store.db.execute(
        "INSERT INTO registry_things (jid, address, namespace, claimed, owner, public) VALUES (?, '[]', 'ns', 1, ?, 1)",
        (f"lamp@{DOMAIN}", f"alice@{DOMAIN}"),
    )
    store.db.execute("INSERT INTO registry_tags VALUES (1, 'MAN', 'MAN', 'Acme', NULL), (1, 'V', 'V', NULL, 1.5)")
    store.close()
    owned, registry = LabReader(tmp_path).services_state()
    assert owned == [(f"lamp@{DOMAIN}", f"alice@{DOMAIN}")]
    assert registry == [
        {
            "jid": f"lamp@{DOMAIN}",
            "node": None,
            "source": None,
            "partition": None,
            "claimed": True,
            "owner": f"alice@{DOMAIN}",
            "public": True,
            "selfOwned": False,
            "tags": {"MAN": "Acme", "V": 1.5},
        }
    ]


def test_a_lab_without_services_has_no_ownership(tmp_path):
    assert LabReader(tmp_path).services_state() == ([], [])


@pytest.mark.parametrize(
    ("identity", "role"),
    [
        (Identity("client", "bot", "xiotlab", frozenset()), "thing"),
        (Identity("client", "pc", "Gajim", frozenset({"urn:nf:iot:sd:1.0"})), "thing"),
        (Identity("client", "pc", "xiotlab", frozenset()), "owner"),
        (Identity("client", "pc", "Gajim", frozenset()), "unknown"),
        (None, "unknown"),
    ],
)
def test_a_sessions_role_by_what_it_says(identity, role):
    assert role_of(identity) == role
