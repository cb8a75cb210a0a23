"""A person at a real terminal XMPP client reads a thing: profanity, driven through tmux.

Profanity (Debian's, over libstrophe and OpenSSL) logs in to the lab as a
fresh account, verifying the lab's certificate against the lab's own CA
(``SSL_CERT_FILE``, which OpenSSL reads for its default trust store; never
``/tls allow``), asks the thing for friendship, and chats ``read`` to it. What
the person would see is read from the screen with ``tmux capture-pane``.
bin/test installs both programs (bin/setup, with XIOTLAB_BROWSER=1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from xiotlab import Owner, Thing

from ..waiting import eventually

SCREEN_WAIT = 15.0  # a terminal client starting, logging in, and drawing what came


class Terminal:
    """One tmux server of its own (its own socket), running one program in a wide window."""

    def __init__(self, socket: Path, command: list[str], env: dict[str, str]) -> None:
        self.base = ["tmux", "-u", "-S", str(socket)]
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "t", "-x", "220", "-y", "50", "--", "env", *_pairs(env), *command],
            check=True,
        )

    def type(self, line: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "t", "-l", line], check=True)  # -l: the text as is
        subprocess.run([*self.base, "send-keys", "-t", "t", "Enter"], check=True)

    def screen(self) -> str:
        """What the window shows, with the lines that scrolled away."""
        shown = subprocess.run(
            [*self.base, "capture-pane", "-p", "-J", "-t", "t", "-S", "-200"], capture_output=True, text=True
        )
        return shown.stdout

    def shows(self, text: str) -> bool:
        return eventually(lambda: text in self.screen(), SCREEN_WAIT)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def _pairs(env: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in env.items()]


@pytest.fixture
def profanity(lab, tmp_path):
    """``profanity(credentials)`` -> a Terminal running profanity logged in to the lab as that account."""
    missing = [program for program in ("profanity", "tmux") if shutil.which(program) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: this test drives Debian's profanity in tmux. Run bin/test, "
            f"which installs them, or: apt-get install -y {' '.join(missing)}",
            pytrace=False,
        )
    terminals = []

    def start(account) -> Terminal:
        home = tmp_path / "home"
        data = home / ".local" / "share"
        (data / "profanity").mkdir(parents=True)
        (home / ".config" / "profanity").mkdir(parents=True)
        accounts = data / "profanity" / "accounts"
        accounts.write_text(
            f"[{account.jid}]\nenabled=true\njid={account.jid}\nserver={lab.host}\nport={lab.port}\n"
            f"resource=terminal\npassword={account.password}\ntls.policy=force\n"
        )
        accounts.chmod(0o600)
        env = {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(data),
            "SSL_CERT_FILE": str(lab.ca_file),  # the lab's CA is the trust store: the certificate verifies
            "LANG": "C.UTF-8",  # units such as °C drawn as themselves
            "TERM": "xterm-256color",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        terminal = Terminal(tmp_path / "tmux.socket", ["profanity", "-a", account.jid], env)
        terminals.append(terminal)
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


def test_a_person_in_profanity_befriends_a_thing_and_reads_it_in_a_chat(lab, online, name, profanity):
    alice = online(Owner, name("alice"))
    lamp = Thing(name("lamp"), owner=alice.jid, lab=lab, timeout=5)
    lamp.sensor("temperature", unit="°C", decimals=1)(lambda: 21.46)
    online(lamp)
    alice.befriend(lamp.jid)  # the lamp asks its owner about strangers
    bob = lab.account(name("bob"))

    terminal = profanity(bob)
    assert terminal.shows(f"{bob.jid}/terminal logged in successfully"), terminal.screen()
    assert "/tls allow" not in terminal.screen()  # the certificate verified: nothing to accept by hand

    terminal.type(f"/sub request {lamp.jid}")
    alice.next_request(timeout=SCREEN_WAIT).approve()  # the lamp asks its owner, who says yes
    assert eventually(lambda: bob.jid in lamp.roster and lamp.roster[bob.jid].subscription in ("from", "both"))

    terminal.type(f"/msg {lamp.jid} read")
    assert terminal.shows("temperature: 21.5 °C (momentary, "), terminal.screen()
