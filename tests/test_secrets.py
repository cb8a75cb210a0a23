"""Passwords never show: not in log records at any level, traces, reprs, errors, the command, magics, notebooks.

Every check looks for a password in every shape it could leak in: as is,
hex, URL-encoded, base64 alone and inside SASL PLAIN's ``\\0user\\0password``
(at each of base64's three alignments, so a password inside any base64 text
is found). PLAIN is forced on the real lab through slixmpp's own setting
(``feature_mechanisms.use_mech``) on an xiotlab client: Prosody offers
SCRAM-SHA-1 and PLAIN, and xiotlab's client gives up after a refused SCRAM
attempt instead of falling back to PLAIN, so the setting is the way to see a
PLAIN exchange, the one that carries the password itself.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import subprocess
import sys
import traceback
import urllib.parse
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from xiotlab import Owner
from xiotlab.errors import AuthenticationFailed
from xiotlab.runtime import Endpoint, XmppClient, network
from xiotlab.runtime.secrets import REDACTED, SecretsFilter, redact_text, redacted

ROOT = Path(__file__).resolve().parent.parent


def shapes(password: str, *users: str) -> set[str]:
    """Every text a password could leak as."""
    raw = password.encode()
    found = {
        password,
        raw.hex(),
        raw.hex().upper(),
        urllib.parse.quote(password, safe=""),
        urllib.parse.quote_plus(password),
    }
    found |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    for user in users:
        found.add(base64.b64encode(f"\0{user}\0{password}".encode()).decode())
    for offset in range(3):  # the password's own characters inside any longer base64 text
        text = base64.b64encode(b"\0" * offset + raw).decode()
        found.add(text[-(-offset * 4 // 3) : (offset + len(raw)) * 4 // 3])
    return found


def leaks(text: str, password: str, *users: str) -> list[str]:
    return sorted(shape for shape in shapes(password, *users) if shape in text)


# --- the one redaction, on its own ------------------------------------------------------------------


PLAIN = base64.b64encode(b"\0alice\0hunter2-secret").decode()


@pytest.mark.parametrize(
    "xml",
    [
        f'<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{PLAIN}</auth>',
        f"<sasl:auth xmlns:sasl='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{PLAIN}</sasl:auth>",
        f"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{PLAIN}</response >",
        f"<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{PLAIN}</challenge>",
        f"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{PLAIN}</success>",
        (
            "<iq type='set'><query xmlns='jabber:iq:register'><username>alice</username>"
            "<password>hunter2-secret</password></query></iq>"
        ),
    ],
)
def test_secret_payloads_are_redacted_in_text(xml):
    shown = redact_text(xml)
    assert REDACTED in shown and not leaks(shown, "hunter2-secret", "alice")


def test_text_without_secrets_is_left_as_it_is():
    for text in ("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", "<message><body>hi</body></message>", "plain"):
        assert redact_text(text) == text


def test_the_trace_redacts_through_the_same_function():
    import xml.etree.ElementTree as ET

    auth = ET.fromstring(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{PLAIN}</auth>")
    assert redacted(auth).text == REDACTED and auth.text == PLAIN


def record(msg, *args, exc_info=None, stack_info=None) -> logging.LogRecord:
    return logging.LogRecord(
        "slixmpp.xmlstream.xmlstream", logging.DEBUG, __file__, 1, msg, args, exc_info, None, stack_info
    )


def formatted(rec: logging.LogRecord) -> str:
    assert SecretsFilter().filter(rec) is True  # redacted, never dropped
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    return handler.format(rec)


class Stanza:
    """An object whose str() is XML, as slixmpp's RECV line logs its stanzas."""

    def __str__(self) -> str:
        return f"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{PLAIN}</success>"


def test_log_records_are_redacted_however_they_are_formatted():
    auth = f'<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{PLAIN}</auth>'
    try:
        raise ValueError(f"could not send {auth}")
    except ValueError:
        exc_info = sys.exc_info()
    cases = [
        record("SEND: %s", auth),  # slixmpp's way: the text as an argument
        record(f"SEND: {auth}"),  # pre-formatted
        record("RECV: %s", Stanza()),  # an object formatted late
        record("SEND: %(data)s", {"data": auth}),  # a mapping
        record("failed", exc_info=exc_info),  # in a traceback
        record("here", stack_info=f"Stack (most recent call last):\n  {auth}"),
    ]
    for rec in cases:
        text = formatted(rec)
        assert not leaks(text, "hunter2-secret", "alice"), text


# --- a real connection at DEBUG -------------------------------------------------------------------


class Everything(logging.Handler):
    """Keeps every record's full text, traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, rec: logging.LogRecord) -> None:
        self.texts.append(self.format(rec))


@pytest.fixture
def debug_logs():
    """Every log record of the process at DEBUG, formatted as a handler would."""
    handler = Everything()
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.texts
    root.removeHandler(handler)
    root.setLevel(saved)


def test_a_plain_login_and_a_refused_one_leave_no_password_in_logs_or_traces(lab, name, debug_logs):
    account = lab.account(name("plain"))
    user = account.jid.split("@")[0]
    client = XmppClient(account.jid, account.password, Endpoint(lab.host, lab.port, Path(lab.ca_file)), timeout=5)
    client.stream.plugin["feature_mechanisms"].use_mech = "PLAIN"  # slixmpp's own setting
    network.run(client.connect())
    network.run(client.disconnect())

    wrong = "Wrong-Pass-" + account.password[:8][::-1]
    with pytest.raises(AuthenticationFailed) as refused:
        Owner(account.jid, wrong, lab=lab, timeout=5).start()

    logs = "\n".join(debug_logs)
    assert 'mechanism="PLAIN">' in logs, "the login did not use PLAIN: nothing was tested"
    assert 'mechanism="SCRAM-SHA-1">' in logs
    trace = "\n".join(entry.xml for entry in client.trace)
    for password in (account.password, wrong):
        for where, text in (("logs", logs), ("trace", trace), ("error", str(refused.value))):
            assert not leaks(text, password, user, account.jid), f"{where} leak a password"
        assert not leaks("".join(traceback.format_exception(refused.value)), password, user)


def test_reprs_and_status_show_no_password(lab, online, name):
    alice = online(Owner, name("alice"))
    credentials = lab.account(alice.jid.split("@")[0])
    texts = [
        repr(alice),
        str(alice),
        repr(lab),
        str(lab),
        repr(credentials),
        str(credentials),
        json.dumps(lab.status()),
    ]
    for text in texts:
        assert not leaks(text, credentials.password, credentials.jid), text


# --- the command and the magics -------------------------------------------------------------------


def xiotlab(home, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xiotlab", "--home", str(home), *args], capture_output=True, text=True, timeout=30
    )


@pytest.mark.integration  # starts a detached lab in a child process
def test_the_command_never_prints_a_password(tmp_path):
    home = tmp_path / "lab-home"
    try:
        outputs = [xiotlab(home, "server", "start"), xiotlab(home, "account", "add", "lamp", "alice")]
        outputs += [
            xiotlab(home, *args) for args in (("account", "list"), ("server", "status"), ("server", "status", "--json"))
        ]
        passwords = json.loads((home / "accounts.json").read_text())
        assert set(passwords) == {"lamp", "alice"}
        for output in outputs:
            assert output.returncode == 0, output.stderr
            for user, password in passwords.items():
                assert not leaks(output.stdout + output.stderr, password, user)
    finally:
        xiotlab(home, "server", "stop")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_magic_connecting_with_a_password_from_the_environment_never_echoes_it(monkeypatch, capfd):
    password = "Env-Secret-4711-xyz"
    monkeypatch.setenv("XMPP_PASSWORD", password)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "xiotlab")
    try:
        line = f"%xmpp connect me@example.org --as owner --host 127.0.0.1 --port {closed_port()}"
        result = shell.run_cell(line, store_history=True)
        assert not result.success
        out = capfd.readouterr()
        assert shell.history_manager is not None
        history = "\n".join(str(entry) for entry in shell.history_manager.get_range(output=True))
        for text in (out.out, out.err, str(result.error_in_exec), history):
            assert not leaks(text, password, "me", "me@example.org"), text
    finally:
        shell.run_line_magic("unload_ext", "xiotlab")


# --- notebooks --------------------------------------------------------------------------------------

# A password-looking value beside the word, or a SASL payload that is not redacted.
PASSWORD_VALUE = re.compile(r"""(?i)password\\?["']?\s*[:=]\s*\\?["']?([A-Za-z0-9_\-+/]{8,}={0,2})""")
SASL_PAYLOAD = re.compile(r"<(?:\w+:)?(?:auth|response|challenge|success)\b[^>]*>(?!\[redacted\])([^<]+)<")


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_hold_no_password_value(notebook):
    text = notebook.read_text()
    values = [m.group(1) for m in PASSWORD_VALUE.finditer(text)]
    assert not [v for v in values if v.upper() != v], f"{notebook.name}: password values {values}"  # not an ENV_NAME
    assert not SASL_PAYLOAD.findall(text.replace('\\"', '"')), f"{notebook.name}: a SASL payload is saved unredacted"
