"""What every live widget shares: redraws coalesced on one UI thread, errors shown, not lost.

Values arrive on the network thread, clicks on whatever thread the kernel
gives a comm (a subshell, say). Neither draws: they change the widget's
state and call :meth:`Redraws.request`. One daemon thread, ``xiotlab-ui``,
then draws each widget at most ``rate`` times a second, however often it was
asked, and keeps drawing while a cell runs. A widget's redraw or callback
that raises shows its traceback in the widget's ``errors`` output area.
"""

from __future__ import annotations

import concurrent.futures
import functools
import heapq
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets

from ...runtime import network

DEFAULT_RATE = 20.0


class Redraws:
    """Calls ``render()`` at most ``rate`` times a second, on the UI thread, after any ``request()``.

    ``paused`` holds requests back until ``resume()``. ``count`` and ``seconds``
    (time spent rendering) are kept for the benchmarks.
    """

    def __init__(
        self, render: Callable[[], Any], *, rate: float = DEFAULT_RATE, errors: ipywidgets.Output | None = None
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate={rate!r}: give the most redraws per second, a positive number")
        self._render = render
        self.rate = float(rate)
        self.errors = errors
        self.paused = False
        self.closed = False
        self.count = 0
        self.seconds = 0.0
        self._last = 0.0
        self._queued = False
        # `now()` from a caller's thread must not interleave with the UI thread; re-entrant because a
        # redraw that sets a control's value can run an observer that asks for a redraw now.
        # Public as `drawing`: a widget holds it to change what a render reads (closing, say).
        self.drawing = threading.RLock()

    def request(self) -> None:
        """Ask for a redraw soon; from any thread, as often as you like."""
        if self.closed:
            return
        with _ui.lock:
            if self._queued or self.paused:
                return
            self._queued = True
            _ui.enqueue(max(time.monotonic(), self._last + 1 / self.rate), self)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.request()

    def close(self) -> None:
        self.closed = True

    def now(self) -> None:
        """Draw at once in this thread (the first draw; tests and benchmarks); nothing once closed."""
        if not self.closed:
            self._draw()

    # --- the UI thread's side ---

    def dequeued(self) -> None:
        """The UI thread took this off its queue (holding ``_ui.lock``): the next request queues again."""
        self._queued = False

    def draw_unless_stopped(self) -> None:
        """The UI thread's turn: draw, unless closed or paused since the request."""
        if not (self.closed or self.paused):
            self._draw()

    def _draw(self) -> None:
        with self.drawing:
            if self.closed:
                return  # closed while this draw waited for the lock: its widgets are gone
            started = time.perf_counter()
            self._last = time.monotonic()
            try:
                self._render()
            except Exception as error:
                show_error(self.errors, error)
            finally:
                self.count += 1
                self.seconds += time.perf_counter() - started

    def __repr__(self) -> str:
        state = "closed" if self.closed else "paused" if self.paused else "live"
        return f"<Redraws {state}, at most {self.rate:g}/s, {self.count} drawn>"


class _UIThread:
    """The one thread that draws every widget: a queue of (due time, Redraws)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._wake = threading.Condition(self.lock)
        self._queue: list[tuple[float, int, Redraws]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def enqueue(self, due: float, redraws: Redraws) -> None:
        """Queue a redraw (caller holds ``lock``)."""
        heapq.heappush(self._queue, (due, next(self._order), redraws))
        self._wake.notify()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="xiotlab-ui", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread; the next request starts another.

        Redraws still queued are dropped, and may be asked for again: a widget
        that is drawn again later draws its state of then.
        """
        with self.lock:
            thread, self._thread = self._thread, None
            for _, _, redraws in self._queue:
                redraws.dequeued()
            self._queue.clear()
            self._wake.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)  # a redraw under way finishes first

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self.lock:
                while self._thread is me and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._wake.wait(self._queue[0][0] - time.monotonic() if self._queue else None)
                if self._thread is not me:
                    return  # stopped, or replaced by a thread of its own
                _, _, redraws = heapq.heappop(self._queue)
                # Before drawing: a request that arrives during the draw queues the next one.
                redraws.dequeued()
            redraws.draw_unless_stopped()


_ui = _UIThread()
_appending = threading.Lock()


def stop_ui_thread() -> None:
    """End the UI thread (``%unload_ext``); a widget that asks for a redraw later starts it again."""
    _ui.stop()


def show_error(errors: ipywidgets.Output | None, error: BaseException) -> None:
    """Show ``error``'s traceback in an output area (from any thread), or log it when there is none."""
    text = "".join(traceback.format_exception(error))
    if errors is None:
        logging.getLogger("xiotlab").error("%s", text)
        return
    with _appending:  # append_stderr reads and rewrites the outputs: two threads at once would lose one
        errors.append_stderr(text)


def guarded(errors: ipywidgets.Output, callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback``, with any exception it raises shown in ``errors`` instead of vanishing."""

    @functools.wraps(callback)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except Exception as error:
            show_error(errors, error)

    return call


def error_area() -> ipywidgets.Output:
    """The output area where a widget shows what went wrong in its redraws and callbacks."""
    return ipywidgets.Output(layout=ipywidgets.Layout(max_height="12em", overflow="auto"))


def submit(errors: ipywidgets.Output, coro, then: Callable[[Any], Any] | None = None) -> concurrent.futures.Future:
    """Start a network operation from a widget callback without blocking it.

    ``then(result)`` runs when it succeeds (on the network thread: only change
    state and request a redraw there); a failure shows in ``errors``.
    """
    future = network.submit(coro)

    def done(future: concurrent.futures.Future) -> None:
        try:
            result = future.result()
        except BaseException as error:
            show_error(errors, error)
            return
        if then is not None:
            guarded(errors, then)(result)

    future.add_done_callback(done)
    return future
