"""A detached lab's services in a background process of their own: start it, find it, stop it.

The process (``python -m xiotlab.roles.lab``, the layer above says what) runs in the lab home,
writes its pid to :data:`SERVICES_READY` once its services are connected, and is stopped with
SIGTERM. Its pid is kept in ``services.pid``; its output goes to ``services.log``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import ServerStartFailed
from . import process as _process

START_TIMEOUT = 10.0  # the services connect to a server that already runs: well within a second
_SERVICES_PID = "services.pid"
SERVICES_READY = "services.ready"
"""The file a background services process writes its pid to once its services are connected."""


def launch(home: Path, command: Sequence[str]) -> None:
    """Start a detached lab's services in a background process of their own, logging to the lab home."""
    with open(home / "services.log", "ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=home,
            start_new_session=True,
        )
    (home / _SERVICES_PID).write_text(str(process.pid))
    ready = home / SERVICES_READY
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if ready.exists() and ready.read_text() == str(process.pid):
            return
        time.sleep(0.05)
    if process.poll() is None:
        process.terminate()
    tail = _process.tail(home / "services.log")
    raise ServerStartFailed(
        f"The lab's services did not come up within {START_TIMEOUT:.0f} s. "
        f"Their log ({home / 'services.log'}) ends with:\n{tail}"
    )


def pid(home: Path) -> int | None:
    """The pid of the background process serving this lab's services, if it runs."""
    try:
        kept = int((home / _SERVICES_PID).read_text())
        cmdline = Path(f"/proc/{kept}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return kept if str(home).encode() in cmdline else None  # not a reused pid


def stop(home: Path) -> None:
    """Stop the lab's background services process (SIGTERM), waiting up to STOP_TIMEOUT for it to go."""
    running = pid(home)
    if running is not None:
        os.kill(running, signal.SIGTERM)
        deadline = time.monotonic() + _process.STOP_TIMEOUT
        while time.monotonic() < deadline and not _gone(running, home):
            time.sleep(0.02)
    (home / _SERVICES_PID).unlink(missing_ok=True)


def _gone(process_id: int, home: Path) -> bool:
    """Whether the services process ``process_id`` ended: collected, if this process started it (no zombie
    is left), else no longer showing the lab home in its command line (what an exiting process loses)."""
    try:
        collected, _ = os.waitpid(process_id, os.WNOHANG)
    except ChildProcessError:  # another process's child: its parent collects it
        return pid(home) != process_id
    return collected == process_id


def pid_alive(process_id: int) -> bool:
    """Whether process ``process_id`` exists (another user's counts)."""
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
