"""Start, stop and restart the persistent lab from the panel: one at a time, never two at once.

An action runs in a worker thread (a start waits for the server, up to a minute on a loaded
machine). The panel's request gets an answer within :data:`ACTION_TIMEOUT`; an action still
running then goes on, and the lock stays held until it has really ended, so a second start or
stop (another tab, an impatient click) waits for it instead of crossing it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import LabAlreadyRunning, LabNotRunning, XiotlabError
from ...server import LabServer
from ...server.ejabberd import NodeFiles
from ...server.process import tail
from ...server.prosody import ServerFiles

ACTION_TIMEOUT = 60.0
"""Seconds a start, stop or restart may take before the panel is told it is still running."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What an action did: ``ok`` and a text for the panel; ``running`` if it had not ended when answered."""

    ok: bool
    output: str
    running: bool = False


async def perform(
    lock: asyncio.Lock, action: Callable[[Path], str], home: Path, timeout: float = ACTION_TIMEOUT
) -> Outcome:
    """Run ``action(home)`` in a thread under ``lock`` (held until the thread ends); its outcome within ``timeout``."""
    name = getattr(action, "__name__", "action")
    try:
        await asyncio.wait_for(lock.acquire(), timeout)
    except TimeoutError:
        return Outcome(False, f"another start, stop or restart is still running after {timeout:.0f} s; try again later")
    future = asyncio.get_running_loop().run_in_executor(None, action, home)
    future.add_done_callback(lambda _: lock.release())  # only when the thread has ended
    try:
        return Outcome(True, await asyncio.wait_for(asyncio.shield(future), timeout))
    except TimeoutError:
        return Outcome(
            False, f"{name} has not ended after {timeout:.0f} s and is still running; see the lab's log", running=True
        )
    except XiotlabError as e:  # says what went wrong and what to do (a failed start quotes the log)
        return Outcome(False, str(e))
    except Exception as e:  # anything else: its text, and the end of the server's log
        log.exception("xiotlab lab panel: %s under %s failed", name, home)
        return Outcome(False, f"{type(e).__name__}: {e}\n--- the end of the lab's log:\n{tail(log_file(home))}")


def log_file(home: Path) -> Path:
    """The lab's server log: Prosody's, or ejabberd's first node's for a lab on ejabberd.

    The engine is what lab.json records while the lab runs; a stopped lab (lab.json is removed
    at stop) shows the log that exists, Prosody's if both do.
    """
    prosody_log, ejabberd_log = ServerFiles(home).log, NodeFiles(home).log
    try:
        engine = json.loads((home / "lab.json").read_text()).get("engine")
    except (OSError, ValueError, AttributeError):
        engine = None
    if engine == "ejabberd" or (engine is None and not prosody_log.exists() and ejabberd_log.exists()):
        return ejabberd_log
    return prosody_log


def start(home: Path) -> str:
    """Start the persistent lab under ``home`` (with its services), as ``xiotlab server start``."""
    try:
        lab = LabServer.running(home)
        return f"the lab {lab.domain} already runs on {lab.host}:{lab.port} (pid {lab.pid})"
    except LabNotRunning:
        pass
    try:
        lab = LabServer(home, detach=True).start()
    except LabAlreadyRunning as e:  # started by someone else meanwhile
        return str(e)
    return f"lab {lab.domain} running on {lab.host}:{lab.port} (pid {lab.pid}), home {lab.home}"


def stop(home: Path) -> str:
    """Stop the persistent lab under ``home``, as ``xiotlab server stop``."""
    try:
        lab = LabServer.running(home)
    except LabNotRunning:
        return f"no lab server runs under {home}"
    lab.stop()
    return f"stopped the lab server under {home}"


def restart(home: Path) -> str:
    """Stop and start again as it was (:meth:`LabServer.restart`, as ``xiotlab server restart``); start if none ran."""
    try:
        lab = LabServer.restart(home)
    except LabNotRunning:  # no lab ran there (or it was stopped): start one, as the CLI does
        return start(home)
    return f"lab {lab.domain} running on {lab.host}:{lab.port} (pid {lab.pid}), home {lab.home}"


ACTIONS: dict[str, Callable[[Path], str]] = {"start": start, "stop": stop, "restart": restart}
