"""The lab's MQTT broker against the real mosquitto: life cycle, its port kept, no stray process, errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from xiotlab import LabServer
from xiotlab.errors import LabAlreadyRunning, LabNotRunning, MosquittoNotInstalled
from xiotlab.faces.cli import main
from xiotlab.server import mosquitto
from xiotlab.server.mosquitto import Broker

pytestmark = pytest.mark.integration  # starts mosquitto (and Prosody) itself


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not mosquitto.pid_is_mosquitto(pid):
            return True
        time.sleep(0.02)
    return False


def _round_trip(port: int, topic: str = "lab/check", text: str = "hello") -> str:
    """Publish a retained message with mosquitto_pub and read it back with mosquitto_sub."""
    subprocess.run(["mosquitto_pub", "-p", str(port), "-t", topic, "-m", text, "-r"], check=True, timeout=10)
    out = subprocess.run(
        ["mosquitto_sub", "-p", str(port), "-t", topic, "-C", "1", "-W", "5"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return out.stdout.strip()


def test_broker_starts_on_loopback_keeps_its_port_and_stops(tmp_path):
    broker = Broker(tmp_path).start()
    pid, port = broker.pid, broker.port
    try:
        assert broker.url == f"mqtt://127.0.0.1:{port}"
        assert _round_trip(port) == "hello"
        config = (tmp_path / "mosquitto.conf").read_text()
        assert f"listener {port} 127.0.0.1" in config
        assert json.loads((tmp_path / "mqtt.json").read_text())["pid"] == pid
        assert Broker.running(tmp_path).port == port
    finally:
        broker.stop()
    assert _wait_gone(pid) and not broker.is_running
    assert not (tmp_path / "mqtt.json").exists() and Broker.running(tmp_path) is None
    broker.stop()  # twice is fine

    again = Broker(tmp_path).start()
    try:
        assert again.port == port, "the port is kept across restarts, so clients find the broker again"
        assert _round_trip(port, text="again") == "again"
    finally:
        again.stop()


def test_retained_messages_survive_a_restart(tmp_path):
    broker = Broker(tmp_path).start()
    subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", "kept", "-m", "42", "-r"], check=True)
    broker.stop()
    broker = Broker(tmp_path).start()
    try:
        out = subprocess.run(
            ["mosquitto_sub", "-p", str(broker.port), "-t", "kept", "-C", "1", "-W", "5"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert out.stdout.strip() == "42"
    finally:
        broker.stop()


def test_a_second_broker_on_the_same_home_is_refused(tmp_path):
    with_one = Broker(tmp_path).start()
    try:
        with pytest.raises(LabAlreadyRunning, match="xiotlab mqtt stop"):
            Broker(tmp_path).start()
    finally:
        with_one.stop()


def test_lab_with_mqtt_runs_its_broker_and_takes_it_along():
    lab = LabServer(mqtt=True).start()
    home, pid, port = lab.home, lab.mqtt_status()["pid"], lab.mqtt_port
    try:
        assert lab.mqtt_url == f"mqtt://127.0.0.1:{port}"
        assert lab.status()["mqtt"]["url"] == lab.mqtt_url
        assert _round_trip(port) == "hello"
    finally:
        lab.stop()
    assert _wait_gone(pid)
    assert not home.exists()
    assert lab.mqtt_port is None


def test_lab_without_mqtt_says_how_to_get_a_broker(lab):
    assert lab.mqtt_port is None
    assert lab.status()["mqtt"]["running"] is False
    with pytest.raises(LabNotRunning, match=r"mqtt=True.*xiotlab mqtt start"):
        lab.mqtt_url  # noqa: B018


def test_missing_mosquitto_names_the_install_command(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(MosquittoNotInstalled, match="sudo apt-get install mosquitto"):
        mosquitto.find_mosquitto()


def test_a_lab_whose_broker_cannot_start_leaves_nothing_behind(monkeypatch):
    monkeypatch.setattr(mosquitto, "find_mosquitto", lambda: (_ for _ in ()).throw(MosquittoNotInstalled("none")))
    lab = LabServer(mqtt=True, services=False)
    with pytest.raises(MosquittoNotInstalled):
        lab.start()
    assert not lab.is_running
    assert lab.home is None or not lab.home.exists()


def test_killed_python_process_takes_its_broker_along():
    code = """
        import time
        from xiotlab.server.mosquitto import Broker
        import tempfile
        broker = Broker(tempfile.mkdtemp()).start()
        print(broker.pid, flush=True)
        time.sleep(60)
    """
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    pid = int(child.stdout.readline())
    assert mosquitto.pid_is_mosquitto(pid)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert _wait_gone(pid), "the broker outlived the process that owned it"


def test_cli_runs_a_detached_broker_in_the_lab_home(tmp_path, capsys):
    home = str(tmp_path / "home")
    assert main(["--home", home, "mqtt", "status"]) == 3
    assert main(["--home", home, "mqtt", "start"]) == 0
    try:
        assert "MQTT broker running at mqtt://127.0.0.1:" in capsys.readouterr().out
        assert main(["--home", home, "mqtt", "status", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["running"] and status["url"].startswith("mqtt://127.0.0.1:")
        with socket.create_connection(("127.0.0.1", status["port"]), timeout=1):
            pass
        assert main(["--home", home, "mqtt", "start"]) == 0
        assert "already runs" in capsys.readouterr().out
    finally:
        assert main(["--home", home, "mqtt", "stop"]) == 0
    assert _wait_gone(status["pid"])
    assert "stopped" in capsys.readouterr().out
    assert main(["--home", home, "mqtt", "stop"]) == 0
    assert "no MQTT broker" in capsys.readouterr().out
