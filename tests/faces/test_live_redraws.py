"""The UI thread's coalescing of redraws: bounded rate, never lost, errors shown."""

from __future__ import annotations

import threading
import time

import ipywidgets
import pytest

from xiotlab.faces.widgets.live import Redraws, guarded

from ..waiting import eventually


def test_many_requests_from_many_threads_coalesce_into_few_redraws_and_the_last_state_is_drawn():
    state = {"value": 0, "drawn": None, "threads": set()}

    def render():
        state["drawn"] = state["value"]
        state["threads"].add(threading.current_thread().name)

    redraws = Redraws(render, rate=10)

    def hammer():
        for _ in range(2000):
            state["value"] += 1
            redraws.request()

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    final = state["value"]
    assert eventually(lambda: state["drawn"] == final)
    # 8000 requests in well under a second at 10 per second: a handful of redraws, not thousands.
    assert redraws.count < 50
    assert state["threads"] == {"xiotlab-ui"}


def test_paused_widgets_are_not_drawn_until_resumed():
    drawn = []
    redraws = Redraws(lambda: drawn.append(1), rate=100)
    redraws.pause()
    redraws.request()
    time.sleep(0.05)
    assert drawn == []
    redraws.resume()
    assert eventually(lambda: drawn == [1])


def test_a_failing_redraw_shows_its_traceback_in_the_error_area_and_later_redraws_still_happen():
    errors = ipywidgets.Output()
    calls = []

    def render():
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("bad scaling")

    redraws = Redraws(render, rate=100, errors=errors)
    redraws.request()
    assert eventually(lambda: errors.outputs)
    assert "ZeroDivisionError: bad scaling" in errors.outputs[0]["text"]
    redraws.request()
    assert eventually(lambda: len(calls) == 2)


def test_a_guarded_callback_shows_its_error_instead_of_raising():
    errors = ipywidgets.Output()
    guarded(errors, lambda: 1 / 0)()
    assert "ZeroDivisionError" in errors.outputs[0]["text"]


def test_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        Redraws(lambda: None, rate=0)
