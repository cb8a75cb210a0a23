"""A class server: student accounts, their hand-out files, and the `xiotlab class` command."""

from __future__ import annotations

import csv
import json
import socket
import stat
import subprocess
import sys

import pytest

from xiotlab import LabServer, Owner
from xiotlab.errors import HandoutError
from xiotlab.server import classroom

pytestmark = pytest.mark.integration

CLASS_ADDRESS = "127.0.0.8"  # loopback, but not 127.0.0.1: the hand-out must carry the address the lab listens on


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def class_lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("class") / "home"
    with LabServer(home, domain="class.lab.test", host=CLASS_ADDRESS, services=False) as lab:
        yield lab


@pytest.fixture(autouse=True)
def student_home(tmp_path, monkeypatch):
    """The student's own lab home (where a hand-out's CA is written), not the tester's."""
    monkeypatch.setenv("XIOTLAB_HOME", str(tmp_path / "student-home"))


def test_students_get_accounts_and_private_hand_outs(class_lab):
    paths = classroom.add_students(class_lab, 3, prefix="pupil")
    assert [p.name for p in paths] == ["pupil01.json", "pupil02.json", "pupil03.json"]
    folder = paths[0].parent
    assert folder == class_lab.home / "handout" and _mode(folder) == 0o700
    for path in paths:
        assert _mode(path) == 0o600
        data = json.loads(path.read_text())
        assert data["domain"] == "class.lab.test" and data["address"] == CLASS_ADDRESS
        assert data["port"] == class_lab.port and data["ca"] == class_lab.ca_file.read_text()
        assert data["password"] == class_lab.password_of(data["jid"])
    assert {f"pupil0{i}@class.lab.test" for i in (1, 2, 3)} <= set(class_lab.accounts())


def test_the_index_lists_students_without_passwords(class_lab):
    paths = classroom.add_students(class_lab, 2, prefix="reader")
    index = class_lab.home / "handout" / "index.csv"
    assert _mode(index) == 0o600
    rows = list(csv.DictReader(index.open()))
    assert {"reader01@class.lab.test", "reader02@class.lab.test"} <= {r["jid"] for r in rows}
    assert "password" not in rows[0]
    text = index.read_text()
    for path in paths:
        assert json.loads(path.read_text())["password"] not in text
    assert classroom.students(class_lab) == rows


def test_numbers_continue_after_the_last_student(class_lab):
    classroom.add_students(class_lab, 2, prefix="late")
    more = classroom.add_students(class_lab, 9, prefix="late")
    assert more[0].stem == "late03" and more[-1].stem == "late11"


def test_a_student_joins_with_the_hand_out_alone(class_lab):
    path = classroom.add_students(class_lab, 1, prefix="joiner")[0]
    handout = classroom.read_handout(path)
    assert handout.password not in repr(handout) and handout.password not in str(handout)
    student = Owner(
        handout.jid, handout.password, host=handout.address, port=handout.port, ca_file=handout.ca_file, timeout=5
    )
    try:
        student.start()
        assert student.online and student.jid == "joiner01@class.lab.test"
        assert handout.ca_file.read_text() == class_lab.ca_file.read_text()
    finally:
        student.stop()


def test_a_hand_out_names_an_address_students_can_reach(class_lab, tmp_path):
    with pytest.raises(HandoutError, match="--address"):
        classroom.add_students(class_lab, 1, prefix="nowhere", address="0.0.0.0")
    with pytest.raises(HandoutError, match="from 1 to 1000"):
        classroom.add_students(class_lab, 0)


def test_reading_something_that_is_not_a_hand_out_says_so(tmp_path):
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    with pytest.raises(HandoutError, match="not an xiotlab hand-out"):
        classroom.read_handout(tmp_path / "notes.json")
    (tmp_path / "garbage.json").write_text("not json")
    with pytest.raises(HandoutError, match="not JSON"):
        classroom.read_handout(tmp_path / "garbage.json")
    with pytest.raises(HandoutError, match="Cannot read"):
        classroom.read_handout(tmp_path / "missing.json")


# --- the command ---------------------------------------------------------------


def xiotlab(home, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xiotlab", "--home", str(home), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "teacher"
    yield home
    xiotlab(home, "server", "stop")


def test_a_teacher_starts_a_class_server_and_adds_students_from_the_command_line(home):
    started = xiotlab(home, "server", "start", "--listen", "127.0.0.9", "--domain", "room.lab.test")
    assert started.returncode == 0, started.stderr
    assert "room.lab.test running on 127.0.0.9:" in started.stdout

    added = xiotlab(home, "class", "add", "3")
    assert added.returncode == 0, added.stderr
    assert "3 students (student01 to student03)" in added.stdout
    assert "127.0.0.9, a loopback address" in added.stderr, "students elsewhere could not reach it: say so"
    passwords = json.loads((home / "accounts.json").read_text())
    assert {"student01", "student02", "student03"} <= set(passwords)
    for password in passwords.values():
        assert password not in added.stdout + added.stderr
    handouts = sorted((home / "handout").glob("student*.json"))
    assert [_mode(p) for p in handouts] == [0o600] * 3

    listed = xiotlab(home, "class", "list")
    assert listed.returncode == 0 and "student02@room.lab.test  student02.json  (127.0.0.9:" in listed.stdout
    for password in passwords.values():
        assert password not in listed.stdout

    restarted = xiotlab(home, "server", "restart")
    assert "room.lab.test running on 127.0.0.9:" in restarted.stdout, "a restart keeps the address"


def test_class_commands_need_a_running_lab(home):
    result = xiotlab(home, "class", "add", "2")
    assert result.returncode == 1 and result.stderr.startswith("xiotlab: No lab server runs under")


def test_a_class_server_whose_port_was_taken_says_the_hand_outs_are_stale(home):
    assert xiotlab(home, "server", "start", "--listen", "127.0.0.9", "--domain", "room.lab.test").returncode == 0
    assert xiotlab(home, "class", "add", "1", "--address", "192.0.2.7").returncode == 0
    port = int((home / "port").read_text())
    xiotlab(home, "server", "stop")
    with socket.socket() as squatter:  # another program took the port while the lab was stopped
        squatter.bind(("127.0.0.9", port))
        squatter.listen()
        started = xiotlab(home, "server", "start", "--listen", "127.0.0.9", "--domain", "room.lab.test")
    assert started.returncode == 0, started.stderr
    assert f"hand-outs name port {port}" in started.stderr and f"--port {port}" in started.stderr
