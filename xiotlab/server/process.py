"""Running the lab's server programs (Prosody, mosquitto): spawn, tie to this process, wait, stop.

A server that belongs to a Python process must die with it, even when that
process is killed: it is started under ``setpriv --pdeathsig``, from a spawner
thread that lives as long as such a server runs, because the kernel sends the
parent-death signal when the *thread* that forked exits (:func:`release_spawner`
ends the thread once none runs). Every server program shares the one spawner.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import PortInUse

STOP_TIMEOUT = 5.0

_spawner: concurrent.futures.ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()
_tied: list[subprocess.Popen] = []  # servers that get SIGTERM when the spawner thread exits


def spawn(
    command: Sequence[str],
    *,
    log: Path,
    cwd: Path,
    tied_to_this_process: bool,
    env: dict[str, str] | None = None,
    umask: int = -1,
) -> subprocess.Popen:
    """Start ``command`` in the foreground of a child process, its output appended to ``log``.

    ``env``: the child's environment, if not this process's. ``umask``: the child's, if not ours.

    ``tied_to_this_process``: the child gets SIGTERM when this Python process ends,
    however it ends. Otherwise it runs in a session of its own and outlives us.
    """
    command = list(command)
    if tied_to_this_process:
        command = ["setpriv", "--pdeathsig", "TERM", "--", *command]
    global _spawner
    with open(log, "ab") as out, _spawner_lock:
        if _spawner is None:
            _spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="xiotlab-spawner")
        process = _spawner.submit(
            subprocess.Popen,
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            umask=umask,
            start_new_session=not tied_to_this_process,
        ).result()
        if tied_to_this_process:
            _tied.append(process)
        return process


def release_spawner() -> bool:
    """End the spawner thread unless a server tied to it still runs; True if no spawner thread is left.

    The next :func:`spawn` starts another. A tied server would get SIGTERM when
    the thread ends, so while one runs the thread stays.
    """
    global _spawner
    with _spawner_lock:
        _tied[:] = [process for process in _tied if process.poll() is None]
        if _spawner is not None and not _tied:
            _spawner.shutdown(wait=True)
            _spawner = None
        return _spawner is None


def listening(process: subprocess.Popen, host: str, port: int, timeout: float) -> bool:
    """Wait until ``host:port`` accepts connections (True), or ``process`` exits or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.01)
    return False


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within STOP_TIMEOUT."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_pid(pid: int, alive: Callable[[int], bool]) -> None:
    """Stop a server this process did not start (a detached one), waiting until ``alive(pid)`` says it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def pid_runs(pid: int, program: str, config: Path | None = None) -> bool:
    """Whether ``pid`` is a live ``program`` (run with ``config``, if given), not a reused pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    if state == "Z":
        return False
    text = b" ".join(cmdline)
    return program.encode() in text and (config is None or str(config).encode() in text)


def free_port(host: str) -> int:
    """A port on ``host`` that nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse if ``host:port`` cannot be bound."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"Port {port} on {host} is taken by another program: choose another port, "
                    "or leave `port` unset to let the lab pick a free one."
                ) from None
            raise


def port_again(kept: Path | int | None, host: str) -> int | None:
    """The port used last time (kept in file ``kept``, or ``kept`` itself), if free now, else None.

    Clients that knew it come back by themselves.
    """
    try:
        port = kept if isinstance(kept, int) else int(kept.read_text()) if kept is not None else None
        if port is None:
            return None
        check_port_free(host, port)
    except (OSError, ValueError, PortInUse):
        return None
    return port
