"""A small observer list: widgets and user code follow live state through it.

Callbacks run on the thread that made the change (usually the network
thread); an exception in one is logged and does not stop the others. A
coroutine function may observe too: its coroutine runs on the network loop,
so it may ``await owner.aset(...)``.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from .loop import network

log = logging.getLogger("xiotlab")


class Observable:
    """Mix-in: ``observe(callback)`` and ``unobserve(callback)``; ``_notify(*args)`` calls them."""

    def __init__(self) -> None:
        self._observers: list[Callable[..., Any]] = []
        self._observers_lock = threading.Lock()

    def observe(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``callback`` on every change; returns it, so it can decorate a function."""
        with self._observers_lock:
            self._observers.append(callback)
        return callback

    def unobserve(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback`` (nothing happens if it was not observing)."""
        with self._observers_lock:
            if callback in self._observers:
                self._observers.remove(callback)

    def _notify(self, *args: Any) -> None:
        with self._observers_lock:
            observers = list(self._observers)
        for callback in observers:
            try:
                result = callback(*args)
                if inspect.iscoroutine(result):
                    _schedule(result).add_done_callback(self._report_failure)
            except Exception:
                log.exception("an observer of %s raised", type(self).__name__)

    def _report_failure(self, task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("an observer of %s raised", type(self).__name__, exc_info=task.exception())


def _schedule(coroutine):
    """Run an observer's coroutine on the network loop, from whichever thread notified."""
    if network.is_current():
        return network.spawn(coroutine)
    return network.submit(coroutine)
