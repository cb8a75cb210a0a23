"""The lab panel's server-side pieces that need no server: the watcher's stream, actions, the log's tail.

The watcher reads a lab home written here (no lab running in it: the state says so); actions
are plain functions run as the panel runs start, stop and restart.
"""

from __future__ import annotations

import asyncio
import json
import threading

from xiotlab.errors import LabHomeNotWritable
from xiotlab.faces.labpanel.actions import log_file, perform
from xiotlab.faces.labpanel.handlers import last_lines
from xiotlab.faces.labpanel.watcher import LabWatcher

WAIT = 10.0  # seconds: only a bound for a hang, never a measure of speed


async def next_state(changes) -> dict | None:
    text = await asyncio.wait_for(anext(changes), WAIT)
    return None if text is None else json.loads(text)


def test_a_quiet_stream_sends_heartbeats_and_still_delivers_the_next_change(tmp_path):
    async def scenario() -> None:
        watcher = LabWatcher(tmp_path, interval=0.01)
        changes = watcher.changes(heartbeat=0.02)
        try:
            first = await next_state(changes)
            assert first is not None and first["server"]["running"] is False and first["domain"] is None
            for _ in range(5):  # quiet: only heartbeats, and the stream stays open through them
                assert await next_state(changes) is None
            (tmp_path / "data" / "lab%2etest" / "accounts").mkdir(parents=True)
            while (state := await next_state(changes)) is None:
                pass
            assert state["domain"] == "lab.test"
        finally:
            await changes.aclose()
            watcher.close()

    asyncio.run(scenario())


def test_a_failing_read_shows_as_a_problem_and_the_poll_goes_on(tmp_path):
    async def scenario() -> None:
        watcher = LabWatcher(tmp_path, interval=0.01)
        changes = watcher.changes(heartbeat=WAIT)
        try:
            assert (await next_state(changes))["problem"] is None  # type: ignore[index]
            (tmp_path / "services.sqlite").write_bytes(b"this is not a database" * 100)
            state = await next_state(changes)
            assert state is not None and "reading the lab" in state["problem"] and "DatabaseError" in state["problem"]
            assert state["server"]["running"] is False, "the last state read, with the problem"
            (tmp_path / "services.sqlite").unlink()
            state = await next_state(changes)
            assert state is not None and state["problem"] is None, "the poll went on and read the lab again"
        finally:
            await changes.aclose()
            watcher.close()

    asyncio.run(scenario())


def test_an_action_that_outlasts_its_answer_keeps_others_waiting_until_it_ends(tmp_path):
    release = threading.Event()
    ran: list[str] = []

    def slow_start(home) -> str:
        release.wait(WAIT)
        ran.append("start")
        return "started"

    def stop(home) -> str:
        ran.append("stop")
        return "stopped"

    async def scenario() -> None:
        lock = asyncio.Lock()
        first = await perform(lock, slow_start, tmp_path, timeout=0.05)
        assert not first.ok and first.running and "still running" in first.output
        assert lock.locked(), "the lock is held while the start still runs"
        second = asyncio.create_task(perform(lock, stop, tmp_path, timeout=WAIT))
        await asyncio.sleep(0.05)
        assert not second.done() and ran == [], "a stop must not cross the start"
        release.set()
        outcome = await second
        assert outcome.ok and outcome.output == "stopped"
        assert ran == ["start", "stop"]
        assert not lock.locked()

    asyncio.run(scenario())


def test_an_action_that_waits_too_long_for_another_one_says_so(tmp_path):
    async def scenario() -> None:
        lock = asyncio.Lock()
        await lock.acquire()
        outcome = await perform(lock, lambda home: "never", tmp_path, timeout=0.01)
        assert not outcome.ok and "another start, stop or restart is still running" in outcome.output

    asyncio.run(scenario())


def test_a_failure_answers_its_text_and_an_unexpected_one_the_logs_end_too(tmp_path):
    (tmp_path / "prosody.log").write_text("".join(f"line {i}\n" for i in range(40)) + "the last word\n")

    def refused(home) -> str:
        raise LabHomeNotWritable("The lab home cannot be written: fix its permissions.")

    def broken(home) -> str:
        raise KeyError("domain")

    async def scenario() -> None:
        lock = asyncio.Lock()
        outcome = await perform(lock, refused, tmp_path)
        assert not outcome.ok and outcome.output == "The lab home cannot be written: fix its permissions."
        outcome = await perform(lock, broken, tmp_path)
        assert not outcome.ok and outcome.output.startswith("KeyError: 'domain'")
        assert outcome.output.endswith("the last word"), "the end of the server's log follows"
        assert not lock.locked()

    asyncio.run(scenario())


def test_the_log_is_prosodys_or_ejabberds_as_the_lab_records(tmp_path):
    ejabberd = tmp_path / "ejabberd" / "node1" / "ejabberd.log"
    assert log_file(tmp_path) == tmp_path / "prosody.log"
    (tmp_path / "lab.json").write_text(json.dumps({"engine": "ejabberd", "nodes": 1}))
    assert log_file(tmp_path) == ejabberd
    (tmp_path / "lab.json").unlink()  # stopped: the log there is
    ejabberd.parent.mkdir(parents=True)
    ejabberd.write_text("")
    assert log_file(tmp_path) == ejabberd


def test_the_logs_tail_is_read_from_its_end(tmp_path):
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {i} " + "x" * 100 + "\n" for i in range(20000)))  # about 2 MB
    tail = last_lines(log, 3, block=4096)
    assert tail is not None and tail.splitlines() == [f"line {i} " + "x" * 100 for i in (19997, 19998, 19999)]
    assert last_lines(log, 50000) == log.read_text().rstrip("\n")
    (tmp_path / "short.log").write_text("one\ntwo")
    assert last_lines(tmp_path / "short.log", 5) == "one\ntwo"
    assert last_lines(tmp_path / "missing.log", 5) is None
