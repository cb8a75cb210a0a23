"""The `xiotlab` command, run as a user would run it, against a real detached lab."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The command starts a detached lab in a child process.
pytestmark = pytest.mark.integration


def xiotlab(home, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xiotlab", "--home", str(home), *args], capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "lab-home"
    yield home
    xiotlab(home, "server", "stop")


def test_server_start_status_accounts_stop(home):
    started = xiotlab(home, "server", "start")
    assert started.returncode == 0, started.stderr
    assert "running on 127.0.0.1:" in started.stdout

    again = xiotlab(home, "server", "start")
    assert again.returncode == 1 and "already runs" in again.stderr

    added = xiotlab(home, "account", "add", "lamp", "alice")
    assert added.returncode == 0, added.stderr
    passwords = json.loads((home / "accounts.json").read_text())
    assert set(passwords) == {"lamp", "alice"}
    for password in passwords.values():
        assert password not in added.stdout + added.stderr

    status = json.loads(xiotlab(home, "server", "status", "--json").stdout)
    assert status["running"] and status["accounts"] == ["alice@xiotlab.localhost", "lamp@xiotlab.localhost"]
    assert xiotlab(home, "account", "list").stdout.split() == status["accounts"]

    stopped = xiotlab(home, "server", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    after = xiotlab(home, "server", "status")
    assert after.returncode == 3 and "xiotlab server start" in after.stdout


def test_user_mistakes_give_one_line_not_a_traceback(home):
    result = xiotlab(home, "account", "add", "lamp")
    assert result.returncode == 1
    assert result.stderr.startswith("xiotlab: No lab server runs under")
    assert "Traceback" not in result.stderr
    nodes = xiotlab(home, "server", "start", "--nodes", "2")
    assert nodes.returncode == 1 and "add `--engine ejabberd`" in nodes.stderr, "said as a command, not as Python"
