"""An unfriended contact stays gone when its goodbye arrives after the roster push.

RFC 6121 (3.2.3) has the server send the removed contact's unavailable presence after the
roster push that removes it; ejabberd does. slixmpp makes a roster entry for any presence that
arrives, so the entry just removed came back as ``none`` and ``unfriend`` waited in vain. Here
the goodbye is sent by the unfriended thing itself, so the test bites on any server.
"""

from __future__ import annotations

from xiotlab import Owner, Thing
from xiotlab.runtime import network

from ..waiting import eventually


def test_a_goodbye_after_unfriending_does_not_bring_the_contact_back(online, name):
    alice = online(Owner, name("alice"))
    lamp = online(Thing, name("lamp"), owner=alice.jid)
    alice.befriend(lamp.jid)
    alice.unfriend(lamp.jid)
    assert lamp.jid not in alice.roster

    def goodbyes() -> int:
        return sum('type="unavailable"' in str(entry) and f'from="{lamp.jid}/' in str(entry) for entry in alice.trace)

    async def goodbye():
        lamp._client.stream.send_presence(pto=alice.jid, ptype="unavailable")

    before = goodbyes()
    network.run(goodbye())
    assert eventually(lambda: goodbyes() > before), "the goodbye reached alice"
    assert lamp.jid not in alice.roster
    alice.befriend(lamp.jid)  # and the friendship can start again
    assert alice.roster[lamp.jid].friend
