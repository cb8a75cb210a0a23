"""Getting online against the real lab server: TLS, passwords, errors, both call forms."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from xiotlab import LabServer, Owner, Thing
from xiotlab.errors import AuthenticationFailed, CannotConnect, CertificateError, NotConnected, TimedOut

from ..waiting import eventually


def test_thing_comes_online_and_goes_offline(online, name):
    thing = online(Thing, name("lamp"), status="warming up")
    assert thing.online and thing.full_jid.startswith(thing.jid + "/")
    thing.stop()
    assert not thing.online


def test_a_certificate_from_another_authority_is_refused(lab, name, tmp_path):
    with LabServer(tmp_path / "other") as other:
        credentials = lab.account(name("alice"))
        owner = Owner(
            credentials.jid, credentials.password, host=lab.host, port=lab.port, ca_file=other.ca_file, timeout=5
        )
        with pytest.raises(CertificateError, match="ca_file"):
            owner.start()
        assert not owner.online


def test_the_system_authorities_do_not_trust_a_lab(lab, name):
    credentials = lab.account(name("alice"))
    owner = Owner(credentials.jid, credentials.password, host=lab.host, port=lab.port, timeout=5)
    with pytest.raises(CertificateError):
        owner.start()


def test_wrong_password(lab, name):
    jid = lab.account(name("alice")).jid
    with pytest.raises(AuthenticationFailed, match="wrong account name or password") as caught:
        Owner(jid, "not-the-password", host=lab.host, port=lab.port, ca_file=lab.ca_file, timeout=5).start()
    assert "not-the-password" not in str(caught.value)


def test_nobody_listening(lab, name):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    owner = Owner(f"{name()}@{lab.domain}", "x", host="127.0.0.1", port=closed_port, ca_file=lab.ca_file, timeout=5)
    with pytest.raises(CannotConnect, match="Cannot connect"):
        owner.start()


def test_a_silent_server_times_out(lab, name):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        owner = Owner(
            f"{name()}@{lab.domain}",
            "x",
            host="127.0.0.1",
            port=silent.getsockname()[1],
            ca_file=lab.ca_file,
            timeout=1,
        )
        with pytest.raises(TimedOut, match="within 1 s"):
            owner.start()


def test_operations_need_start_first(lab, name):
    with pytest.raises(NotConnected, match="start"):
        Owner(name("alice"), lab=lab).befriend("anyone")


def test_awaitable_forms_from_another_event_loop(lab, name):
    async def scenario():
        async with Owner(name("alice"), lab=lab, timeout=5) as owner:
            thing = Thing(name("lamp"), owner=owner.jid, lab=lab, timeout=5)
            async with thing:
                contact = await owner.abefriend(thing.jid)
                await thing.aset_status("awaited")
                return contact

    assert asyncio.run(scenario()).friend


def test_blocking_calls_from_foreign_threads(online, name):
    owner = online(Owner, name("alice"))
    things = [online(Thing, name("lamp"), owner=owner.jid) for _ in range(3)]
    results, errors = [], []

    def befriend(thing):
        try:
            results.append(owner.befriend(thing.jid))
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=befriend, args=(t,)) for t in things]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and sorted(c.jid for c in results) == sorted(t.jid for t in things)


def test_trace_shows_the_wire_without_secrets(lab, online, name):
    credentials = lab.account(name("alice"))
    owner = online(Owner, credentials.jid, credentials.password)
    # Stanzas are traced as the send loop writes them, a moment after start() queued the presence.
    assert eventually(lambda: any(e.tag == "presence" and e.direction == "out" for e in owner.trace))
    entries = list(owner.trace)
    assert {e.direction for e in entries} == {"in", "out"}
    auth = [e for e in entries if e.tag in ("auth", "response")]
    assert auth and all("[redacted]" in e.xml for e in auth)
    assert not any(credentials.password in e.xml for e in entries)
