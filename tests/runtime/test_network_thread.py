"""The network thread: blocking and awaitable forms from any thread or loop."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from xiotlab import Owner, Thing
from xiotlab.errors import WrongThread
from xiotlab.runtime import blocking, network_call


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


def test_exiting_without_stop_closes_cleanly(lab, name):
    """A script that forgets stop(): it exits promptly and quietly, and its friends see it go offline."""
    watcher = Owner(name("watcher"), lab=lab, timeout=5).start()
    credentials = lab.account(name("forgetful"))
    code = textwrap.dedent(f"""
        import sys
        from xiotlab import Thing
        thing = Thing({credentials.jid!r}, {credentials.password!r}, host={lab.host!r}, port={lab.port},
                      ca_file={str(lab.ca_file)!r}, policy="accept", timeout=5).start()
        print("online", flush=True)
        sys.stdin.readline()
    """)
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "online"
        watcher.befriend(credentials.jid)
        _, stderr = child.communicate("\n", timeout=15)
        assert child.returncode == 0
        assert "Task was destroyed" not in stderr and "Traceback" not in stderr, stderr
        deadline = time.monotonic() + 5
        while watcher.roster[credentials.jid].online and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not watcher.roster[credentials.jid].online
    finally:
        watcher.stop()


def test_blocking_and_awaitable_twins_show_the_same_signature():
    for cls, name in [(Owner, "set"), (Owner, "read"), (Owner, "subscribe"), (Thing, "start"), (Thing, "befriend")]:
        blocking_form, awaitable_form = getattr(cls, name), getattr(cls, f"a{name}")
        assert inspect.signature(blocking_form) == inspect.signature(awaitable_form)
        assert blocking_form.__name__ == name and "Blocking form" in blocking_form.__doc__
