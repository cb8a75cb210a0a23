"""A class server's students: their accounts and the hand-out each one joins with.

``xiotlab class add 30`` (:func:`add_students`) creates ``student01`` to ``student30`` on the
running lab and writes, in the lab home's ``handout`` folder (mode 0700), one small JSON file
per student (mode 0600): where the lab is (domain, address, port), the account and its
password, and the lab's CA certificate inline, so a student's notebook needs nothing else:
``%xmpp join student07.json``. Beside them, ``index.csv`` lists who has which file, without
passwords. Nothing here prints a password; :class:`Handout` hides it in its repr.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HandoutError, LabNotRunning
from .accounts import write_private
from .lab import LabServer, default_home, reachable_ip

FORMAT = "xiotlab-handout/1"
"""The hand-out file's ``format``: a reader refuses any other."""
FOLDER = "handout"
INDEX = "index.csv"
INDEX_COLUMNS = ("account", "jid", "file", "address", "port")


@dataclass(frozen=True)
class Handout:
    """One student's way into a class server. The password never shows in its repr."""

    domain: str
    address: str
    port: int
    jid: str
    password: str = field(repr=False)
    ca_pem: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Handout({self.jid} at {self.address}:{self.port}, password=<hidden>)"

    __str__ = __repr__

    @property
    def ca_file(self) -> Path:
        """The lab's CA as a file (what TLS verification reads), written once per CA in the user's lab home.

        Not in a shared temporary directory: another user could put another authority there.
        """
        folder = default_home() / "authorities"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"ca-{hashlib.sha256(self.ca_pem.encode()).hexdigest()[:16]}.pem"
        if not path.exists() or path.read_text() != self.ca_pem:
            write_private(path, self.ca_pem)
        return path

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "domain": self.domain,
            "address": self.address,
            "port": self.port,
            "jid": self.jid,
            "password": self.password,
            "ca": self.ca_pem,
        }
        return json.dumps(data, indent=1)


def handout_folder(lab: LabServer) -> Path:
    """The lab's hand-out folder (mode 0700), made if missing."""
    folder = _home(lab) / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    return folder


def add_students(lab: LabServer, count: int, *, prefix: str = "student", address: str | None = None) -> list[Path]:
    """Create ``count`` more student accounts on ``lab`` and their hand-out files; the files' paths.

    Numbers continue after the highest one with ``prefix`` (``student31`` after ``student30``), at
    least two digits. ``address`` is where students reach the lab (default: where it listens).
    """
    if not 1 <= count <= 1000:
        raise HandoutError(f"{count} students: give a number from 1 to 1000.")
    address = _reachable(address or lab.host)
    if not lab.port:
        raise HandoutError(f"{lab!r} has no port yet: start it first (`xiotlab server start --listen ADDRESS`).")
    folder = handout_folder(lab)
    taken = [int(m.group(1)) for n in lab.accounts() if (m := re.fullmatch(rf"{re.escape(prefix)}(\d+)@.*", n))]
    first = max(taken, default=0) + 1
    width = max(2, len(str(first + count - 1)))
    ca_pem = lab.ca_file.read_text()
    paths = []
    for number in range(first, first + count):
        credentials = lab.account(f"{prefix}{number:0{width}d}")
        handout = Handout(lab.domain, address, lab.port, credentials.jid, credentials.password, ca_pem)
        path = folder / f"{credentials.jid.split('@')[0]}.json"
        write_private(path, handout.to_json())
        paths.append(path)
    _write_index(folder)
    return paths


def students(lab: LabServer) -> list[dict[str, str]]:
    """The rows of the hand-out index: account, jid, file, address, port (no passwords)."""
    try:
        text = (_home(lab) / FOLDER / INDEX).read_text()
    except FileNotFoundError:
        return []
    return list(csv.DictReader(io.StringIO(text)))


def read_handout(path: str | os.PathLike) -> Handout:
    """The hand-out in ``path``; HandoutError saying what is wrong if it is not one."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise HandoutError(f"Cannot read the hand-out {path} ({e.strerror}): check the file's name.") from None
    except ValueError:
        raise HandoutError(f"{path} is not a hand-out (not JSON): use the file your teacher gave you.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise HandoutError(f"{path} is not an xiotlab hand-out ({FORMAT}): use the file your teacher gave you.")
    try:
        handout = Handout(
            str(data["domain"]),
            str(data["address"]),
            int(data["port"]),
            str(data["jid"]),
            str(data["password"]),
            str(data["ca"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise HandoutError(f"The hand-out {path} lacks or garbles {e}: ask for a fresh one.") from None
    if not 0 < handout.port < 65536:
        raise HandoutError(f"The hand-out {path} names port {handout.port}, which no server has: ask for a fresh one.")
    return handout


def _home(lab: LabServer) -> Path:
    if lab.home is None:
        raise LabNotRunning("This ephemeral lab has not been started yet: call `start()` first.")
    return lab.home


def _reachable(address: str) -> str:
    """``address`` if students can be sent there; 0.0.0.0 and :: listen everywhere but reach nowhere.

    A host name is taken as is: students resolve it.
    """
    if reachable_ip(address) or not _is_ip(address):
        return address
    raise HandoutError(
        f"The lab listens on {address}, which is no address to reach it at: give the one students "
        "use with `--address` (the machine's LAN address)."
    )


def loopback_note(address: str) -> str | None:
    """A warning if hand-outs for ``address`` reach only this machine (students' kernels elsewhere cannot)."""
    if not (_is_ip(address) and ipaddress.ip_address(address).is_loopback):
        return None
    return (
        f"the hand-outs name {address}, a loopback address: only notebooks on this machine reach it. For "
        "students on other machines start the lab with `--listen` its LAN address, or give `--address`."
    )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _write_index(folder: Path) -> None:
    rows = []
    for path in sorted(folder.glob("*.json")):
        try:
            handout = read_handout(path)
        except HandoutError:
            continue
        rows.append([handout.jid.split("@")[0], handout.jid, path.name, handout.address, handout.port])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(INDEX_COLUMNS)
    writer.writerows(rows)
    write_private(folder / INDEX, out.getvalue())
