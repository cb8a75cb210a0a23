"""``LivePlot``: a stream's numeric fields drawn live in one plotly figure.

Values arrive on the network thread into a ring buffer per field; the UI
thread redraws at most ``rate`` times a second (20 by default), whatever the
input rate, by replacing the traces' arrays in one ``batch_update``. plotly's
``FigureWidget`` has no way to extend a trace, so each redraw re-sends the
window: keep the window a few thousand points (``max_points``).

The x axis is seconds since the plot's first value (its clock time is in the
axis title). Numbers travel as binary buffers; datetimes would go as text, ten
times slower. Epoch milliseconds on a date axis do not work either: plotly.js
re-guesses the axis type at every data update and calls them linear.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterable

import ipywidgets
import numpy as np
import plotly.graph_objects as go

from ...protocol.values import Field, NodeRef
from ...roles.readout import as_node, node_label
from ...roles.stream import Stream
from .live import DEFAULT_RATE, Redraws, error_area, guarded

DEFAULT_WINDOW = 60.0
DEFAULT_MAX_POINTS = 10_000

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(ms|s|sec|min|m|h|points|pts|p)?\s*$")
_SECONDS = {"ms": 1e-3, "s": 1.0, "sec": 1.0, None: 1.0, "min": 60.0, "m": 60.0, "h": 3600.0}


def parse_window(window: float | int | str | dt.timedelta) -> tuple[float | None, int | None]:
    """``(seconds, points)`` from ``60``, ``"60s"``, ``"5min"``, ``timedelta(...)`` or ``"500 points"``."""
    if isinstance(window, str) and (match := _WINDOW.match(window)) and match[2] in ("points", "pts", "p"):
        if float(match[1]) >= 1:
            return None, int(float(match[1]))
    else:
        seconds = parse_seconds(window, zero=False)
        if seconds is not None:
            return seconds, None
    raise ValueError(f"window={window!r}: give seconds (60, '60s', '5min', '1h') or a count ('500 points')")


def parse_seconds(value: float | int | str | dt.timedelta, *, zero: bool = True) -> float | None:
    """Seconds from ``5``, ``"5s"``, ``"250ms"``, ``"2min"``, ``"1h"`` or a timedelta; None if it is none of them."""
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, str) and (match := _WINDOW.match(value)) and match[2] not in ("points", "pts", "p"):
        value = float(match[1]) * _SECONDS[match[2]]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and (value > 0 or (zero and value == 0)):
        return float(value)
    return None


class Series:
    """One field's newest values: a fixed-size ring buffer of (POSIX time, value).

    Each value is written twice, ``capacity`` apart, so the newest ``n`` values
    are always one contiguous slice: a redraw copies nothing to assemble them.
    """

    def __init__(self, name: str, unit: str | None, capacity: int) -> None:
        self.name, self.unit, self.capacity = name, unit, capacity
        self._t = np.zeros(2 * capacity)
        self._y = np.zeros(2 * capacity)
        self._end = 0  # values written so far

    def extend(self, times: np.ndarray, values: np.ndarray) -> None:
        if len(times) > self.capacity:
            times, values = times[-self.capacity :], values[-self.capacity :]
        self._write(times, values)

    def _write(self, times: np.ndarray, values: np.ndarray) -> None:
        n, cap = len(times), self.capacity
        at = self._end % cap
        first = min(n, cap - at)
        for offset in (0, cap):
            self._t[at + offset : at + offset + first] = times[:first]
            self._y[at + offset : at + offset + first] = values[:first]
        if first < n:  # wrapped: the rest goes to the start of both halves
            rest = n - first
            for offset in (0, cap):
                self._t[offset : offset + rest] = times[first:]
                self._y[offset : offset + rest] = values[first:]
        self._end += n

    def window(self, since: float | None) -> tuple[np.ndarray, np.ndarray]:
        """The kept values stamped at or after ``since`` (all kept values for None), oldest first."""
        n = min(self._end, self.capacity)
        stop = self._end % self.capacity + self.capacity if self._end >= self.capacity else self._end
        t, y = self._t[stop - n : stop], self._y[stop - n : stop]
        if since is not None:
            first = int(np.searchsorted(t, since))
            t, y = t[first:], y[first:]
        return t, y

    def __len__(self) -> int:
        return min(self._end, self.capacity)


class LivePlot(ipywidgets.VBox):
    """A live line plot of a :class:`~xiotlab.roles.stream.Stream`'s numeric fields.

    Parameters
    ----------
    stream:
        What to draw, from ``owner.subscribe(jid, fields)``; or None, and :meth:`follow` one later.
    fields:
        Names to draw (default: every numeric field that arrives). Booleans draw as 0/1.
    window:
        What the x axis spans: seconds (``60``, ``"60s"``, ``"5min"``) or a point count (``"500 points"``).
    max_points:
        The most values kept per field; older ones go even inside a time window.
    rate:
        The most redraws per second.
    node:
        Of a concentrator's stream, the node whose values to draw (a node id or a
        :class:`~xiotlab.protocol.values.NodeRef`); None draws every value of the stream.

    >>> plot = LivePlot(alice.subscribe("thermometer", "temperature"), window="2min")   # doctest: +SKIP
    >>> plot                    # the widget; it redraws by itself
    >>> plot.pause(); plot.resume()
    """

    def __init__(
        self,
        stream: Stream | None = None,
        fields: str | Iterable[str] | None = None,
        *,
        window: float | str | dt.timedelta = DEFAULT_WINDOW,
        max_points: int = DEFAULT_MAX_POINTS,
        rate: float = DEFAULT_RATE,
        title: str | None = None,
        node: NodeRef | str | None = None,
    ) -> None:
        self.node = None if node is None else as_node(node)
        self.seconds, points = parse_window(window)
        if max_points < 2:
            raise ValueError(f"max_points={max_points}: keep at least 2 points per field")
        self.max_points = min(points, max_points) if points else max_points
        self.fields = [fields] if isinstance(fields, str) else list(fields) if fields is not None else None
        self.series: dict[str, Series] = {}
        self._series_lock = threading.Lock()  # the network thread writes what the UI thread reads
        self.origin: float | None = None  # POSIX time of x = 0: the first value drawn
        self.stream: Stream | None = None
        self._gaps_drawn = 0  # gaps of the stream already drawn as breaks in the lines
        self.errors = error_area()
        self.figure = go.FigureWidget(layout=_layout(title))
        self._traces_drawn = 0
        self._status = ipywidgets.HTML()
        self._status_at = 0.0
        self._pause = ipywidgets.ToggleButton(
            description="Pause", icon="pause", tooltip="Stop redrawing; values keep coming"
        )
        self._pause.observe(guarded(self.errors, self._on_pause), "value")
        self.redraws = Redraws(self._render, rate=rate, errors=self.errors)
        self._feed = guarded(self.errors, self._on_batch)
        super().__init__([self.figure, ipywidgets.HBox([self._pause, self._status]), self.errors])
        if stream is not None:
            self.follow(stream)

    # --- feeding (network thread) ---------------------------------------------

    def follow(self, stream: Stream, fields: str | Iterable[str] | None = None) -> LivePlot:
        """Draw ``stream`` from now on, in this same figure (the previous stream is let go, not closed)."""
        if self.stream is not None:
            self.stream.unobserve(self._feed)
        if fields is not None:
            self.fields = [fields] if isinstance(fields, str) else list(fields)
        self.stream = stream
        self._gaps_drawn = len(stream.gaps)
        stream.on_data(self._feed)
        self.redraws.request()
        return self

    def _on_batch(self, batch: list[Field]) -> None:
        if not batch:
            self._break_lines()  # an empty batch: the stream ended, or a gap opened or closed
        by_name: dict[str, list[Field]] = {}
        for field in batch:
            if self.node is not None and not self.node.names(field.node):
                continue
            if self.fields is None or field.name in self.fields:
                by_name.setdefault(field.name, []).append(field)
        with self._series_lock:
            for name, fields in by_name.items():
                self._add(name, fields)
        self.redraws.request()

    def _break_lines(self) -> None:
        """A missing value at the start of each new gap: the lines break where values could not come."""
        gaps = self.stream.gaps if self.stream is not None else []
        with self._series_lock:
            for gap in gaps[self._gaps_drawn :]:
                for series in self.series.values():
                    series.extend(np.array([gap.start.timestamp()]), np.array([np.nan]))
            self._gaps_drawn = len(gaps)
        self.redraws.request()

    def _add(self, name: str, fields: list[Field]) -> None:
        values = [_number(f.value) for f in fields]
        kept = [(f, v) for f, v in zip(fields, values, strict=True) if v is not None]
        if not kept:
            return
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series(name, fields[0].unit, self.max_points)
        times = np.fromiter((f.timestamp.timestamp() for f, _ in kept), float, len(kept))
        series.extend(times, np.fromiter((v for _, v in kept), float, len(kept)))

    # --- drawing (UI thread) ---------------------------------------------------

    def _render(self) -> None:
        since = time.time() - self.seconds if self.seconds else None
        with self._series_lock:  # copies: the ring buffers move on while plotly serializes
            series = [self.series[name] for name in self._names()]
            windows = [(t.copy(), y.copy()) for t, y in (s.window(since) for s in series)]
        if self.origin is None and any(len(t) for t, _ in windows):
            self._set_origin(min(t[0] for t, _ in windows if len(t)))
        windows = [(t - self.origin, y) for t, y in windows] if self.origin is not None else windows
        if len(series) != self._traces_drawn:
            self._add_traces(series, windows)  # traces added inside a batch_update lose their data
            return
        with self.figure.batch_update():
            # strict=False: traces a user added to the figure after ours are left alone.
            for trace, (x, y) in zip(self.figure.data, windows, strict=False):
                trace.x, trace.y = x, y
        self._update_status()

    def _set_origin(self, origin: float) -> None:
        self.origin = origin
        clock = dt.datetime.fromtimestamp(origin).strftime("%H:%M:%S")
        self.figure.layout.xaxis.title = f"seconds since {clock}"

    def _names(self) -> list[str]:
        if self.fields is None:
            return list(self.series)
        return [name for name in self.fields if name in self.series]

    def _add_traces(self, series: list[Series], windows: list[tuple[np.ndarray, np.ndarray]]) -> None:
        units = list(dict.fromkeys(s.unit or "" for s in series))
        self.figure.data = ()
        for s, (x, y) in zip(series, windows, strict=True):
            second_axis = len(units) > 1 and (s.unit or "") == units[1]
            label = s.name if units.index(s.unit or "") < 2 else f"{s.name} ({s.unit})"
            self.figure.add_scatter(x=x, y=y, name=label, mode="lines", yaxis="y2" if second_axis else "y")
        self.figure.layout.yaxis.title = units[0] if units else None
        if len(units) > 1:
            self.figure.layout.yaxis2 = dict(title=units[1], overlaying="y", side="right", showgrid=False)
        self._traces_drawn = len(series)

    def _update_status(self) -> None:
        now = time.monotonic()
        if now - self._status_at < 1.0 and not (self.stream and self.stream.ended):
            return  # the status line changes once a second: its own message per redraw would double the traffic
        self._status_at = now
        self._status.value = self.describe()

    def describe(self) -> str:
        """One line: what is drawn, how much, and whether the stream still runs."""
        if self.stream is None:
            return "no stream yet: <code>plot.follow(owner.subscribe(jid))</code>"
        with self._series_lock:
            points = sum(len(s) for s in self.series.values())
        state = f"ended ({self.stream.end_reason})" if self.stream.ended else "live"
        window = f"{self.seconds:g} s" if self.seconds else f"{self.max_points} points"
        whose = f"{self.stream.thing} node {node_label(self.node)}" if self.node else self.stream.thing
        return f"{whose}: {points} points kept (window {window}), {state}"

    # --- control ---------------------------------------------------------------

    def pause(self) -> None:
        """Stop redrawing; values keep arriving and show at :meth:`resume`."""
        self._pause.value = True

    def resume(self) -> None:
        self._pause.value = False

    @property
    def paused(self) -> bool:
        return self._pause.value

    def _on_pause(self, change) -> None:
        self._pause.description, self._pause.icon = ("Resume", "play") if change["new"] else ("Pause", "pause")
        (self.redraws.pause if change["new"] else self.redraws.resume)()

    def close(self) -> None:
        """Stop following the stream and close the widget (the stream stays open). Safe to call twice."""
        if getattr(self, "redraws", None) is not None:  # None when __init__ failed part way
            self.redraws.close()
        stream = getattr(self, "stream", None)
        if stream is not None:
            stream.unobserve(self._feed)
        if getattr(self, "figure", None) is not None:
            self.figure.close()
        super().close()

    def __repr__(self) -> str:
        names = ", ".join(self._names()) or "no fields yet"
        return f"<LivePlot of {names}: {self.describe()}>"


def _layout(title: str | None) -> dict:
    return dict(
        title=title,
        height=360,
        margin=dict(l=60, r=60, t=40 if title else 20, b=40),
        xaxis=dict(title=None),
        legend=dict(orientation="h", y=1.1),
        uirevision="keep",
    )


def _number(value) -> float | None:
    """A plottable number, or None for text and other values a line cannot show."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None
