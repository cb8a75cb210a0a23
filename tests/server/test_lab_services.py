"""The lab's registry and provisioning services across restarts, and in a detached lab's background process."""

from __future__ import annotations

import json
import os
import signal
import uuid

import pytest

from xiotlab import LabServer, Owner, Thing
from xiotlab.errors import Forbidden, XmppError
from xiotlab.faces import cli
from xiotlab.protocol import registry as r
from xiotlab.roles.friendship import ReadRequest
from xiotlab.server import prosody

from ..waiting import eventually

# These tests start labs of their own (one of them through the CLI, in background processes).
pytestmark = pytest.mark.integration

TAGS = {"MAN": "Acme", "MODEL": "Therm1", "V": 1.5}


def thermometer(lab: LabServer, name: str, sn: str) -> Thing:
    thing = Thing(name, lab=lab, tags={**TAGS, "SN": sn}, timeout=5)
    thing.sensor("temperature", unit="°C")(lambda: 21.5)
    thing.sensor("humidity", unit="%")(lambda: 40.0)
    thing.start()
    assert eventually(lambda: thing.registered), "the thing did not register"
    return thing


def readable(owner: Owner, jid: str) -> set[str] | None:
    try:
        return {f.name for f in owner.read(jid).fields}
    except Forbidden:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_claims_tags_and_rules_survive_a_restart(tmp_path):
    home, sn = tmp_path / "lab", uuid.uuid4().hex
    with LabServer(home) as lab:
        assert lab.status()["services"]["registry"]["running"] == "this process"
        thing = thermometer(lab, "therm", sn)
        alice = Owner("alice", lab=lab, timeout=5).start()
        bob = Owner("bob", lab=lab, timeout=5).start()
        uri = thing.claim_uri
        assert alice.claim(uri) == thing.jid
        alice.send_iq(lab.registry, r.build_update(r.Update((r.Tag("ROOM", "lab 3"),), jid=thing.jid)), "set")
        with pytest.raises(XmppError):
            bob.befriend(thing.jid, timeout=5)
        alice.next_request(timeout=5).approve()
        assert eventually(lambda: thing.jid in bob.roster and bob.roster[thing.jid].friend)
        with pytest.raises(Forbidden):
            bob.read(thing.jid)
        request = alice.next_request(timeout=5)
        assert isinstance(request, ReadRequest)
        request.approve(fields=["temperature"])
        assert eventually(lambda: readable(bob, thing.jid) == {"temperature"})
        for participant in (thing, alice, bob):
            participant.stop()
    assert (home / "services.sqlite").exists()

    with LabServer(home) as lab:
        thing = thermometer(lab, "therm", sn)
        assert thing.claim_uri == uri, "the KEY is kept in the lab home"
        assert eventually(lambda: thing.owner == f"alice@{lab.domain}"), "the registry says who owns it"
        alice = Owner("alice", lab=lab, timeout=5).start()
        bob = Owner("bob", lab=lab, timeout=5).start()
        try:
            assert alice.devices() == [thing.jid]
            (entry,) = alice.search(f"SN={sn}")
            assert entry.jid == thing.jid and entry.tags == {**TAGS, "SN": sn, "ROOM": "lab 3"}
            with pytest.raises(XmppError, match=r"item-not-found|no unclaimed thing"):
                bob.claim(uri)
            assert readable(bob, thing.jid) == {"temperature"}, "the read rule survived"
            assert len(alice.requests) == 0, "nobody was asked again"
            carol = Owner("carol", lab=lab, timeout=5).start()
            try:
                with pytest.raises(XmppError):
                    carol.befriend(thing.jid, timeout=5)
                assert alice.next_request(timeout=5).requester == carol.jid, "the owner is still asked"
            finally:
                carol.stop()
        finally:
            for participant in (thing, alice, bob):
                participant.stop()


def test_a_detached_lab_runs_its_services_in_a_background_process(tmp_path, capsys):
    home = str(tmp_path / "detached")
    assert cli.main(["--home", home, "server", "start"]) == 0
    assert "running" in capsys.readouterr().out
    pids: list[int] = []
    try:
        assert cli.main(["--home", home, "server", "status", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        services = status["services"]
        assert set(services) >= {"registry", "provisioning"}
        running = services["registry"]["running"]
        assert running.startswith("pid "), running
        service_pid = int(running.split()[1])
        pids += [service_pid, status["pid"]]
        assert _pid_alive(service_pid) and service_pid != os.getpid()

        assert cli.main(["--home", home, "server", "status"]) == 0
        text = capsys.readouterr().out
        assert (
            f"registry: registry.{status['domain']}" in text
            and f"provisioning: provisioning.{status['domain']}" in text
        )

        lab = LabServer.running(home)
        thing = thermometer(lab, "therm", uuid.uuid4().hex)
        alice = Owner("alice", lab=lab, timeout=5).start()
        try:
            assert alice.claim(thing.claim_uri) == thing.jid
            assert alice.devices() == [thing.jid]
        finally:
            thing.stop()
            alice.stop()

        assert cli.main(["--home", home, "server", "stop"]) == 0
        assert eventually(lambda: not _pid_alive(service_pid)), "the services process outlived the lab"
        assert eventually(lambda: not prosody.pid_is_prosody(status["pid"]))
        assert cli.main(["--home", home, "server", "status"]) == 3
    finally:
        cli.main(["--home", home, "server", "stop"])  # a failed test leaves no process either
        for pid in pids:
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_restarted_services_process_keeps_the_claims(tmp_path, capsys):
    home = str(tmp_path / "detached")
    assert cli.main(["--home", home, "server", "start"]) == 0
    capsys.readouterr()
    sn = uuid.uuid4().hex
    try:
        lab = LabServer.running(home)
        thing = thermometer(lab, "therm", sn)
        alice = Owner("alice", lab=lab, timeout=5).start()
        alice.claim(thing.claim_uri)
        thing.stop()
        alice.stop()
        assert cli.main(["--home", home, "server", "restart"]) == 0
        lab = LabServer.running(home)
        thing = thermometer(lab, "therm", sn)
        try:
            assert eventually(lambda: thing.owner == f"alice@{lab.domain}")
        finally:
            thing.stop()
    finally:
        cli.main(["--home", home, "server", "stop"])
