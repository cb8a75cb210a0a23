"""Federation between labs: whom a lab trusts, where it finds them, and what Prosody needs for it.

A federating lab talks server-to-server (s2s) on port 5269 of its own address, with encryption
and certificate authentication required both ways. It trusts no public authority, only its own
and those recorded with :func:`record_trust` (what ``lab.trust(...)`` and
``xiotlab server trust`` call). Everything lives in the lab home:

- ``federation.json``: the trusted labs, by domain: their address and their CA (PEM), written
  whole under a lock. A CA is trusted for one domain, and only if it says so itself: Prosody
  checks a peer against every trusted CA at once, so a CA without a name constraint limiting
  it to that domain (:mod:`.certs`) could vouch for any lab, and is refused;
- ``certs/s2s-ca.pem``: the bundle Prosody verifies other labs' certificates against
  (this lab's own CA first, then every trusted one);
- ``hosts``: where each domain is, in the hosts-file format Prosody's resolver reads
  (``unbound = { hoststxt = ... }``), so no ``/etc/hosts`` edit or DNS record is needed;
- ``plugins/mod_xiotlab_federation.lua``: a small Prosody module that makes a configuration
  reload re-read that hosts file (Prosody's resolver reads it only once, when it starts), so a
  new trust takes effect on a running lab without disconnecting anyone.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ..errors import FederationError
from .accounts import locked, write_private
from .certs import constrained_to

S2S_PORT = 5269
"""The server-to-server port. Fixed: without DNS SRV records a lab finds another on this port."""

RELOAD_DNS_MODULE = "xiotlab_federation"
_RELOAD_DNS_LUA = """-- Written by xiotlab: re-read the lab's hosts file when the configuration is reloaded.
-- Prosody's resolver keeps the hosts file it read at start; purging it makes it read the new one.
module:set_global();
module:hook_global("config-reloaded", function()
\tlocal ok, unbound = pcall(require, "net.unbound");  -- needs lua-unbound (bin/setup installs it)
\tif ok and unbound.dns and unbound.dns.purge then
\t\tunbound.dns.purge();
\t\tmodule:log("info", "Re-read the federation hosts file");
\telse
\t\tmodule:log("warn", "Cannot re-read the federation hosts file: lua-unbound is missing");
\tend
end, -100);  -- after net.unbound took the new configuration
"""


@dataclass(frozen=True)
class Peer:
    """A lab this lab trusts: its domain, its address and its certificate authority (PEM)."""

    domain: str
    address: str
    ca_pem: str

    def __repr__(self) -> str:
        return f"Peer({self.domain!r} at {self.address})"


@dataclass(frozen=True)
class FederationFiles:
    """The federation files of one lab home."""

    home: Path

    @property
    def peers(self) -> Path:
        return self.home / "federation.json"

    @property
    def cafile(self) -> Path:
        return self.home / "certs" / "s2s-ca.pem"

    @property
    def hosts(self) -> Path:
        return self.home / "hosts"

    @property
    def plugins(self) -> Path:
        return self.home / "plugins"


def service_names(domain: str, services: Iterable[str]) -> list[str]:
    """The names a lab answers to over federation: its domain and its services' subdomains."""
    return [domain, *(f"{name}.{domain}" for name in services)]


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def is_domain(text: str) -> bool:
    """Whether ``text`` is a DNS name (lower case): labels of letters, digits and inner hyphens, dot-separated.

    Nothing else may reach the hosts file or Prosody's configuration: a space or a newline in a
    "domain" would write a line of its own there.
    """
    return len(text) <= 253 and _DOMAIN.fullmatch(text) is not None


def check_address(address: str) -> str:
    """``address`` if it is an IP address a lab can listen on, else FederationError saying why."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise FederationError(
            f"{address!r} is not an IP address: a federating lab listens on, and is found at, an "
            "address such as 127.0.0.2 (loopback) or its LAN address."
        ) from None


def load_peers(home: Path) -> dict[str, Peer]:
    """The labs the lab in ``home`` trusts, by domain."""
    try:
        data = json.loads(FederationFiles(home).peers.read_text())
    except FileNotFoundError:
        return {}
    return {domain: Peer(domain, entry["address"], entry["ca"]) for domain, entry in data.items()}


def record_trust(home: Path, ca_file: str | os.PathLike, *, domain: str, address: str) -> Peer:
    """Record that the lab in ``home`` trusts ``ca_file`` to vouch for ``domain``, found at ``address``.

    The CA is copied into the lab home, so the file may move or vanish afterwards.
    """
    address = check_address(address)
    domain = domain.strip().lower()
    if not is_domain(domain):
        raise FederationError(f"{domain!r} is not a domain: give the other lab's XMPP domain, e.g. b.lab.test.")
    peer = Peer(domain, address, _read_ca(Path(ca_file), domain))
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # a persistent lab not started yet
    path = FederationFiles(home).peers
    with locked(path):  # two trusts at once must both be kept; a reader never sees half a file
        peers = load_peers(home)
        peers[domain] = peer
        data = {p.domain: {"address": p.address, "ca": p.ca_pem} for p in peers.values()}
        write_private(path, json.dumps(data, indent=1, sort_keys=True))
    return peer


def _read_ca(path: Path, domain: str) -> str:
    """The PEM text of a CA certificate for ``domain``; FederationError if the file is missing or not one."""
    try:
        pem = path.read_text()
        cert = x509.load_pem_x509_certificate(pem.encode())
    except OSError as e:
        message = f"Cannot read the CA file {path} ({e.strerror}): give the other lab's `ca_file`."
        raise FederationError(message) from None
    except ValueError:
        raise FederationError(f"{path} holds no PEM certificate: give the other lab's `ca_file`.") from None
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise FederationError(
            f"{path} is not a certificate authority (a server certificate?): give the other lab's `ca_file`."
        )
    _check_vouches_only_for(path, pem, domain)
    return pem if pem.endswith("\n") else pem + "\n"


def _check_vouches_only_for(path: Path, pem: str, domain: str) -> None:
    """Refuse a CA that could vouch for more than ``domain`` and its subdomains.

    Prosody checks a peer's certificate against every trusted CA at once, whatever the peer's
    domain: only the CA's own name constraint keeps lab D's CA from vouching for b.lab.test.
    """
    allowed = constrained_to(pem)
    if not allowed or any(name != domain and not name.endswith("." + domain) for name in allowed):
        which = f"vouches for {', '.join(allowed)}" if allowed else "may vouch for any domain (no name constraint)"
        raise FederationError(
            f"The CA in {path} {which}, not only for {domain}: trusting it would let that lab pose as "
            f"other labs. Give the CA of the lab whose domain is {domain} (its certs/ca.pem; a lab made "
            "before CAs named their domain gets such a CA at its next start)."
        )


def write_files(home: Path, *, domain: str, address: str, own_ca: Path, services: Iterable[str]) -> FederationFiles:
    """Write the CA bundle, the hosts file and the reload module for the lab in ``home``."""
    files = FederationFiles(home)
    peers = load_peers(home).values()
    files.cafile.write_text(own_ca.read_text() + "".join(p.ca_pem for p in peers))
    # A trusted lab's services are federated too (an owner here claims a thing at registry.<its domain>).
    lines = [f"{address} {' '.join(service_names(domain, services))}"]
    lines += [f"{p.address} {' '.join(service_names(p.domain, services))}" for p in peers]
    files.hosts.write_text("# Written by xiotlab: where each federated lab is.\n" + "\n".join(lines) + "\n")
    files.plugins.mkdir(mode=0o700, exist_ok=True)
    (files.plugins / f"mod_{RELOAD_DNS_MODULE}.lua").write_text(_RELOAD_DNS_LUA)
    return files
