"""Federated labs: two Prosody labs on 127.0.0.2 and 127.0.0.3, every operation across the link.

Lab A (``a.lab.test``) holds the things, lab B (``b.lab.test``) their owners; A and B trust each
other. Lab C trusts A, but A never trusted C; lab D is trusted both ways but presents a
certificate for another domain. Both must be refused, and say why. A forger on 127.0.0.14 poses
as B with a certificate D's CA signed: A trusts D's CA for d.lab.test only, and refuses it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xiotlab import LabServer, Owner, Thing
from xiotlab.errors import FederationError, PortInUse, Rejected, ServerUnreachable, StanzaError
from xiotlab.server import certs, prosody
from xiotlab.server.federation import S2S_PORT

from ..waiting import in_background

pytestmark = pytest.mark.integration

A, B, C, D = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
FORGER, NEWCOMER = "127.0.0.14", "127.0.0.15"  # .6-.13 are other tests' and the benchmark's


def _lab(domain: str, host: str) -> LabServer:
    try:
        return LabServer(domain=domain, host=host, federation=True).start()
    except PortInUse as e:  # another run of this module on the machine holds the address's s2s port
        pytest.fail(f"{e} (is another test run using {host}:{S2S_PORT}?)")


@pytest.fixture(scope="module")
def labs():
    started: list[LabServer] = []  # stopped even when a later one fails to start
    try:
        for domain, host in (("a.lab.test", A), ("b.lab.test", B), ("c.lab.test", C), ("d.lab.test", D)):
            started.append(_lab(domain, host))
        a, b, c, d = started
        a.trust(b.ca_file, domain=b.domain, address=b.host)
        b.trust(a.ca_file, domain=a.domain, address=a.host)
        c.trust(a.ca_file, domain=a.domain, address=a.host)  # one way only: A does not know C
        _present_to_other_labs(d, "wrong.lab.test", signed_by=d)
        d.trust(a.ca_file, domain=a.domain, address=a.host)  # reloads D: it now presents the wrong certificate
        a.trust(d.ca_file, domain=d.domain, address=d.host)
        yield {"a": a, "b": b, "c": c, "d": d}
    finally:
        for lab in started:
            lab.stop()


@pytest.fixture(scope="module")
def forger(labs):
    """A lab on FORGER serving b.lab.test, showing other labs a certificate for b.lab.test that D's CA signed."""
    lab = _lab("b.lab.test", FORGER)
    try:
        _present_to_other_labs(lab, "b.lab.test", signed_by=labs["d"])
        lab.trust(labs["a"].ca_file, domain="a.lab.test", address=A)  # reloads: it now presents the forged one
        yield lab
    finally:
        lab.stop()


def _present_to_other_labs(lab: LabServer, domain: str, *, signed_by: LabServer) -> None:
    """Have ``lab`` show other labs a certificate for ``domain`` signed by ``signed_by``'s CA, as its owner could.

    Its clients still see its own certificate. Takes effect at the lab's next reload.
    """
    authority = signed_by.home / "certs"
    ca_key = serialization.load_pem_private_key((authority / "ca-key.pem").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((authority / "ca.pem").read_bytes())
    key, cert = certs._new_server_certificate([domain], [], ca_key, ca_cert)  # what that CA's holder can make
    forged = lab.home / "forged"
    forged.mkdir()
    certs._write_key(forged / "key.pem", key)
    certs._write_cert(forged / "cert.pem", cert)
    with open(lab.home / "prosody.cfg.lua", "a") as config:  # read at the next reload
        config.write(
            f'VirtualHost "{lab.domain}"\n'
            f'  s2s_ssl = {{ certificate = "{forged / "cert.pem"}", key = "{forged / "key.pem"}" }}\n'
        )


@pytest.fixture
def people(labs):
    """Start participants (stopped when the test ends): ``people(Owner, "o", labs["b"])``."""
    started = []

    def start(kind, name, lab, **options):
        participant = kind(f"{name}-{uuid.uuid4().hex[:6]}", lab=lab, timeout=8, **options)
        started.append(participant)
        return participant

    yield start
    for participant in started:
        participant.stop()


def _thing_with_owner(people, labs):
    owner = people(Owner, "owner", labs["b"]).start()
    thing = people(Thing, "thing", labs["a"], owner=owner.jid)
    thing.sensor("temperature", unit="°C", decimals=1)(lambda: 21.5)
    thing.sensor("power", unit="W")
    switched = []
    thing.control("on", type=bool, value=False)(switched.append)
    thing.start()
    owner.befriend(thing.jid)
    return owner, thing, switched


def test_owner_on_one_lab_befriends_reads_watches_and_controls_a_thing_on_another(labs, people):
    owner, thing, switched = _thing_with_owner(people, labs)
    assert owner.jid.endswith("@b.lab.test") and thing.jid.endswith("@a.lab.test")
    assert owner.roster[thing.jid].friend

    assert owner.read(thing.jid)["temperature"].value == 21.5

    stream = owner.subscribe(thing.jid, "power")
    thing.report(power=7.5)
    assert stream.get(timeout=8).value == 7.5
    stream.close()

    owner.set(thing.jid, on=True)
    assert switched == [True]


def test_a_friend_request_from_the_other_lab_reaches_the_things_owner(labs, people):
    owner, thing, _ = _thing_with_owner(people, labs)
    friend = people(Owner, "friend", labs["b"]).start()
    asking = in_background(friend.befriend, thing.jid)
    request = owner.next_request()
    assert (request.requester, request.thing) == (friend.jid, thing.jid)
    request.approve()
    assert asking.result().friend
    assert friend.read(thing.jid)["temperature"].value == 21.5


def test_an_owner_claims_a_thing_on_the_other_lab_and_its_provisioning_asks_her(labs, people):
    """The registry and the provisioning service of lab A federate too (their names are in A's certificate)."""
    thing = people(Thing, "claimed", labs["a"], tags={"MAN": "Acme", "SN": uuid.uuid4().hex[:8]})
    thing.sensor("temperature", unit="°C")(lambda: 19.0)
    thing.start()
    owner = people(Owner, "claimer", labs["b"]).start()
    assert thing.claim_uri.endswith(";R=registry.a.lab.test")
    assert owner.claim(thing.claim_uri) == thing.jid
    assert owner.read(thing.jid)["temperature"].value == 19.0
    friend = people(Owner, "friend", labs["b"]).start()
    asking = in_background(friend.befriend, thing.jid, timeout=20)
    request = owner.next_request()  # from provisioning.a.lab.test, about a thing on a.lab.test
    assert (request.requester, request.thing, request.service) == (friend.jid, thing.jid, "provisioning.a.lab.test")
    request.approve()
    try:
        asking.result()
    except Rejected:  # the thing said no before its service heard from the owner: asking again now works
        pass
    assert friend.befriend(thing.jid).friend


def test_the_trace_shows_the_stanzas_that_crossed_the_link(labs, people):
    owner, thing, _ = _thing_with_owner(people, labs)
    owner.read(thing.jid)
    answers = [e for e in owner.trace if e.direction == "in" and e.peer.startswith(thing.jid + "/")]
    assert any("urn:nfi:iot:sd:1.0" in e.namespaces for e in answers), "the readout came from lab A"
    log = (labs["a"].home / "prosody.log").read_text()
    assert "Accepting SASL EXTERNAL identity from b.lab.test" in log, "B proved its domain with its certificate"


def test_a_lab_that_was_not_trusted_cannot_deliver(labs, people):
    thing = people(Thing, "thing", labs["a"], policy="accept").start()
    stranger = people(Owner, "stranger", labs["c"]).start()
    with pytest.raises(ServerUnreachable, match="trust") as refused:
        stranger.befriend(thing.jid)
    assert "not trusted" in str(refused.value)
    with pytest.raises(ServerUnreachable, match="trust"):
        stranger.send_iq(f"{thing.jid}/any", "<req xmlns='urn:nfi:iot:sd:1.0' id='1'/>")
    assert stranger.jid not in thing.roster


def test_a_certificate_for_the_wrong_domain_is_refused_both_ways(labs, people):
    thing = people(Thing, "thing", labs["a"], policy="accept").start()
    impostor = people(Owner, "impostor", labs["d"]).start()
    with pytest.raises(ServerUnreachable, match="trust"):
        impostor.befriend(thing.jid)  # D connects to A with a certificate that does not name d.lab.test
    remote = people(Thing, "remote", labs["d"], policy="accept").start()
    asker = people(Owner, "asker", labs["a"]).start()
    with pytest.raises(ServerUnreachable):
        asker.befriend(remote.jid)  # A connects to D, which answers with that certificate
    log = (labs["a"].home / "prosody.log").read_text()
    assert "d.lab.test" in log and "not trusted" in log


def test_a_trusted_lab_cannot_pose_as_another(labs, forger, people):
    """A trusts D's CA for d.lab.test only: a certificate it signed for b.lab.test does not make the forger B."""
    thing = people(Thing, "thing", labs["a"], policy="accept").start()
    mallory = people(Owner, "mallory", forger).start()
    assert mallory.jid.endswith("@b.lab.test")
    with pytest.raises(ServerUnreachable):
        mallory.befriend(thing.jid)  # the forger connects to A as b.lab.test, with D's CA behind its certificate
    assert mallory.jid not in thing.roster
    log = (labs["a"].home / "prosody.log").read_text()
    assert "b.lab.test->a.lab.test closed: Your server's certificate is not trusted" in log


def test_a_private_lab_stays_isolated(labs, name):
    with LabServer() as private:  # Prosody's, whatever engine the session's lab runs on
        thing = Thing(name("thing"), lab=labs["a"], policy="accept", timeout=5).start()
        loner = Owner(name("loner"), lab=private, timeout=5).start()
        try:
            with pytest.raises(StanzaError, match="remote domains is not enabled"):
                loner.befriend(thing.jid)
            assert "s2s_ports = { }" in (private.home / "prosody.cfg.lua").read_text()
        finally:
            loner.stop()
            thing.stop()


def test_trust_is_kept_in_the_lab_home(labs):
    a, b = labs["a"], labs["b"]
    assert {(b.domain, B), ("d.lab.test", D)} <= {(p.domain, p.address) for p in a.trusted()}
    bundle = (a.home / "certs" / "s2s-ca.pem").read_text()
    assert a.ca_file.read_text() in bundle and b.ca_file.read_text() in bundle
    assert labs["c"].ca_file.read_text() not in bundle
    assert f"{B} b.lab.test registry.b.lab.test provisioning.b.lab.test" in (a.home / "hosts").read_text()
    assert a.status()["federation"]["trusted"][0]["domain"] in {b.domain, "d.lab.test"}


def test_a_second_lab_on_the_same_address_is_refused_with_a_clear_error(labs):
    with pytest.raises(PortInUse, match="address of its own"):
        LabServer(domain="e.lab.test", host=A, federation=True).start()


def test_a_lab_that_does_not_federate_refuses_to_trust(lab, labs):
    with pytest.raises(FederationError, match="federation=True"):
        lab.trust(labs["a"].ca_file, domain="a.lab.test", address=A)


def test_trust_refuses_what_is_not_a_ca_or_an_address(labs, tmp_path):
    a = labs["a"]
    with pytest.raises(FederationError, match="not a certificate authority"):
        a.trust(a.home / "certs" / "server.pem", domain="x.lab.test", address="127.0.0.9")
    with pytest.raises(FederationError, match="not an IP address"):
        a.trust(a.ca_file, domain="x.lab.test", address="somewhere")
    missing = tmp_path / "nothing.pem"
    with pytest.raises(FederationError, match="Cannot read"):
        a.trust(missing, domain="x.lab.test", address="127.0.0.9")


def test_a_persistent_lab_trusts_before_it_starts_and_after_it_restarts(tmp_path, labs):
    home = tmp_path / "lab"
    lab = LabServer(home, domain="p.lab.test", host="127.0.0.6", federation=True, mqtt=True, detach=True)
    shutil.copy(labs["a"].ca_file, tmp_path / "a-ca.pem")
    home.mkdir()  # a stopped persistent lab records trust in its home; it takes effect at start
    lab.trust(tmp_path / "a-ca.pem", domain="a.lab.test", address=A)
    lab.start()
    try:
        joined = LabServer.running(home)
        assert joined.federation and [p.domain for p in joined.trusted()] == ["a.lab.test"]
        assert (tmp_path / "a-ca.pem").read_text() in (home / "certs" / "s2s-ca.pem").read_text()
        assert "s2s_secure_auth = true" in (home / "prosody.cfg.lua").read_text()
        pid, port = lab.pid, lab.port
        lab = LabServer.restart(home)  # what `xiotlab server restart` and the lab panel run
        again = LabServer.running(home)
        assert again.pid == lab.pid != pid
        assert (again.domain, again.host, again.port) == ("p.lab.test", "127.0.0.6", port), "not the defaults"
        assert again.federation and again.services and again.mqtt and again.mqtt_status()["running"]
        assert [p.domain for p in again.trusted()] == ["a.lab.test"]
    finally:
        lab.stop()


def test_trust_takes_effect_on_a_running_lab_without_disconnecting_anyone(labs, people):
    """A reload, not a restart: the thing's session on A survives A trusting one more lab."""
    thing = people(Thing, "thing", labs["a"], policy="accept").start()
    outages = thing.connection.outages
    pid = labs["a"].pid
    labs["a"].trust(labs["b"].ca_file, domain=labs["b"].domain, address=B)  # again: rewrites and reloads
    friend = people(Owner, "friend", labs["b"]).start()
    assert friend.befriend(thing.jid).friend
    assert labs["a"].pid == pid and thing.connection.outages == outages


def test_a_new_lab_trusted_after_traffic_flowed_is_reached_without_a_restart(labs, people):
    """A's resolver already answered for B: a lab trusted afterwards must be found all the same."""
    a = labs["a"]
    thing = people(Thing, "thing", a, policy="accept").start()
    assert people(Owner, "before", labs["b"]).start().befriend(thing.jid).friend  # traffic across the link
    outages, pid = thing.connection.outages, a.pid
    newcomer = _lab("e.lab.test", NEWCOMER)
    try:
        newcomer.trust(a.ca_file, domain=a.domain, address=A)
        a.trust(newcomer.ca_file, domain=newcomer.domain, address=NEWCOMER)
        reader = people(Owner, "reader", newcomer).start()
        try:
            assert reader.befriend(thing.jid).friend
            assert reader.read(thing.jid) is not None
        finally:
            reader.stop()
        assert a.pid == pid and thing.connection.outages == outages
    finally:
        newcomer.stop()


def test_reload_waits_until_prosody_handles_the_signal(tmp_path):
    lab = LabServer(tmp_path / "lab", domain="r.lab.test", host="127.0.0.7", federation=True, services=False)
    lab.start()
    try:
        threads = [threading.Thread(target=prosody.reload, args=(lab.pid,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert lab.is_running, "a SIGHUP right after the start must not kill Prosody"
    finally:
        lab.stop()


# --- the command ---------------------------------------------------------------


def xiotlab(home, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xiotlab", "--home", str(home), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def homes(tmp_path):
    homes = tmp_path / "east", tmp_path / "west"
    yield homes
    for home in homes:
        xiotlab(home, "server", "stop")


def test_two_labs_federate_from_the_command_line(homes):
    east, west = homes
    for home, address, domain in ((east, "127.0.0.10", "east.lab.test"), (west, "127.0.0.11", "west.lab.test")):
        started = xiotlab(home, "server", "start", "--listen", address, "--domain", domain, "--federate")
        assert started.returncode == 0, started.stderr
        assert f"federating on {address}:5269" in started.stdout
    trusted = xiotlab(east, "server", "trust", str(west / "certs" / "ca.pem"), "--domain", "west.lab.test",
                      "--address", "127.0.0.11")  # fmt: skip
    assert trusted.returncode == 0 and "the running lab reloaded" in trusted.stdout, trusted.stderr
    xiotlab(west, "server", "trust", str(east / "certs" / "ca.pem"), "--domain", "east.lab.test", "--address",
            "127.0.0.10")  # fmt: skip
    assert "trusting west.lab.test at 127.0.0.11" in xiotlab(east, "server", "status").stdout

    thing = Thing("sensor", lab=LabServer.running(east), policy="accept", timeout=8).start()
    reader = Owner("reader", lab=LabServer.running(west), timeout=8).start()
    try:
        assert reader.befriend(thing.jid).friend
    finally:
        reader.stop()
        thing.stop()

    restarted = xiotlab(east, "server", "restart")
    assert "federating on 127.0.0.10:5269" in restarted.stdout, "a restart keeps federation and the address"


def test_trusting_from_the_command_line_checks_its_input(homes):
    east, _ = homes
    result = xiotlab(east, "server", "trust", "/nonexistent/ca.pem", "--domain", "x.lab.test", "--address", "1.2.3.4")
    assert result.returncode == 1 and result.stderr.startswith("xiotlab: Cannot read the CA file")
    assert "Traceback" not in result.stderr
