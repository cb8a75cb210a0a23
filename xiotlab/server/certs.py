"""The lab's own certificate authority and the server certificate it signs.

Clients verify the lab server against ``ca.pem`` like any other XMPP server,
so TLS verification never has to be switched off. Keys are elliptic-curve
(P-256): generating them takes milliseconds, which keeps a lab's start fast.

Each lab's CA vouches for its own domain only: it carries a name constraint (RFC 5280) that
permits the domain and its subdomains and no other DNS name, which OpenSSL enforces wherever
the CA is trusted. A federating lab that trusts another lab's CA (:mod:`.federation`) thus
cannot be fooled by it into accepting a certificate for a third lab's domain.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_VALIDITY = dt.timedelta(days=3650)
_KEY_USES = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
SERVER_VALIDITY = dt.timedelta(days=825)


@dataclass(frozen=True)
class CertificatePaths:
    """Where a lab's certificate files are."""

    ca: Path
    server_certificate: Path
    server_key: Path


def ensure_certificates(
    directory: Path, domain: str, *, names: Iterable[str] = (), addresses: Iterable[str] = ()
) -> CertificatePaths:
    """Create the CA and a server certificate for ``domain`` under ``directory`` unless valid ones exist.

    ``names`` are more DNS names the certificate carries (the services' subdomains, which other
    labs verify when they federate); ``addresses`` are IP addresses it carries (a class server
    reached by address). A certificate missing any of them is replaced.
    """
    dns = [domain, *(n for n in names if n != domain)]
    ips = [ipaddress.ip_address(a) for a in addresses]
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = CertificatePaths(
        ca=directory / "ca.pem", server_certificate=directory / "server.pem", server_key=directory / "server-key.pem"
    )
    ca_key_path = directory / "ca-key.pem"
    if not (paths.ca.exists() and ca_key_path.exists() and constrained_to(paths.ca.read_text()) == [domain]):
        # A CA from before name constraints, or made for another domain, is replaced with its certificate.
        ca_key, ca_cert = _new_ca(domain)
        _write_key(ca_key_path, ca_key)
        _write_cert(paths.ca, ca_cert)
        _remove(paths.server_certificate)
    if not _server_certificate_fits(paths.server_certificate, dns, ips):
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(paths.ca.read_bytes())
        key, cert = _new_server_certificate(dns, ips, ca_key, ca_cert)
        _write_key(paths.server_key, key)
        _write_cert(paths.server_certificate, cert)
    return paths


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def constrained_to(ca_pem: str) -> list[str]:
    """The DNS names (with their subdomains) a CA may vouch for; empty if it may vouch for any name.

    ValueError if ``ca_pem`` is no PEM certificate.
    """
    cert = x509.load_pem_x509_certificate(ca_pem.encode())
    try:
        constraints = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return []
    permitted = constraints.permitted_subtrees or []
    return [str(name.value).lower() for name in permitted if isinstance(name, x509.DNSName)]


def _new_ca(domain: str):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xiotlab lab certificate authority")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage("key_cert_sign", "crl_sign"), critical=True)
        # The domain and its subdomains (RFC 5280: "d.lab.test" permits "registry.d.lab.test" too), no other
        # DNS name; IP addresses stay unconstrained (a class server is reached by its address).
        .add_extension(
            x509.NameConstraints(permitted_subtrees=[x509.DNSName(domain)], excluded_subtrees=None), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _key_usage(*granted: str) -> x509.KeyUsage:
    """A key usage extension that grants the named uses and no other."""
    return x509.KeyUsage(**{use: use in granted for use in _KEY_USES})


def _new_server_certificate(dns: list[str], ips: list, ca_key, ca_cert):
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ip) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Client authentication too: a federating lab proves its domain to the other with this certificate.
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _server_certificate_fits(path: Path, dns: list[str], ips: list) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    fresh = cert.not_valid_after_utc - _now() > dt.timedelta(days=7)
    return (
        fresh
        and set(dns) <= set(names.get_values_for_type(x509.DNSName))
        and set(ips) <= set(names.get_values_for_type(x509.IPAddress))
    )


def _write_key(path: Path, key) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _write_cert(path: Path, cert) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
