"""Pure parts of federation and the class server: configuration, trust files, certificates, hand-outs."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import threading
import types
import xml.etree.ElementTree as ET

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from xiotlab import LabServer
from xiotlab.errors import FederationError, HandoutError, ServerUnreachable
from xiotlab.protocol.stanza_errors import read_error
from xiotlab.roles.deciding import ProvisioningClient
from xiotlab.server import certs, classroom, federation, prosody


def _config(tmp_path, files=None) -> str:
    return prosody.render_config(
        prosody.ServerFiles(tmp_path),
        domain="a.lab.test",
        host="127.0.0.2",
        port=5999,
        certificate=tmp_path / "c.pem",
        key=tmp_path / "k.pem",
        federation=files,
    )


def test_a_private_lab_has_no_server_to_server(tmp_path):
    text = _config(tmp_path)
    assert 'modules_disabled = { "s2s", "limits" }' in text and "s2s_ports = { }" in text
    assert "s2s_secure_auth" not in text and "hoststxt" not in text


def test_a_federating_lab_requires_encryption_and_certificates_and_trusts_only_its_bundle(tmp_path):
    files = federation.FederationFiles(tmp_path)
    text = _config(tmp_path, files)
    assert 'modules_disabled = { "limits" }' in text
    assert "s2s_ports = { 5269 }" in text and 's2s_interfaces = { "127.0.0.2" }' in text
    assert "s2s_require_encryption = true" in text and "s2s_secure_auth = true" in text
    assert f'cafile = "{files.cafile}"' in text and "/etc/ssl" not in text
    assert f'unbound = {{ hoststxt = "{files.hosts}" }}' in text
    assert f'"{federation.RELOAD_DNS_MODULE}"' in text and f'plugin_paths = {{ "{files.plugins}" }}' in text


def test_trust_files_list_every_trusted_lab_and_its_services(tmp_path):
    own = certs.ensure_certificates(tmp_path / "certs", "a.lab.test")
    other = certs.ensure_certificates(tmp_path / "other", "b.lab.test")
    peer = federation.record_trust(tmp_path, other.ca, domain="B.lab.test", address="127.0.0.3")
    assert (peer.domain, peer.address) == ("b.lab.test", "127.0.0.3")
    files = federation.write_files(
        tmp_path, domain="a.lab.test", address="127.0.0.2", own_ca=own.ca, services=("registry",)
    )
    assert files.cafile.read_text() == own.ca.read_text() + other.ca.read_text()
    hosts = files.hosts.read_text().splitlines()
    assert "127.0.0.2 a.lab.test registry.a.lab.test" in hosts and "127.0.0.3 b.lab.test registry.b.lab.test" in hosts
    assert "unbound.dns.purge" in (files.plugins / f"mod_{federation.RELOAD_DNS_MODULE}.lua").read_text()
    renewed = certs.ensure_certificates(tmp_path / "renewed", "b.lab.test").ca
    federation.record_trust(tmp_path, renewed, domain="b.lab.test", address="127.0.0.4")  # replaced, not added
    assert [(p.address, p.ca_pem) for p in federation.load_peers(tmp_path).values()] == [
        ("127.0.0.4", renewed.read_text())
    ]


@pytest.mark.parametrize(
    ("domain", "address", "message"),
    [
        ("b.lab.test", "b-host", "not an IP address"),
        ("x@b.lab.test", "127.0.0.3", "not a domain"),
        ("b.lab.test\n127.0.0.9 a.lab.test", "127.0.0.3", "not a domain"),  # would write a hosts line of its own
        ("b.lab.test a.lab.test", "127.0.0.3", "not a domain"),
        ("b..lab.test", "127.0.0.3", "not a domain"),
    ],
)
def test_trust_refuses_what_cannot_be_a_lab(tmp_path, domain, address, message):
    ca = certs.ensure_certificates(tmp_path / "certs", "b.lab.test").ca
    with pytest.raises(FederationError, match=message):
        federation.record_trust(tmp_path, ca, domain=domain, address=address)


def test_a_lab_refuses_a_domain_that_is_no_dns_name():
    for bad in ("lab.test\nevil", "lab test", "Lab.Test", "-lab.test", ""):
        with pytest.raises(ValueError, match="not a domain"):
            LabServer(domain=bad)


def _unconstrained_ca(path):
    """A CA as made before name constraints (or by an authority that vouches for anything)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "any")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path.write_bytes(cert.public_bytes(certs.serialization.Encoding.PEM))
    return path


def test_a_lab_ca_vouches_only_for_its_domain(tmp_path):
    ca = certs.ensure_certificates(tmp_path / "d", "d.lab.test").ca
    assert certs.constrained_to(ca.read_text()) == ["d.lab.test"]
    with pytest.raises(FederationError, match=r"vouches for d\.lab\.test, not only for b\.lab\.test"):
        federation.record_trust(tmp_path, ca, domain="b.lab.test", address="127.0.0.5")
    with pytest.raises(FederationError, match="any domain"):
        federation.record_trust(tmp_path, _unconstrained_ca(tmp_path / "old.pem"), domain="b.lab.test",
                                address="127.0.0.5")  # fmt: skip
    assert federation.load_peers(tmp_path) == {}
    federation.record_trust(tmp_path, ca, domain="d.lab.test", address="127.0.0.5")
    assert list(federation.load_peers(tmp_path)) == ["d.lab.test"]


def test_a_ca_without_the_constraint_or_for_another_domain_is_replaced(tmp_path):
    first = certs.ensure_certificates(tmp_path, "a.lab.test").ca.read_text()
    assert certs.ensure_certificates(tmp_path, "a.lab.test").ca.read_text() == first
    moved = certs.ensure_certificates(tmp_path, "z.lab.test")
    assert certs.constrained_to(moved.ca.read_text()) == ["z.lab.test"] and moved.ca.read_text() != first
    _unconstrained_ca(tmp_path / "ca.pem")
    renewed = certs.ensure_certificates(tmp_path, "z.lab.test")
    assert certs.constrained_to(renewed.ca.read_text()) == ["z.lab.test"]


def test_trusts_recorded_at_once_are_all_kept(tmp_path):
    cas = {f"l{i}.lab.test": certs.ensure_certificates(tmp_path / f"l{i}", f"l{i}.lab.test").ca for i in range(8)}
    threads = [
        threading.Thread(
            target=federation.record_trust, args=(tmp_path, ca), kwargs={"domain": d, "address": "10.0.0.1"}
        )
        for d, ca in cas.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(federation.load_peers(tmp_path)) == sorted(cas)


def test_prosodys_lua_modules_are_probed():
    assert prosody.lua_module_loads("lunbound"), "bin/setup installs lua-unbound"
    assert not prosody.lua_module_loads("no_such_xiotlab_module")


def test_a_federating_lab_without_lua_unbound_says_what_to_install(monkeypatch):
    monkeypatch.setattr(prosody, "lua_module_loads", lambda module: module != "lunbound")
    with pytest.raises(FederationError, match="apt-get install lua-unbound"):
        LabServer(domain="u.lab.test", host="127.0.0.16", federation=True).start()


def test_an_owner_asks_no_stranger_named_domain_about_its_service():
    """A question about a thing on x.lab.test counts only from x.lab.test or a subdomain: no disco for others."""
    asked = []

    async def find_service(namespaces, *, domain):
        asked.append(domain)
        return f"provisioning.{domain}"

    owner = types.SimpleNamespace(
        client=types.SimpleNamespace(jid=types.SimpleNamespace(domain="b.lab.test")),
        peers=types.SimpleNamespace(find_service=find_service),
    )
    question = ET.Element("isFriend", jid="lamp@x.lab.test")
    serves = ProvisioningClient._serves_thing
    assert not asyncio.run(serves(owner, "mallory@evil.test", question)) and asked == []
    assert asyncio.run(serves(owner, "provisioning.x.lab.test", question)) and asked == ["x.lab.test"]


def test_the_server_certificate_names_the_services_and_the_address(tmp_path):
    paths = certs.ensure_certificates(tmp_path, "a.lab.test", names=["registry.a.lab.test"], addresses=["192.168.1.20"])
    first = paths.server_certificate.read_bytes()
    cert = x509.load_pem_x509_certificate(first)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["a.lab.test", "registry.a.lab.test"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.168.1.20")]
    again = certs.ensure_certificates(tmp_path, "a.lab.test", names=["registry.a.lab.test"], addresses=["192.168.1.20"])
    assert again.server_certificate.read_bytes() == first
    moved = certs.ensure_certificates(tmp_path, "a.lab.test", addresses=["192.168.1.21"])
    assert moved.server_certificate.read_bytes() != first, "a new address, a new certificate"


def test_a_hand_out_hides_its_password_and_round_trips(tmp_path, monkeypatch):
    monkeypatch.setenv("XIOTLAB_HOME", str(tmp_path / "home"))
    ca = certs.ensure_certificates(tmp_path / "certs", "class.lab.test").ca.read_text()
    handout = classroom.Handout("class.lab.test", "10.0.0.5", 5222, "s01@class.lab.test", "pw-secret", ca)
    assert "pw-secret" not in repr(handout) and "pw-secret" not in str(handout) and "pw-secret" not in f"{handout}"
    (tmp_path / "s01.json").write_text(handout.to_json())
    assert classroom.read_handout(tmp_path / "s01.json") == handout
    assert handout.ca_file.read_text() == ca and handout.ca_file.is_relative_to(tmp_path / "home")
    data = json.loads(handout.to_json())
    del data["password"]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(HandoutError, match="password"):
        classroom.read_handout(tmp_path / "bad.json")


def test_an_unreachable_server_error_gives_every_likely_cause():
    answer = ET.fromstring(
        "<iq xmlns='jabber:client' type='error' from='t@a.lab.test/r'><error by='c.lab.test' type='wait'>"
        "<remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>not-authorized (certificate is not trusted)</text>"
        "</error></iq>"
    )
    error = read_error(answer)
    assert isinstance(error, ServerUnreachable) and error.condition == "remote-server-timeout"
    assert str(error).startswith("c.lab.test could not reach the server of t@a.lab.test")
    assert all(cause in str(error) for cause in ("down", "misspelled", "trust each other")) and error.kind == "wait"
    assert "lab.trust(" not in str(error), "the protocol layer does not name the server's API"
