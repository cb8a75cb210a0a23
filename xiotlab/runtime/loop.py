"""The network thread: one asyncio loop per process that runs every XMPP client.

Cells, scripts and widget callbacks run on other threads (and a Jupyter
kernel runs its own loop); they reach the network loop through :func:`run`
(blocking) or :func:`call` (awaitable from any loop). The pair of public
methods every network operation has, ``x()`` and ``ax()``, is made by
:func:`network_call` and :func:`blocking`.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from ..errors import WrongThread

T = TypeVar("T")
P = ParamSpec("P")
THREAD_NAME = "xiotlab-network"
WORKER_PREFIX = "xiotlab-worker"  # the loop's threads for blocking work (run_in_executor, to_thread)


class NetworkThread:
    """A daemon thread running an asyncio loop forever, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running: set[asyncio.Task] = set()
        self._workers: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = self._start()
            return self._loop

    def _start(self) -> asyncio.AbstractEventLoop:
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        # Our own pool, named, and ours to renew: see release_idle().
        self._workers = concurrent.futures.ThreadPoolExecutor(thread_name_prefix=WORKER_PREFIX)
        loop.set_default_executor(self._workers)

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name=THREAD_NAME, daemon=True)
        self._thread.start()
        ready.wait()
        return loop

    def is_current(self) -> bool:
        """Whether the caller runs on the network thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the network loop and wait for its result in this thread.

        Interrupting the wait (Ctrl-C, a kernel interrupt) cancels the operation.
        """
        if self.is_current():
            coro.close()
            raise WrongThread(
                "A blocking xiotlab call was made on the xiotlab network thread, inside a callback, "
                "where it would wait for itself forever. Use the awaitable form (`await x.a<name>(...)`) "
                "in an async callback instead."
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the network loop from any event loop."""
        if self.is_current():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def do(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the network loop and return its result: at once there, else waiting for it."""
        if self.is_current():
            return fn(*args)

        async def call() -> T:
            return fn(*args)

        return self.run(call())

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(*args)`` on the network loop from any thread."""
        if self.is_current():
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Start ``coro`` as a task of the network loop, from the loop itself, and keep it until it ends.

        The loop holds only weak references to its tasks: one nobody keeps may vanish mid-way.
        """
        task = asyncio.ensure_future(coro, loop=self.loop)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the network loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def release_idle(self) -> bool:
        """Give back the threads nothing uses: the network thread if its loop runs nothing, else idle workers.

        Nothing runs when no task is pending on the loop: a connected client always
        has one (its send loop), as do timers, subscriptions and calls under way.
        Then the loop stops and its thread ends (True); the next network call starts
        another. Otherwise the thread stays, and only the worker threads (blocking
        control handlers and timers) that are idle end, the busy ones when done.
        """
        with self._lock:
            loop, thread = self._loop, self._thread
        if loop is None or loop.is_closed() or thread is None or not thread.is_alive():
            return True
        if self.is_current():
            return False  # a thread cannot join itself

        async def busy() -> bool:
            if any(task is not asyncio.current_task() for task in asyncio.all_tasks()):
                self._renew_workers(loop)
                return True
            return False

        try:
            if asyncio.run_coroutine_threadsafe(busy(), loop).result(timeout=5):
                return False
        except (concurrent.futures.TimeoutError, RuntimeError):
            return False  # a loop too busy to answer is not idle
        self.shutdown()
        return True

    def _renew_workers(self, loop: asyncio.AbstractEventLoop) -> None:
        """A fresh pool for later work; the old one's idle threads end now, its busy ones when done."""
        old, self._workers = self._workers, concurrent.futures.ThreadPoolExecutor(thread_name_prefix=WORKER_PREFIX)
        loop.set_default_executor(self._workers)
        if old is not None:
            old.shutdown(wait=False)

    def shutdown(self) -> None:
        """Stop the loop and join the thread; called at interpreter exit."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or loop.is_closed() or thread is None:
                return

            async def drain() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            if thread.is_alive():
                try:
                    asyncio.run_coroutine_threadsafe(drain(), loop).result(timeout=5)
                except (concurrent.futures.TimeoutError, RuntimeError):
                    pass
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=5)
            if not loop.is_running():
                loop.close()
            self._loop = self._thread = None


network = NetworkThread()
atexit.register(network.shutdown)


def network_call(afn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Make ``async def ax(...)`` run on the network loop, awaited from any loop.

    The signature stays that of ``ax`` for ``help()`` and type checkers.
    """

    @functools.wraps(afn)
    async def hop(*args: P.args, **kwargs: P.kwargs) -> T:
        return await network.call(afn(*args, **kwargs))

    return hop


def blocking(afn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The blocking twin of a :func:`network_call` method ``ax``: ``x = blocking(ax)``, same signature."""
    inner: Callable[P, Coroutine[Any, Any, T]] = afn.__wrapped__  # type: ignore[attr-defined]  # set by network_call
    name = afn.__name__.removeprefix("a")

    @functools.wraps(inner)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return network.run(inner(*args, **kwargs))

    call.__name__ = name
    call.__qualname__ = afn.__qualname__.rsplit(".", 1)[0] + "." + name if "." in afn.__qualname__ else name
    call.__doc__ = (
        inner.__doc__ or ""
    ).rstrip() + f"\n\nBlocking form; ``await {afn.__name__}(...)`` is the awaitable one."
    return call
