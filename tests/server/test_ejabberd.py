"""The lab on ejabberd: start and stop, accounts, TLS required and verified, no process left behind.

The roles' own tests run on ejabberd too (tests/roles/test_on_ejabberd.py, and the whole suite
with ``XIOTLAB_ENGINE=ejabberd``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from xiotlab import LabServer, Owner
from xiotlab.errors import (
    CertificateError,
    EjabberdNotInstalled,
    FederationError,
    Forbidden,
    LabNotRunning,
    ServerCommandRefused,
)
from xiotlab.server import ejabberd
from xiotlab.server.certs import ensure_certificates

pytestmark = pytest.mark.integration


def _beams(files: ejabberd.NodeFiles) -> list[int]:
    """The live Erlang VMs running ejabberd node ``files`` (in its directory)."""
    return [
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and ejabberd.pid_is_ejabberd(int(e.name), files)
    ]


def epmds() -> set[int]:
    """The pids of every epmd running on this machine."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "epmd":
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def _gone(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def ejabberd_lab():
    with LabServer(engine="ejabberd") as lab:
        yield lab


def test_an_ephemeral_lab_serves_then_leaves_no_process_no_epmd_and_no_home():
    epmds_before = epmds()
    lab = LabServer(engine="ejabberd").start()
    home, spool = lab.home, ejabberd.NodeFiles(lab.home)
    assert lab.engine == "ejabberd" and lab.is_running
    assert _beams(spool) == lab.node_pids() == [lab.pid]
    alice = Owner("alice", lab=lab, timeout=10).start()
    assert alice.online
    alice.stop()
    assert epmds() <= epmds_before, "the lab's nodes talk without epmd: none may be started"
    lab.stop()
    assert _gone(lambda: _beams(spool))
    assert not home.exists()
    assert not lab.is_running
    lab.stop()  # twice is fine


def test_the_configuration_has_no_shaper_and_binds_loopback_only(tmp_path):
    files = ejabberd.NodeFiles(tmp_path)
    certs = ensure_certificates(tmp_path / "certs", "lab.test")
    services = {"registry.lab.test": ("s1", 6001), "provisioning.lab.test": ("s2", 6002)}
    config = ejabberd.NodeConfig("lab.test", "127.0.0.1", 5999, certs.server_certificate, certs.ca, services)
    document = json.loads(ejabberd.render_config(files, config).split("\n", 1)[1])
    c2s, api, *services = document["listen"]
    assert c2s["shaper"] == "none" and c2s["starttls_required"] is True and c2s["ip"] == "127.0.0.1"
    assert "shaper" not in document and "c2s_shaper" not in json.dumps(document)
    assert api["port"] == f"unix:{files.api_socket.name}"  # the API: a socket in the node's directory, not a port
    assert document["api_permissions"]["lab"]["what"] == list(ejabberd.API_COMMANDS)  # not "*"
    # One listener per service: ejabberd would give a component every address of its listener.
    assert [list(s["hosts"]) for s in services] == [["registry.lab.test"], ["provisioning.lab.test"]]
    assert all(s["ip"] == "127.0.0.1" for s in services)


def test_tls_is_required_and_verified_against_the_labs_own_authority(ejabberd_lab, tmp_path):
    with socket.create_connection((ejabberd_lab.host, ejabberd_lab.port), timeout=5) as plain:
        plain.sendall(
            f"<?xml version='1.0'?><stream:stream to='{ejabberd_lab.domain}' xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>".encode()
        )
        features = b""
        while b"</stream:features>" not in features:
            features += plain.recv(4096)
    assert b"<starttls" in features and b"<required/>" in features
    assert b"mechanism" not in features, "no authentication is offered before TLS"
    other = ensure_certificates(tmp_path / "other", ejabberd_lab.domain)
    account = ejabberd_lab.account("verifier")
    stranger = Owner(account.jid, password=account.password, host=ejabberd_lab.host, port=ejabberd_lab.port,
                     ca_file=other.ca, timeout=10, reconnect=False)  # fmt: skip
    with pytest.raises(CertificateError):
        stranger.start()


def test_accounts_are_kept_private_and_those_made_while_down_are_registered_at_start(tmp_path):
    home = tmp_path / "home"
    with LabServer(home, engine="ejabberd") as lab:
        first = lab.account("lamp")
        Owner("lamp", lab=lab, timeout=10).start().stop()
    later = lab.account("late")  # the server is down: the book has it, ejabberd does not yet
    assert stat.S_IMODE((home / "accounts.json").stat().st_mode) == 0o600
    assert first.password not in repr(first)
    with LabServer(home, engine="ejabberd") as again:
        assert again.account("lamp") == first
        for name in ("lamp", later.jid):
            participant = Owner(name, lab=again, timeout=10).start()
            assert participant.online
            participant.stop()
        for node_file in (home / "ejabberd").rglob("*"):
            if node_file.is_file() and node_file.suffix in (".yml", ".log", ".json"):
                assert later.password not in node_file.read_text(errors="replace")


def test_a_detached_lab_is_joined_and_stopped_by_another_object(tmp_path):
    home = tmp_path / "home"
    started = LabServer(home, engine="ejabberd", detach=True).start()
    spool = ejabberd.NodeFiles(home)
    try:
        joined = LabServer.running(home)
        assert joined.engine == "ejabberd" and joined.port == started.port and joined.is_running
        assert joined.component("registry").port == started.component("registry").port
        joined.stop()
        assert _gone(lambda: _beams(spool))
        with pytest.raises(LabNotRunning):
            LabServer.running(home)
    finally:
        started.stop()


def test_the_nodes_die_with_a_killed_python_process(tmp_path):
    script = textwrap.dedent(f"""
        from xiotlab import LabServer
        lab = LabServer({str(tmp_path / "home")!r}, engine="ejabberd").start()
        print(lab.pid, flush=True)
        input()
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(child.stdout.readline())
        assert ejabberd.pid_is_ejabberd(pid)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert _gone(lambda: ejabberd.pid_is_ejabberd(pid))
    finally:
        child.kill()
        child.wait()


def test_missing_ejabberd_names_the_install_command(monkeypatch):
    monkeypatch.setattr(ejabberd.shutil, "which", lambda name: None)
    with pytest.raises(EjabberdNotInstalled, match="apt-get install ejabberd"):
        LabServer(engine="ejabberd").start()


def test_engine_choices_are_checked_with_advice():
    with pytest.raises(ValueError, match="prosody, ejabberd"):
        LabServer(engine="openfire")
    with pytest.raises(ValueError, match="ejabberd only"):
        LabServer(nodes=2)
    with pytest.raises(FederationError, match="Prosody engine only"):
        LabServer(engine="ejabberd", federation=True)


def test_the_command_starts_and_stops_an_ejabberd_lab(tmp_path):
    env = {**os.environ, "XIOTLAB_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "xiotlab"]
    started = subprocess.run([*command, "server", "start", "--engine", "ejabberd"], env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    try:
        assert started.returncode == 0, started.stderr
        assert "on ejabberd" in started.stdout
        status = json.loads(
            subprocess.run([*command, "server", "status", "--json"], env=env, capture_output=True, text=True).stdout
        )
        assert status["engine"] == "ejabberd" and status["running"]
    finally:
        subprocess.run([*command, "server", "stop"], env=env, capture_output=True, timeout=60)
    assert _gone(lambda: _beams(ejabberd.NodeFiles(tmp_path / "home")))


def test_a_private_lab_talks_to_no_other_server(ejabberd_lab):
    loner = Owner("loner", lab=ejabberd_lab, timeout=10).start()
    try:
        with pytest.raises(Forbidden, match="forbidden"):
            loner.befriend("thing@elsewhere.lab.test")
    finally:
        loner.stop()


def test_a_lab_home_whose_path_is_not_ascii_runs_with_private_files_and_a_narrow_api(tmp_path):
    home = tmp_path / "josé"
    with LabServer(home, engine="ejabberd") as lab:
        participant = Owner("lamp", lab=lab, timeout=10).start()
        assert participant.online
        participant.stop()
        files = ejabberd.NodeFiles(home)
        assert "\\u00e9" not in files.config.read_text(encoding="utf-8")
        assert stat.S_IMODE(files.config.stat().st_mode) == 0o600, "it holds the services' secrets"
        assert stat.S_IMODE(files.api_socket.stat().st_mode) == 0o600
        api = ejabberd.Api(files)
        try:
            assert "lamp" in ejabberd.registered(api, lab.domain)
            with pytest.raises(ServerCommandRefused, match="registered_vhosts"):
                api.call("registered_vhosts")  # a command the lab does not use: not open
        finally:
            api.close()


def test_the_newest_ejabberd_is_chosen_by_version_number_not_by_spelling():
    newest = max(["/usr/lib/x/ejabberd-23.9-1/ebin", "/usr/lib/x/ejabberd-23.10-1/ebin"], key=ejabberd._version_key)
    assert newest == "/usr/lib/x/ejabberd-23.10-1/ebin"
