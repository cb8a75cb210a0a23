"""LivePlot: ring buffers, windows, the messages the browser gets, and a real stream from a thing drawn live.

``Browser`` below keeps a window from the chart's messages as the page does
(static/live_plot.js): what a view would draw, checked without a browser.
"""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ipywidgets.widgets.widget import _instances  # every open widget, by model id

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


def test_newest_gives_the_values_written_last_even_across_the_wrap():
    series = Series("x", None, 5)
    series.extend(np.arange(4.0), np.arange(4.0))
    series.extend(np.arange(4.0, 7.0), np.arange(4.0, 7.0))
    assert series.written == 7
    assert list(series.newest(3)[0]) == [4.0, 5.0, 6.0]
    assert list(series.newest(50)[0]) == [2.0, 3.0, 4.0, 5.0, 6.0]


class Browser:
    """The page's side of a chart, as static/live_plot.js keeps it: a window per line, trimmed.

    :meth:`receive` repeats the rule of ``trim()`` in static/live_plot.js (keep the two in step):
    the newest ``max_points``, and in a time window only times at or after ``now - window``.
    """

    def __init__(self, plot: LivePlot) -> None:
        self.plot, self.messages, self.lines = plot, [], {}
        send = plot.chart.send

        def recorded(content, buffers=None):
            self.receive(content, buffers or [])
            return send(content, buffers)

        plot.chart.send = recorded

    def receive(self, content, buffers):
        self.messages.append((content, [len(b) for b in buffers]))
        if content["kind"] == "window":
            self.lines = {}
        for i, name in enumerate(content["series"]):
            t, y = np.frombuffer(buffers[2 * i]), np.frombuffer(buffers[2 * i + 1])
            old_t, old_y = self.lines.get(name, (np.array([]), np.array([])))
            t, y = np.concatenate([old_t, t]), np.concatenate([old_y, y])
            keep = t >= content["now"] - self.plot.chart.window_seconds if self.plot.chart.window_seconds else t == t
            self.lines[name] = (t[keep][-self.plot.chart.max_points :], y[keep][-self.plot.chart.max_points :])

    def y(self, name):
        return list(self.lines[name][1])

    def hello(self):
        """A page (re)loaded: the model asks the kernel for the window."""
        self.plot.chart._received(self.plot.chart, {"kind": "hello"}, [])


def stream_of(name="temperature", unit="°C", count=100, start=None):
    start = start or dt.datetime.now(dt.UTC) - dt.timedelta(seconds=count)
    return [Field(name, float(i), unit=unit, timestamp=start + dt.timedelta(seconds=i)) for i in range(count)]


def test_fields_with_two_units_get_their_units_and_clock_times_and_text_values_are_left_out():
    stream = Stream("meter@lab", "s1")
    plot = LivePlot(stream, window="1h")
    browser = Browser(plot)
    values = stream_of("power", "W", 10) + stream_of("energy", "kWh", 10) + [Field("state", "running")]
    stream.push(values)
    plot.redraws.now()
    assert plot.chart.lines == [{"name": "power", "unit": "W"}, {"name": "energy", "unit": "kWh"}]
    assert browser.lines["power"][0][0] == values[0].timestamp.timestamp()  # POSIX seconds: a clock axis
    assert "state" not in plot.series and "state" not in browser.lines


def test_a_redraw_sends_only_the_values_new_since_the_last_one():
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream, window="1000 points")
    browser = Browser(plot)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    stream.push(stream_of(count=500, start=start))
    plot.redraws.now()
    for batch in range(3):
        stream.push(stream_of(count=10, start=start + dt.timedelta(seconds=500 + 10 * batch)))
        plot.redraws.now()
    content, sizes = browser.messages[-1]
    assert content["kind"] == "delta" and sizes == [80, 80]  # ten float64 times, ten values
    assert browser.y("temperature") == [float(v) for v in range(500)] + [float(v) for v in range(10)] * 3


def test_a_time_window_shows_only_recent_values_and_a_point_window_only_the_newest():
    old = stream_of(count=50, start=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    recent = stream_of(count=5)
    timed, stream = LivePlot(window="10min"), Stream("t@lab", "s")
    browser = Browser(timed)
    timed.follow(stream)
    stream.push(old + recent)
    timed.redraws.now()
    assert len(browser.y("temperature")) == 5
    counted, stream = LivePlot(window="20 points"), Stream("t@lab", "s")
    browser = Browser(counted)
    counted.follow(stream)
    stream.push(old + recent)
    counted.redraws.now()
    assert browser.y("temperature") == [float(v) for v in range(35, 50)] + [float(v) for v in range(5)]


def test_a_page_that_loads_again_gets_the_whole_window_in_one_message_even_when_paused():
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream, window="1h")
    browser = Browser(plot)
    stream.push(stream_of(count=30))
    plot.redraws.now()
    plot.pause()
    stream.push(stream_of(count=5, start=dt.datetime.now(dt.UTC)))
    browser.lines, before = {}, len(browser.messages)  # the reloaded page knows nothing
    browser.hello()
    assert len(browser.messages) == before + 1 and browser.messages[-1][0]["kind"] == "window"
    assert len(browser.y("temperature")) == 35


def test_a_gap_in_the_stream_breaks_the_line():
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream, window="1h")
    browser = Browser(plot)
    stream.push(stream_of(count=3))
    stream.open_gap("connection lost")
    stream.close_gap()
    stream.push(stream_of(count=2, start=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)))
    plot.redraws.now()
    values = browser.y("temperature")
    assert len(values) == 6 and np.isnan(values[3]) and values[:3] == [0.0, 1.0, 2.0]


def test_a_flood_of_values_from_another_thread_is_drawn_in_few_redraws(lab):
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream, window="100000 points", max_points=100_000, rate=10)
    browser = Browser(plot)
    start = dt.datetime.now(dt.UTC)

    def flood():
        for i in range(5000):
            stream.push([Field("x", float(i), timestamp=start + dt.timedelta(microseconds=i))])

    worker = threading.Thread(target=flood)
    worker.start()
    worker.join()
    assert eventually(lambda: "x" in browser.lines and len(browser.y("x")) == 5000)
    assert browser.y("x") == [float(i) for i in range(5000)]  # each value sent once, in order
    assert plot.redraws.count < 100  # 5000 batches, a rate of 10/s: coalesced, not one redraw each


def test_paused_plots_collect_values_but_send_them_only_when_resumed_and_say_they_are_paused():
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream)
    browser = Browser(plot)
    stream.push(stream_of(count=3))
    assert eventually(lambda: "temperature" in browser.lines and len(browser.y("temperature")) == 3)
    plot.pause()
    assert plot._pause.description == "Resume" and "paused" in repr(plot) and "paused" in str(plot)
    stream.push(stream_of(count=6))
    plot.redraws.draw_unless_stopped()  # the UI thread's turn, as if a redraw had been queued
    assert len(browser.y("temperature")) == 3
    plot.resume()
    assert eventually(lambda: len(browser.y("temperature")) == 9)
    assert "live" in repr(plot)


def test_a_field_that_never_comes_is_named_in_the_status():
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream, ["temprature"])
    assert "nothing of temprature has come yet" in plot.describe()
    stream.push(stream_of(count=3))
    assert "no numeric values of temprature came (the stream carries: temperature)" in plot.describe()


def test_a_live_subscription_from_a_real_thing_fills_the_plot_and_its_end_shows(online, name):
    owner = online(Owner, name("owner"))
    thing = Thing(name("thermometer"), owner=owner.jid, lab=owner._lab, timeout=5)
    counter = iter(range(10**6))
    thing.sensor("temperature", unit="°C")(lambda: 20.0)
    thing.every(0.01)(lambda: {"temperature": 20 + next(counter) % 7})
    online(thing)
    owner.befriend(thing.jid)
    plot = LivePlot(window="30s")
    browser = Browser(plot)
    plot.follow(owner.subscribe(thing.jid, "temperature"))
    assert eventually(lambda: "temperature" in browser.lines and len(browser.y("temperature")) >= 20)
    assert plot.chart.lines == [{"name": "temperature", "unit": "°C"}]
    drawn = len(browser.messages)
    assert eventually(lambda: len(browser.messages) > drawn)  # it keeps drawing by itself
    thing.stop()
    assert eventually(lambda: "ended" in plot._status.value)


def test_following_another_stream_reuses_the_chart():
    first, second = Stream("a@lab", "1"), Stream("b@lab", "2")
    plot = LivePlot(first)
    chart = plot.chart
    plot.follow(second)
    first.push(stream_of(count=4))
    second.push(stream_of(count=2))
    plot.redraws.now()
    assert plot.chart is chart and len(plot.series["temperature"]) == 2


def test_the_chart_module_is_the_vendored_uplot_and_ours():
    plot = LivePlot()
    assert plot.chart._esm.startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert "export default { render }" in plot.chart._esm and ".uplot" in plot.chart._css


def test_values_stamped_out_of_order_and_a_gap_before_them_keep_every_line_in_time_order():
    # A device whose clock runs ahead of the kernel's: its values come stamped after the gap's start.
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream, window="1h")
    browser = Browser(plot)
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    stream.push(stream_of(count=3, start=ahead))
    stream.open_gap("connection lost")  # stamped with the kernel's clock, 30 s before the values
    stream.push([Field("temperature", 9.0, unit="°C", timestamp=ahead - dt.timedelta(minutes=5))])  # late
    plot.redraws.now()
    times = list(browser.lines["temperature"][0])
    assert times == sorted(times) and len(times) == 5
    assert np.isnan(browser.y("temperature")[3]) and browser.y("temperature")[4] == 9.0
    series = plot.series["temperature"]
    since = times[2]
    assert list(series.window(since)[0]) == times[2:]  # searchsorted on times in order


@given(times=st.lists(st.floats(0, 1e6), min_size=1, max_size=40), capacity=st.integers(2, 20))
def test_a_series_keeps_its_times_in_order_whatever_order_they_come_in(times, capacity):
    series = Series("x", None, capacity)
    for chunk in (times[: len(times) // 2], times[len(times) // 2 :]):
        series.extend(np.array(chunk, dtype=float), np.zeros(len(chunk)))
    kept = list(series.window(None)[0])
    assert kept == sorted(kept) and series.last == kept[-1]
    if len(times) <= capacity:  # nothing dropped: the newest time is the latest that came
        assert kept[-1] == max(times)


def test_a_stream_that_ends_while_paused_says_ended():
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream)
    stream.push(stream_of(count=3))
    plot.redraws.now()
    plot.pause()
    stream.end("the owner went offline")
    assert "ended (the owner went offline)" in plot._status.value


def test_closing_a_plot_closes_every_widget_it_made_and_draws_no_more():
    before = set(_instances)
    stream = Stream("t@lab", "s")
    plot = LivePlot(stream)
    stream.push(stream_of(count=3))
    plot.redraws.now()
    assert len(set(_instances) - before) >= 10
    plot.close()
    assert set(_instances) - before == set()
    drawn = plot.redraws.count
    plot.redraws.now()
    assert plot.redraws.count == drawn
