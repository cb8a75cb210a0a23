"""The lab panel's server API (xiotlab.faces.labpanel) in a real JupyterLab, against a real persistent lab.

One JupyterLab for the module (tests/browser/jupyter.py starts it, its state under a tmp dir),
its ``XIOTLAB_HOME`` a persistent lab started here with its services in the background, as
``xiotlab server start`` runs it, listening on 127.0.0.14 rather than the default address (a
restart must keep it). Participants join that lab from this process; what the API says about
them comes from the server's admin socket and stores, not from them. The event stream's
heartbeat is one second here (15 by default), so a test can keep a stream open past a few.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

import xiotlab.roles.lab  # noqa: F401  (a lab started here runs its services)
from xiotlab import LabServer, Owner, Thing
from xiotlab.errors import AdminShellError, LabNotRunning
from xiotlab.faces.labpanel.shell import AdminShell
from xiotlab.faces.labpanel.snapshot import SOCKET

from ..browser.jupyter import JupyterLab, jupyterlab
from ..roles.plugin_peers import plugin_peers
from ..waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.prosody_only, pytest.mark.timeout(180)]  # its admin shell

ARRIVES_WITHIN = 10.0  # seconds: a bound for something that may never come, not a measure
PRESENCE_WITHIN = 3.0  # seconds: "within a second", with room for a loaded machine
HEARTBEAT = 1.0  # seconds between two keep-alive comments on a quiet event stream, in this module's Jupyter
HOST = "127.0.0.14"  # not the default address: restarts keep it (tests use .2-.11, the benchmarks .12-.13)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    lab = LabServer(tmp_path_factory.mktemp("labpanel") / "lab", host=HOST, detach=True).start()
    yield lab.home
    try:
        LabServer.running(lab.home).stop()
    except LabNotRunning:
        pass


@pytest.fixture(scope="module")
def server(home, tmp_path_factory):
    state = tmp_path_factory.mktemp("jupyter")
    heartbeat = f"--ServerApp.tornado_settings=xiotlab_heartbeat={HEARTBEAT}"
    with jupyterlab(root=state / "notebooks", state=state / "jupyter", lab_home=home, options=[heartbeat]) as server:
        yield server


@pytest.fixture
def lab(home) -> LabServer:
    return LabServer.running(home)


@pytest.fixture
def participants():
    started = []

    def start(kind, name, lab, **kwargs):
        participant = kind(f"{name}-{uuid.uuid4().hex[:6]}", lab=lab, timeout=5, **kwargs)
        started.append(participant.start())
        return participant

    yield start
    for participant in started:
        participant.stop()


def request(server: JupyterLab, path: str, method: str = "GET", token: bool = True):
    """``(status, body text)`` of a request to the panel's API."""
    headers = {"Authorization": f"token {server.token}"} if token else {}
    data = b"" if method == "POST" else None
    req = urllib.request.Request(f"{server.url}/xiotlab/{path}", method=method, headers=headers, data=data)
    try:
        with urllib.request.urlopen(req, timeout=90) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def state(server: JupyterLab) -> dict:
    status, body = request(server, "lab")
    assert status == 200, body
    return json.loads(body)


def account(snapshot: dict, jid: str) -> dict | None:
    return next((a for a in snapshot["accounts"] if a["jid"] == jid), None)


class EventStream:
    """The panel's server-sent events, read on a thread: :meth:`wait` for a state that passes a check."""

    def __init__(self, server: JupyterLab) -> None:
        where = urllib.parse.urlsplit(server.url)
        connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=60)
        connection.connect()
        self.socket = connection.sock  # close() shuts it down: the reading thread's recv returns at once
        connection.request("GET", "/xiotlab/events", headers={"Authorization": f"token {server.token}"})
        self.response = connection.getresponse()
        assert self.response.status == 200, self.response.status
        self.states: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.heartbeats = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    self.states.put((time.monotonic(), json.loads(line[6:])))
                elif line.startswith(":"):
                    self.heartbeats += 1
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by close(), from the test's thread

    def wait(self, check, what: str, within: float = ARRIVES_WITHIN) -> tuple[float, dict]:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                when, snapshot = self.states.get(timeout=left)
            except queue.Empty:
                break
            if check(snapshot):
                return when, snapshot
        raise AssertionError(f"No state on the event stream showed {what} within {within:g} s.")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.thread.join(ARRIVES_WITHIN)
        self.response.close()
        self.socket.close()


@pytest.fixture
def events(server):
    stream = EventStream(server)
    yield stream
    stream.close()


def test_a_request_without_jupyters_token_is_refused(server, lab):
    for path, method in (("lab", "GET"), ("events", "GET"), ("log", "GET"), ("server/stop", "POST")):
        status, _ = request(server, path, method, token=False)
        assert status == 403, f"{method} /xiotlab/{path} without the token answered {status}"
    assert lab.is_running, "a refused stop stopped the lab"


def test_the_accounts_are_listed_with_their_state_and_never_a_password(server, lab):
    alice = lab.account(f"alice-{uuid.uuid4().hex[:6]}")
    status, body = request(server, "lab")
    assert status == 200
    snapshot = json.loads(body)
    assert snapshot["server"]["running"] and snapshot["server"]["port"] == lab.port
    assert snapshot["problem"] is None, "the admin socket answers: presence is known"
    assert account(snapshot, alice.jid) == {
        "jid": alice.jid,
        "name": alice.jid.split("@")[0],
        "role": "unknown",
        "online": False,
        "show": "offline",
        "status": "",
        "sessions": 0,
        "hibernating": False,
    }
    passwords = json.loads(lab.accounts_file.read_text()).values()
    assert not [p for p in passwords if p in body], "a password is in the API's answer"


def test_a_presence_change_reaches_the_event_stream_within_a_second_or_so(server, lab, events, participants):
    events.wait(lambda s: s["server"]["running"], "the lab running")
    lamp = participants(Thing, "lamp", lab)  # returns once the thing is online (its presence sent)
    online = time.monotonic()
    online_at, snapshot = events.wait(
        lambda s: (a := account(s, lamp.jid)) is not None and a["online"], f"{lamp.jid} online", PRESENCE_WITHIN
    )
    row = account(snapshot, lamp.jid)
    assert row is not None and row["show"] == "online" and row["sessions"] == 1
    stopping = time.monotonic()
    lamp.stop()
    offline_at, _ = events.wait(
        lambda s: (a := account(s, lamp.jid)) is not None and not a["online"], f"{lamp.jid} offline", PRESENCE_WITHIN
    )
    print(
        f"\npresence on the event stream: online {online_at - online:.3f} s after start() returned, "
        f"offline {offline_at - stopping:.3f} s after stop() was called (stop() itself included)"
    )


def test_the_server_asks_a_new_session_what_it_is(server, lab, events, participants):
    lamp = participants(Thing, "lamp", lab)
    events.wait(
        lambda s: (a := account(s, lamp.jid)) is not None and a["online"] and a["role"] == "thing",
        f"{lamp.jid} online as a thing (a xiotlab thing says client/bot)",
    )


def test_a_stream_kept_open_past_its_heartbeats_still_delivers_changes(server, lab, events, participants):
    events.wait(lambda s: s["server"]["running"], "the lab running")
    assert eventually(lambda: events.heartbeats >= 3, ARRIVES_WITHIN * HEARTBEAT), "no heartbeat on a quiet stream"
    lamp = participants(Thing, "lamp", lab)
    events.wait(lambda s: (a := account(s, lamp.jid)) is not None and a["online"], f"{lamp.jid} online, later")
    assert events.thread.is_alive(), "the same stream, never closed by the server"


def test_the_admin_shell_keeps_no_answers_and_names_a_refused_line(lab):
    shell = AdminShell(lab.home / SOCKET)
    try:
        for _ in range(50):
            shell.sessions()
            assert shell.kept_elements == 0, "a long-lived connection must not keep every answer it parsed"
        with pytest.raises(AdminShellError, match="refused a line"):
            shell.run(">error('no such thing')")
        assert shell.sessions() is not None, "the connection goes on after a refused line"
    finally:
        shell.close()


def test_the_server_asks_many_sessions_at_once(lab, participants):
    lamp = participants(Thing, "lamp", lab)
    bob = participants(Owner, "bob", lab)
    shell = AdminShell(lab.home / SOCKET)
    try:
        full = {s.bare: s.jid for s in shell.sessions()}
        nobody = f"nobody@{lab.domain}/gone"
        unsafe = [f"{full[lamp.jid]}\n", f"evil@{lab.domain}/x')\nos.exit()"]  # never written into Lua
        found = shell.identities([full[lamp.jid], full[bob.jid], nobody, *unsafe])
    finally:
        shell.close()
    assert found[full[lamp.jid]] is not None and found[full[lamp.jid]].type == "bot"  # type: ignore[union-attr]
    assert found[full[bob.jid]] is not None and found[full[bob.jid]].name == "xiotlab"  # type: ignore[union-attr]
    assert found[nobody] is None, "no such session: no identity"
    assert [found[jid] for jid in unsafe] == [None, None]
    assert lab.is_running


def test_a_plain_clients_status_text_and_away_show(server, lab):
    with plugin_peers(lab, lambda prefix: f"{prefix}-{uuid.uuid4().hex[:6]}") as connect:
        person = connect("carol", {"xep_0030": {}})
        person.call(person.xmpp.send_presence, pshow="away", pstatus="at lunch, back at 2")

        def shown() -> dict | None:
            row = account(state(server), person.jid)
            return row if row and row["show"] == "away" else None

        assert eventually(shown, ARRIVES_WITHIN), "the away presence never showed"
        row = shown()
        assert row is not None and row["online"] and row["status"] == "at lunch, back at 2"


def test_an_owner_online_says_it_is_one(server, lab, participants):
    bob = participants(Owner, "bob", lab)
    assert eventually(lambda: (a := account(state(server), bob.jid)) is not None and a["role"] == "owner", 10)


def test_friendship_ownership_roles_and_the_registry(server, lab, participants):
    alice = participants(Owner, "alice", lab)
    serial = uuid.uuid4().hex[:8]
    meter = participants(Thing, "meter", lab, tags={"MAN": "Acme", "SN": serial, "V": 1.5})
    assert eventually(lambda: meter.registered, 10), "the thing did not register"
    assert alice.claim(meter.claim_uri) == meter.jid

    def linked() -> dict | None:
        snapshot = state(server)
        pair = sorted([alice.jid, meter.jid])
        return snapshot if pair in snapshot["friendships"] else None

    assert eventually(linked, ARRIVES_WITHIN), "the friendship never showed"
    snapshot = linked()
    assert snapshot is not None
    assert {"thing": meter.jid, "owner": alice.jid} in snapshot["ownership"]
    assert account(snapshot, meter.jid)["role"] == "thing"  # type: ignore[index]
    assert account(snapshot, alice.jid)["role"] == "owner"  # type: ignore[index]
    entry = next(e for e in snapshot["registry"] if e["jid"] == meter.jid)
    assert entry["claimed"] and entry["owner"] == alice.jid
    assert entry["tags"]["MAN"] == "Acme" and entry["tags"]["SN"] == serial
    assert "KEY" not in entry["tags"], "the claim key is the thing's secret"


def test_the_log_is_served_as_text(server, lab):
    status, body = request(server, "log?lines=20")
    assert status == 200
    assert request(server, "log?lines=many")[0] == 400
    lines = body.splitlines()
    assert 0 < len(lines) <= 20 and lines == lab_log(lab)[-len(lines) :]


def lab_log(lab: LabServer) -> list[str]:
    return (lab.home / "prosody.log").read_text().splitlines()


def test_restart_keeps_where_the_lab_listens_then_stop_and_start_with_a_failure_shown(server, lab):
    assert lab.host == HOST
    status, body = request(server, "server/restart", "POST")
    assert status == 200 and json.loads(body)["ok"], body
    again = LabServer.running(lab.home)
    assert again.pid != lab.pid, "a new server"
    assert (again.host, again.port, again.domain) == (HOST, lab.port, lab.domain), (
        "a restart keeps the address, port and domain: participants find the lab where it was"
    )
    assert again.services and state(server)["server"]["services"], "and its services"

    status, body = request(server, "server/stop", "POST")
    assert status == 200 and json.loads(body)["ok"], body
    with pytest.raises(LabNotRunning):
        LabServer.running(lab.home)
    assert state(server)["server"]["running"] is False

    # A start that fails answers with what went wrong: the lab home's data directory is a file.
    data = lab.home / "data"
    data.rename(lab.home / "data.kept")
    data.write_text("not a directory")
    try:
        status, body = request(server, "server/start", "POST")
    finally:
        data.unlink()
        (lab.home / "data.kept").rename(data)
    answer = json.loads(body)
    assert status == 500 and not answer["ok"] and "cannot be written" in answer["output"], body

    status, body = request(server, "server/start", "POST")
    assert status == 200 and json.loads(body)["ok"], body
    assert state(server)["server"]["running"] is True


DENY_THE_LAB = '''
from jupyter_server.auth.authorizer import Authorizer


class DenyTheLab(Authorizer):
    """Allows everything but the lab panel's resource, as a multi-user authorizer may."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "xiotlab"
'''


def test_jupyters_authorizer_decides_who_may_see_and_act_on_the_lab(lab, tmp_path, monkeypatch):
    (tmp_path / "deny_the_lab.py").write_text(DENY_THE_LAB)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with jupyterlab(
        root=tmp_path / "notebooks",
        state=tmp_path / "jupyter",
        lab_home=lab.home,
        options=["--ServerApp.authorizer_class=deny_the_lab.DenyTheLab"],
    ) as denying:
        for path, method in (("lab", "GET"), ("events", "GET"), ("log", "GET"), ("server/stop", "POST")):
            status, _ = request(denying, path, method)
            assert status == 403, f"{method} /xiotlab/{path} with a valid token but no right answered {status}"
        with urllib.request.urlopen(
            urllib.request.Request(f"{denying.url}/api/status", headers={"Authorization": f"token {denying.token}"}),
            timeout=30,
        ) as response:
            assert response.status == 200, "the same token may use the rest of Jupyter"
    assert LabServer.running(lab.home).is_running, "a refused stop stopped the lab"


def test_jupyters_shutdown_stops_the_panels_watcher(lab, tmp_path):
    with jupyterlab(root=tmp_path / "notebooks", state=tmp_path / "jupyter", lab_home=lab.home) as server:
        events = EventStream(server)  # a panel listening: the watcher polls the lab's admin socket
        try:
            events.wait(lambda s: s["server"]["running"], "the lab running")
        finally:
            events.close()
    log = server.log.read_text()
    assert server.process.returncode is not None
    assert "xiotlab lab panel: stopped watching the lab" in log, log[-3000:]
