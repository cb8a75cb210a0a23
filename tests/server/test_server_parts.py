"""Pure parts of the server layer: SCRAM records, names, configuration, certificates."""

import hashlib
import hmac
import re
import ssl

import pytest

from xiotlab.server import accounts, certs, prosody


def test_scram_record_follows_rfc5802_definitions():
    record = accounts.scram_sha1_record("pencil", "a-salt", 4096)
    salted = hashlib.pbkdf2_hmac("sha1", b"pencil", b"a-salt", 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    assert record["stored_key"] == hashlib.sha1(client_key).hexdigest()
    assert record["server_key"] == hmac.new(salted, b"Server Key", hashlib.sha1).hexdigest()
    assert (record["salt"], record["iteration_count"]) == ("a-salt", 4096)


def test_prosody_file_names_escape_like_prosody():
    assert accounts._prosody_encode("xiotlab.localhost") == "xiotlab%2elocalhost"
    assert accounts._prosody_encode("my-lamp_1") == "my%2dlamp%5f1"


def test_account_file_is_a_lua_table_readable_only_by_its_owner(tmp_path):
    accounts.write_prosody_account(tmp_path, "lab.test", "lamp", "secret")
    path = tmp_path / "lab%2etest" / "accounts" / "lamp.dat"
    text = path.read_text()
    assert re.fullmatch(r'return \{\n(\t\["\w+"\] = ("[^"]*"|\d+);\n){4}\};\n', text)
    assert "secret" not in text
    assert path.stat().st_mode & 0o777 == 0o600


def test_credentials_hide_the_password():
    c = accounts.Credentials("a@b", "s3cr3t")
    assert "s3cr3t" not in repr(c) and "s3cr3t" not in str(c) and "s3cr3t" not in f"{c}"


def test_config_is_private_and_strict(tmp_path):
    files = prosody.ServerFiles(tmp_path)
    text = prosody.render_config(
        files, domain="lab.test", host="127.0.0.1", port=5999, certificate=tmp_path / "c.pem", key=tmp_path / "k.pem"
    )
    assert "c2s_require_encryption = true" in text
    assert 'modules_disabled = { "s2s", "limits" }' in text
    assert "s2s_ports = { }" in text and 'c2s_interfaces = { "127.0.0.1" }' in text
    assert f'data_path = "{tmp_path}/data"' in text


def test_lua_strings_are_escaped():
    assert prosody._lua('a"b\\c') == '"a\\"b\\\\c"'


def test_server_certificate_verifies_for_the_domain_against_the_ca(tmp_path):
    paths = certs.ensure_certificates(tmp_path, "lab.test")
    context = ssl.create_default_context(cafile=str(paths.ca))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(paths.server_certificate, paths.server_key)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="lab.test")
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (client, srv):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(outgoing.read())
        incoming.write(s_out.read())
    client.do_handshake()  # raises if the chain or the name did not verify
    assert client.getpeercert()["subjectAltName"] == (("DNS", "lab.test"),)


def test_certificates_are_reused_until_the_domain_changes(tmp_path):
    first = certs.ensure_certificates(tmp_path, "lab.test").server_certificate.read_bytes()
    assert certs.ensure_certificates(tmp_path, "lab.test").server_certificate.read_bytes() == first
    assert certs.ensure_certificates(tmp_path, "other.test").server_certificate.read_bytes() != first
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["lamp", "Lamp.2", "a_b-c"])
def test_good_names(name):
    assert accounts.check_name(name) == name.lower()
