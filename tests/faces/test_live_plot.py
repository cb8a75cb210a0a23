"""LivePlot: ring buffers, windows, and a real stream from a thing on the lab drawn live."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiotlab import Owner, Thing
from xiotlab.faces.widgets.live_plot import LivePlot, Series, parse_window
from xiotlab.protocol.values import Field
from xiotlab.roles.stream import Stream

from ..waiting import eventually


@pytest.mark.parametrize(
    "text, expected",
    [
        (60, (60.0, None)),
        ("60s", (60.0, None)),
        ("1.5 min", (90.0, None)),
        ("250ms", (0.25, None)),
        ("2h", (7200.0, None)),
        ("500 points", (None, 500)),
        (dt.timedelta(minutes=2), (120.0, None)),
    ],
)
def test_windows_in_seconds_or_points(text, expected):
    assert parse_window(text) == expected


@pytest.mark.parametrize("bad", [0, -5, "soon", "10 parsecs", True, "0s"])
def test_a_window_that_means_nothing_says_what_to_give(bad):
    with pytest.raises(ValueError, match="give seconds"):
        parse_window(bad)


@given(capacity=st.integers(2, 50), batches=st.lists(st.integers(0, 120), max_size=12))
def test_a_series_keeps_exactly_the_newest_values_in_order(capacity, batches):
    series, written = Series("x", None, capacity), []
    for size in batches:
        values = np.arange(len(written), len(written) + size, dtype=float)
        series.extend(values, values * 2)
        written.extend(values)
    t, y = series.window(None)
    assert list(t) == written[-capacity:] if written else list(t) == []
    assert list(y) == [2 * v for v in t]
    since = written[len(written) // 2] if written else 0.0
    assert list(series.window(since)[0]) == [v for v in written[-capacity:] if v >= since]


def stream_of(name="temperature", unit="°C", count=100, start=None):
    start = start or dt.datetime.now(dt.UTC) - dt.timedelta(seconds=count)
    return [Field(name, float(i), unit=unit, timestamp=start + dt.timedelta(seconds=i)) for i in range(count)]


def test_fields_with_two_units_get_two_y_axes_and_text_values_are_left_out():
    stream = Stream("meter@lab", "s1")
    plot = LivePlot(stream, window="1h")
    stream.push(stream_of("power", "W", 10) + stream_of("energy", "kWh", 10) + [Field("state", "running")])
    plot.redraws.now()
    assert [t.name for t in plot.figure.data] == ["power", "energy"]
    assert plot.figure.layout.yaxis.title.text == "W" and plot.figure.layout.yaxis2.title.text == "kWh"
    assert [t.yaxis for t in plot.figure.data] == ["y", "y2"]
    assert plot.figure.layout.xaxis.title.text.startswith("seconds since ") and plot.figure.data[0].x[0] == 0
    assert "state" not in plot.series


def test_a_time_window_shows_only_recent_values_and_a_point_window_only_the_newest():
    old = stream_of(count=50, start=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    recent = stream_of(count=5)
    timed, stream = LivePlot(window="10min"), Stream("t@lab", "s")
    timed.follow(stream)
    stream.push(old + recent)
    timed.redraws.now()
    assert len(timed.figure.data[0].y) == 5
    counted, stream = LivePlot(window="20 points"), Stream("t@lab", "s")
    counted.follow(stream)
    stream.push(old + recent)
    counted.redraws.now()
    assert list(counted.figure.data[0].y) == [float(v) for v in range(35, 50)] + [float(v) for v in range(5)]


def test_a_flood_of_values_from_another_thread_is_drawn_in_few_redraws(lab):
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream, window="100000 points", max_points=100_000, rate=10)
    start = dt.datetime.now(dt.UTC)

    def flood():
        for i in range(5000):
            stream.push([Field("x", float(i), timestamp=start + dt.timedelta(microseconds=i))])

    worker = threading.Thread(target=flood)
    worker.start()
    worker.join()
    assert eventually(lambda: plot.figure.data and len(plot.figure.data[0].y) == 5000)
    assert plot.redraws.count < 100  # 5000 batches, a rate of 10/s: coalesced, not one redraw each


def test_paused_plots_collect_values_but_draw_them_only_when_resumed():
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream)
    stream.push(stream_of(count=3))
    assert eventually(lambda: plot.figure.data and len(plot.figure.data[0].y) == 3)
    plot.pause()
    assert plot._pause.description == "Resume"
    stream.push(stream_of(count=6))
    time.sleep(0.1)
    assert len(plot.figure.data[0].y) == 3
    plot.resume()
    assert eventually(lambda: len(plot.figure.data[0].y) == 9)


def test_a_live_subscription_from_a_real_thing_fills_the_plot_and_its_end_shows(online, name):
    owner = online(Owner, name("owner"))
    thing = Thing(name("thermometer"), owner=owner.jid, lab=owner._lab, timeout=5)
    counter = iter(range(10**6))
    thing.sensor("temperature", unit="°C")(lambda: 20.0)
    thing.every(0.01)(lambda: {"temperature": 20 + next(counter) % 7})
    online(thing)
    owner.befriend(thing.jid)
    plot = LivePlot(owner.subscribe(thing.jid, "temperature"), window="30s")
    assert eventually(lambda: plot.figure.data and len(plot.figure.data[0].y) >= 20)
    assert plot.figure.layout.yaxis.title.text == "°C"
    drawn = len(plot.figure.data[0].y)
    assert eventually(lambda: len(plot.figure.data[0].y) > drawn)  # it keeps drawing by itself
    thing.stop()
    assert eventually(lambda: "ended" in plot._status.value)


def test_following_another_stream_reuses_the_figure():
    first, second = Stream("a@lab", "1"), Stream("b@lab", "2")
    plot = LivePlot(first)
    figure = plot.figure
    plot.follow(second)
    first.push(stream_of(count=4))
    second.push(stream_of(count=2))
    plot.redraws.now()
    assert plot.figure is figure and len(plot.figure.data[0].y) == 2
