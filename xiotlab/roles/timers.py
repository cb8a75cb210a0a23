"""Periodic behaviour of a thing: functions it runs every so many seconds while online.

A simulated device is mostly a timer: every second, work out the new state
and report it. Timers run only while their thing is online; a sync function
runs on a worker thread (it may block), a coroutine function on the network
loop. A returned mapping is reported as the thing's new values.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..runtime import network

log = logging.getLogger("xiotlab")


@dataclass(eq=False)
class Timer:
    """``function`` called every ``interval`` seconds; ``errors`` counts the calls that raised."""

    function: Callable[[], Any]
    interval: float
    calls: int = 0
    errors: int = 0
    last_error: BaseException | None = None
    task: asyncio.Task | None = field(default=None, repr=False)  # while it runs

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


def seconds(interval: float | dt.timedelta) -> float:
    value = interval.total_seconds() if isinstance(interval, dt.timedelta) else float(interval)
    if not value > 0:
        raise ValueError(f"interval={interval!r}: give a positive number of seconds")
    return value


class Timers:
    """The timers of one thing; ``report`` takes what a timer function returns."""

    def __init__(self, thing_jid: str, report: Callable[..., Any]) -> None:
        self._name = thing_jid
        self._report = report
        self.timers: list[Timer] = []
        self._online = False

    def add(self, function: Callable[[], Any], interval: float | dt.timedelta) -> Timer:
        timer = Timer(function, seconds(interval))
        self.timers.append(timer)
        if self._online:
            network.call_soon(self._launch, timer)
        return timer

    def clear(self) -> None:
        """Stop and forget every timer (any thread)."""
        timers, self.timers = self.timers, []
        for timer in timers:
            network.call_soon(_cancel, timer)

    # --- life cycle (network thread) -------------------------------------------

    def start(self) -> None:
        self._online = True
        for timer in self.timers:
            self._launch(timer)

    def stop(self) -> None:
        self._online = False
        for timer in self.timers:
            _cancel(timer)

    def _launch(self, timer: Timer) -> None:
        if self._online and not timer.running and timer in self.timers:
            timer.task = network.spawn(self._run(timer))

    async def _run(self, timer: Timer) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += timer.interval
            await self._tick(timer)
            # Fixed rate: a slow tick shortens the next wait rather than drifting the schedule.
            due = max(due, loop.time())
            await asyncio.sleep(due - loop.time())

    async def _tick(self, timer: Timer) -> None:
        timer.calls += 1
        try:
            if inspect.iscoroutinefunction(timer.function):
                result = await timer.function()
            else:
                result = await asyncio.to_thread(timer.function)
                if inspect.isawaitable(result):  # a lambda or partial around a coroutine function
                    result = await result
            if isinstance(result, Mapping):
                self._report(**result)
        except Exception as error:  # a bad tick must not end the device
            timer.errors += 1
            repeated = repr(error) == repr(timer.last_error)
            timer.last_error = error
            if repeated:  # a failing 1-second timer must not write a line every second
                return
            log.warning("%s: timer %s raised %s: %s", self._name, _name_of(timer.function), type(error).__name__, error)


def _cancel(timer: Timer) -> None:
    if timer.task is not None:
        timer.task.cancel()
        timer.task = None


def _name_of(function: Callable) -> str:
    return getattr(function, "__qualname__", repr(function))
