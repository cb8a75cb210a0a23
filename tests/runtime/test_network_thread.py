"""The network thread: blocking and awaitable forms from any thread or loop."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest

from xiotlab.errors import WrongThread
from xiotlab.runtime import blocking, network, network_call


class Echo:
    @network_call
    async def aecho(self, value):
        """Return value, after a turn of the network loop."""
        await asyncio.sleep(0)
        return value, threading.current_thread().name

    echo = blocking(aecho)

    @network_call
    async def anested(self):
        return self.echo(1)

    nested = blocking(anested)


def test_blocking_form_runs_on_the_network_thread():
    assert Echo().echo(5) == (5, "xiotlab-network")


def test_awaitable_form_from_another_event_loop():
    async def main():
        return await Echo().aecho("x")

    assert asyncio.run(main()) == ("x", "xiotlab-network")


def test_calls_from_foreign_threads():
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(Echo().echo(i)[0])) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(results) == list(range(8))


def test_blocking_call_on_the_network_thread_raises_instead_of_deadlocking():
    with pytest.raises(WrongThread, match="awaitable form"):
        Echo().nested()


def test_names_and_docs_of_the_pair():
    assert Echo.echo.__name__ == "echo"
    assert "Blocking form" in Echo.echo.__doc__ and "Return value" in Echo.echo.__doc__


def test_interrupting_a_blocking_wait_cancels_the_operation():
    cancelled = threading.Event()

    @network_call
    async def aforever():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    forever = blocking(aforever)
    # A real SIGINT, as a kernel interrupt or Ctrl-C sends it, while the main thread waits.
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        forever()
    assert cancelled.wait(5)
