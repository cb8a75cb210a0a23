"""Running one private MQTT broker (Debian's mosquitto 2.0): its configuration, its process, its port.

A lab started with ``mqtt=True`` runs one beside its Prosody, and ``xiotlab mqtt
start`` runs one for the persistent lab. Like the lab's Prosody it keeps every
file in the lab home (``mosquitto.conf``, ``mosquitto.log``, the retained
messages in ``mosquitto/``, ``mqtt.json`` saying where it listens), binds
loopback only, takes a free port and keeps it across restarts (``mqtt-port``),
and dies with the Python process that started it unless detached (the shared
spawner of :mod:`.process`).

It allows anonymous clients: it listens on loopback only, as the lab's other
services do, so only this machine's users reach it (mosquitto 2.0 refuses
anonymous clients on a configured listener unless told, hence the explicit
``allow_anonymous true``).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
import weakref
from pathlib import Path

from ..errors import LabAlreadyRunning, MosquittoNotInstalled, PortInUse, ServerStartFailed
from . import process

INSTALL_HINT = "sudo apt-get install mosquitto mosquitto-clients"
START_TIMEOUT = 10.0
DEFAULT_HOST = "127.0.0.1"
# Debian installs the broker in /usr/sbin, which an ordinary user's PATH often leaves out.
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class BrokerFiles:
    """The files of one broker, all inside its lab home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.config = home / "mosquitto.conf"
        self.log = home / "mosquitto.log"
        self.data = home / "mosquitto"  # retained messages and persistent sessions, across restarts
        self.port = home / "mqtt-port"  # the port it listened on last, kept so clients find it again
        self.state = home / "mqtt.json"  # where it runs now: pid, host, port


def find_mosquitto() -> str:
    """The path of the ``mosquitto`` executable; MosquittoNotInstalled names the install command."""
    path = shutil.which("mosquitto") or shutil.which("mosquitto", path=os.pathsep.join(_SBIN))
    if not path:
        raise MosquittoNotInstalled(
            "mosquitto, the MQTT broker the lab runs for its MQTT bridge, is not installed. Install it with "
            f"`{INSTALL_HINT}` (Debian/Ubuntu), or run the README's set-up command (bin/setup), then try again."
        )
    return path


def render_config(files: BrokerFiles, *, host: str, port: int) -> str:
    """mosquitto's configuration for a private broker on ``host:port``, its files in the lab home."""
    lines = [
        "# Written by xiotlab at every start; edits are overwritten.",
        "per_listener_settings false",
        f"listener {port} {host}",
        "allow_anonymous true",
        "persistence true",
        f"persistence_location {files.data}/",
        "autosave_interval 60",
        "log_dest stdout",  # the process's output goes to mosquitto.log
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        # Nagle's algorithm would hold small messages back waiting for acknowledgements: latency for nothing.
        "set_tcp_nodelay true",
    ]
    if os.geteuid() == 0:
        # Started as root, mosquitto switches to the user `mosquitto`, who may not read the lab home (0700).
        lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name}")
    return "\n".join([*lines, ""])


def pid_is_mosquitto(pid: int, config: Path | None = None) -> bool:
    """Whether ``pid`` is a live mosquitto (run with ``config``, if given), not a reused pid."""
    return process.pid_runs(pid, "mosquitto", config)


class Broker:
    """A private mosquitto under a lab home: ``Broker(home).start()``, ``.url``, ``.stop()``.

    ``detach``: keep it running after this Python process ends (``xiotlab mqtt start``);
    otherwise it gets SIGTERM when this process ends, however it ends.
    """

    def __init__(
        self, home: str | os.PathLike, *, host: str = DEFAULT_HOST, port: int | None = None, detach: bool = False
    ) -> None:
        self.files = BrokerFiles(Path(home))
        self.host = host
        self.port = port
        self._requested_port = port
        self._detach = detach
        self._process: subprocess.Popen | None = None
        self._pid: int | None = None
        self._finalizer: weakref.finalize | None = None

    @classmethod
    def running(cls, home: str | os.PathLike) -> Broker | None:
        """The broker running under ``home`` (started by any process), or None."""
        files = BrokerFiles(Path(home))
        state = _read_state(files)
        if not state or not pid_is_mosquitto(state.get("pid", 0), files.config):
            return None
        broker = cls(home, host=state["host"], port=state["port"])
        broker._pid = state["pid"]
        return broker

    @property
    def url(self) -> str:
        """``mqtt://HOST:PORT``, what an MQTT client (and :class:`~xiotlab.bridges.MqttBridge`) connects to."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def is_running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return self._pid is not None and pid_is_mosquitto(self._pid, self.files.config)

    @property
    def pid(self) -> int | None:
        return self._pid if self.is_running else None

    def start(self) -> Broker:
        """Start the broker and return once it accepts connections; LabAlreadyRunning if one runs here."""
        if self.is_running:
            return self
        files = self.files
        files.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        files.data.mkdir(mode=0o700, exist_ok=True)
        other = Broker.running(files.home)
        if other is not None:
            raise LabAlreadyRunning(
                f"An MQTT broker already runs under {files.home} (pid {other.pid}, {other.url}). "
                "Use it, or stop it first with `xiotlab mqtt stop`."
            )
        executable = find_mosquitto()
        for attempt in range(3):
            port = self._requested_port or process.port_again(files.port, self.host) or process.free_port(self.host)
            if self._requested_port:
                process.check_port_free(self.host, port)
            self.port = port
            files.config.write_text(render_config(files, host=self.host, port=port))
            popen = process.spawn(
                [executable, "-c", str(files.config)],
                log=files.log,
                cwd=files.home,
                tied_to_this_process=not self._detach,
            )
            if process.listening(popen, self.host, port, START_TIMEOUT):
                break
            log_tail = process.tail(files.log)
            process.stop(popen)
            if "Address already in use" in log_tail and not self._requested_port and attempt < 2:
                continue  # a free port chosen by us was grabbed before mosquitto bound it: pick again
            if "Address already in use" in log_tail:
                raise PortInUse(f"Port {port} on {self.host} was taken before the MQTT broker could bind it.")
            raise ServerStartFailed(
                f"The MQTT broker did not start listening on {self.host}:{port} within {START_TIMEOUT:.0f} s. "
                f"Its log ({files.log}) ends with:\n{log_tail}"
            )
        self._process, self._pid = popen, popen.pid
        files.port.write_text(str(port))
        state = {"pid": popen.pid, "host": self.host, "port": port, "detached": self._detach, "started": time.time()}
        files.state.write_text(json.dumps(state, indent=1))
        if not self._detach:
            self._finalizer = weakref.finalize(self, process.stop, popen)
        return self

    def stop(self) -> None:
        """Stop the broker (one this object started or found running); safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        elif self._process is not None:
            process.stop(self._process)
        elif self._pid is not None and pid_is_mosquitto(self._pid, self.files.config):
            process.stop_pid(self._pid, pid_is_mosquitto)
        state = _read_state(self.files)
        if state and state.get("pid") == self._pid:
            self.files.state.unlink(missing_ok=True)
        self._process = None
        self._pid = None

    def status(self) -> dict:
        """Where the broker runs, as a plain dict."""
        running = self.is_running
        return {
            "running": running,
            "url": self.url if running else None,
            "host": self.host,
            "port": self.port,
            "pid": self.pid,
        }

    def __repr__(self) -> str:
        return f"<Broker {self.url}, {'running' if self.is_running else 'stopped'}, home={str(self.files.home)!r}>"


def _read_state(files: BrokerFiles) -> dict | None:
    try:
        return json.loads(files.state.read_text())
    except (OSError, ValueError):
        return None
