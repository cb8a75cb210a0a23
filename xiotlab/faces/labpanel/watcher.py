"""Watching the lab: its state read a few times a second, pushed to every listening panel when it changes.

One poll serves every open panel of this Jupyter server. It runs only while a panel listens,
reads the lab in a worker thread (the admin shell and the files answer in about a millisecond,
but never on Tornado's loop), and hands each listener the whole new state when anything in it
changed: a state is a few kilobytes, so a diff would save nothing worth its complexity.

A read that fails (a store being rewritten, an unreadable file, a lab.json of another
version) never ends the poll: it is logged, and the panels get the last state with
``problem`` saying what went wrong, until a read succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from .snapshot import LabReader, dumps, problem_state

POLL_INTERVAL = 0.25
"""Seconds between two reads of the lab: a presence change reaches a panel within about this long."""

log = logging.getLogger(__name__)


class LabWatcher:
    """Polls one lab home while someone listens (:meth:`changes`); :meth:`read` reads it once."""

    def __init__(self, home: Path, interval: float = POLL_INTERVAL, logger: logging.Logger | None = None) -> None:
        self.home = home
        self.interval = interval
        self.log = logger or log
        self.reader = LabReader(home)
        self._listeners: set[asyncio.Queue[str]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last: str | None = None
        self._last_state: dict[str, Any] | None = None
        self._lock = asyncio.Lock()  # one read of the shell at a time
        self.acting = asyncio.Lock()  # held while the lab is started, stopped or restarted

    async def read(self) -> dict[str, Any]:
        """The lab's state now; if reading it fails, the last state with ``problem`` saying why."""
        async with self._lock:
            try:
                state = await asyncio.get_running_loop().run_in_executor(None, self.reader.read)
            except Exception as e:  # any failure: shown in the panel and logged, and the poll goes on
                self.log.warning("xiotlab lab panel: reading the lab at %s failed", self.home, exc_info=True)
                return problem_state(self.home, f"reading the lab at {self.home} failed: {e!r}", self._last_state)
            self._last_state = state
            return state

    async def changes(self, heartbeat: float | None = None) -> AsyncGenerator[str | None, None]:
        """The lab's state as JSON now, then again each time it changes, for as long as the caller iterates.

        With ``heartbeat``, None comes after that many quiet seconds (the caller writes a keep-alive):
        the generator itself waits, so a quiet spell never ends it.
        """
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=4)
        self._listeners.add(queue)
        if self._task is None or self._task.done():
            self._last = None
            self._task = asyncio.create_task(self._poll())
        elif self._last is not None:
            queue.put_nowait(self._last)
        try:
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), heartbeat)
                except TimeoutError:
                    yield None
        finally:
            self._listeners.discard(queue)
            if not self._listeners and self._task is not None:
                self._task.cancel()
                self._task = None

    async def poke(self) -> None:
        """Read now (after an action changed the lab) rather than at the next tick."""
        await self._publish()

    async def _poll(self) -> None:
        while self._listeners:
            await self._publish()
            await asyncio.sleep(self.interval)

    async def _publish(self) -> None:
        text = dumps(await self.read())
        if text == self._last:
            return
        self._last = text
        for queue in list(self._listeners):
            if queue.full():  # a slow panel gets the newest state, not a backlog
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(text)

    def close(self) -> None:
        """Stop polling and close the admin socket connections (Jupyter's shutdown)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.reader.close()
