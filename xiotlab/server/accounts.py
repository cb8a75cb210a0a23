"""Lab accounts: generated passwords, kept in the lab's state and in Prosody's store.

An account is written straight into Prosody's file store as a SCRAM-SHA-1
record (what ``prosodyctl register`` writes), so creating one takes
microseconds and the password never appears on a command line. The
passwords themselves are kept in ``accounts.json`` (mode 0600) in the lab
home, so that any process of the same user can join the lab as any of its
accounts without copying passwords around.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SCRAM_ITERATIONS = 4096
"""PBKDF2 rounds of the SCRAM records the lab writes: RFC 7677's minimum, not Prosody's 10,000.

Rounds slow down guessing a weak password from a stolen store; the lab's passwords are 144 random
bits, which no number of rounds makes harder to guess, while every login pays for each round (a
fleet of a thousand things spent 2.2 s of CPU on 10,000 of them). Accounts keep the count they
were made with; Prosody reads it from each record."""

# What a lab account name may be: a JID localpart simple enough to type in a magic line.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Credentials:
    """An account's JID and password. The password never shows in reprs or strings."""

    jid: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(jid={self.jid!r}, password=<hidden>)"

    __str__ = __repr__


def check_name(name: str) -> str:
    """Return ``name`` lower-cased if it can be a lab account name, else raise ValueError."""
    lowered = name.lower()
    if not _NAME.match(lowered):
        raise ValueError(
            f"{name!r} is not a valid lab account name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (for example 'lamp' or 'alice')."
        )
    return lowered


def _prosody_encode(text: str) -> str:
    # Prosody's datamanager escapes every non-alphanumeric byte as %xx in file names.
    return "".join(c if c.isascii() and c.isalnum() else "".join(f"%{b:02x}" for b in c.encode()) for c in text)


def _lua(value: str | int) -> str:
    return str(value) if isinstance(value, int) else f'"{value}"'


def scram_sha1_record(password: str, salt: str, iterations: int = SCRAM_ITERATIONS) -> dict[str, str | int]:
    """The SCRAM-SHA-1 keys Prosody's internal_hashed provider stores for a password (RFC 5802)."""
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha1")
    server_key = hmac.digest(salted, b"Server Key", "sha1")
    return {
        "iteration_count": iterations,
        "salt": salt,
        "server_key": server_key.hex(),
        "stored_key": hashlib.sha1(client_key).hexdigest(),
    }


def write_prosody_account(data_path: Path, domain: str, name: str, password: str) -> None:
    """Create or replace account ``name@domain`` in a Prosody file store."""
    record = scram_sha1_record(password, str(uuid.uuid4()))
    body = "".join(f'\t["{key}"] = {_lua(value)};\n' for key, value in sorted(record.items()))
    directory = data_path / _prosody_encode(domain) / "accounts"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(directory / f"{_prosody_encode(name)}.dat", "return {\n" + body + "};\n")


class AccountBook:
    """The lab's passwords by account name, in a 0600 JSON file shared by the user's processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def password(self, name: str) -> str | None:
        """The stored password of ``name``, or None."""
        return self._load().get(name)

    def passwords(self) -> dict[str, str]:
        """Every account's password by name."""
        return self._load()

    def names(self) -> list[str]:
        """Every account name, sorted."""
        return sorted(self._load())

    def get_or_create(self, name: str, create) -> str:
        """Return the password of ``name``, calling ``create(name, password)`` first if it is new.

        A lock on the book keeps two processes from giving one account two passwords.
        """
        with self._locked():
            passwords = self._load()
            if name not in passwords:
                passwords[name] = secrets.token_urlsafe(18)
                create(name, passwords[name])
                write_private(self.path, json.dumps(passwords, indent=1, sort_keys=True))
            return passwords[name]

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _locked(self):
        return locked(self.path)


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on ``path`` (on ``<path>.lock``), shared with every process of the user."""
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only (0600)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
