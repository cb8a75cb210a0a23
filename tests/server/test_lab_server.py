"""LabServer against the real Prosody: life cycle, accounts, errors, no stray processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from xiotlab import LabServer
from xiotlab.errors import LabAlreadyRunning, LabHomeNotWritable, LabNotRunning, PortInUse, ProsodyNotInstalled
from xiotlab.server import prosody

# Most tests start a Prosody of their own, some in a child process where tests/conftest.py cannot see it.
pytestmark = pytest.mark.integration


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not prosody.pid_is_prosody(pid):
            return True
        time.sleep(0.02)
    return False


def test_ephemeral_lab_listens_then_leaves_nothing_behind():
    lab = LabServer().start()
    pid, home = lab.pid, lab.home
    with socket.create_connection((lab.host, lab.port), timeout=1):
        pass
    assert prosody.pid_is_prosody(pid)
    assert lab.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
    lab.stop()
    assert _wait_gone(pid)
    assert not home.exists()
    assert not lab.is_running
    lab.stop()  # twice is fine


def test_context_manager_stops(tmp_path):
    with LabServer(tmp_path / "home") as lab:
        pid = lab.pid
        assert lab.is_running
    assert _wait_gone(pid)
    assert (tmp_path / "home" / "certs" / "ca.pem").exists(), "a lab with a home keeps its state"


def test_account_is_created_once_and_kept_private(lab):
    first = lab.account("Sensor-1")
    again = lab.account("sensor-1@" + lab.domain)
    assert first.jid == f"sensor-1@{lab.domain}"
    assert again == first
    assert first.password not in repr(first) and first.password not in str(first)
    book = lab.home / "accounts.json"
    assert stat.S_IMODE(book.stat().st_mode) == 0o600
    assert json.loads(book.read_text())["sensor-1"] == first.password
    assert first.jid in lab.accounts()


@pytest.mark.parametrize("bad", ["", "has space", "a/b", "x" * 65, "-lead"])
def test_bad_account_names_are_refused_with_advice(lab, bad):
    with pytest.raises(ValueError, match="valid lab account name"):
        lab.account(bad)


def test_account_on_another_domain_is_refused(lab):
    with pytest.raises(ValueError, match="not on this lab's domain"):
        lab.account("alice@elsewhere.example")


def test_explicit_port_taken_raises_port_in_use():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(PortInUse, match=str(port)):
            LabServer(port=port).start()


def test_home_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(LabHomeNotWritable, match="cannot be written"):
        LabServer(blocker / "home").start()


def _ephemeral_homes() -> set:
    return set(Path(tempfile.gettempdir()).glob("xiotlab-lab-*"))


def test_missing_prosody_names_the_install_command(monkeypatch):
    before = _ephemeral_homes()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ProsodyNotInstalled, match="apt-get install prosody"):
        LabServer().start()
    assert _ephemeral_homes() <= before, "a failed start left its temporary home behind"


def test_second_lab_on_the_same_home_is_refused_and_running_joins_it(tmp_path):
    home = tmp_path / "shared"
    with LabServer(home, detach=True) as first:
        with pytest.raises(LabAlreadyRunning, match=r"LabServer\.running"):
            LabServer(home).start()
        joined = LabServer.running(home)
        assert (joined.port, joined.domain, joined.pid) == (first.port, first.domain, first.pid)
        assert joined.account("lamp") == first.account("lamp")
        with joined:
            pass
        assert first.is_running, "leaving a `with` on a joined lab must not stop it"


def test_running_without_a_lab_says_how_to_start_one(tmp_path):
    with pytest.raises(LabNotRunning, match="xiotlab server start"):
        LabServer.running(tmp_path / "nothing-here")


def _python(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True, **kwargs)


def test_killed_python_process_takes_its_ephemeral_lab_along():
    child = _python(
        """
        import time
        from xiotlab import LabServer
        lab = LabServer().start()
        print(lab.pid, flush=True)
        time.sleep(60)
        """
    )
    pid = int(child.stdout.readline())
    assert prosody.pid_is_prosody(pid)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert _wait_gone(pid), "the lab server outlived the process that owned it"


def test_lab_started_from_a_short_lived_thread_survives_the_thread():
    child = _python(
        """
        import threading, time
        from xiotlab import LabServer
        labs = []
        t = threading.Thread(target=lambda: labs.append(LabServer().start()))
        t.start(); t.join()
        time.sleep(0.5)
        print(labs[0].is_running, flush=True)
        """
    )
    assert child.stdout.readline().strip() == "True"
    child.wait(10)


def test_detached_lab_outlives_its_process_until_stopped(tmp_path):
    home = tmp_path / "persistent"
    child = _python(
        f"""
        from xiotlab import LabServer
        print(LabServer({str(home)!r}, detach=True).start().pid, flush=True)
        """
    )
    pid = int(child.stdout.readline())
    child.wait(10)
    try:
        assert prosody.pid_is_prosody(pid)
        LabServer.running(home).stop()
        assert _wait_gone(pid)
        assert not (home / "lab.json").exists()
    finally:
        if prosody.pid_is_prosody(pid):
            os.kill(pid, signal.SIGKILL)
