"""``LivePlot``: a stream's numeric fields drawn live, a widget of xiotlab's own (:mod:`.chart`).

Values arrive on the network thread into a ring buffer per field; the UI
thread redraws at most ``rate`` times a second (20 by default), whatever the
input rate, by sending the browser only the values new since the last redraw
(float64 buffers: 16 bytes a value). The browser keeps the window and every
view draws from it; a new page asks the kernel for the whole window, once.
The x axis is clock time; a gap in the stream breaks the lines (a NaN value).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterable

import ipywidgets
import numpy as np

from ...protocol.values import Field, NodeRef
from ...roles.readout import as_node, node_label
from ...roles.stream import Stream
from .chart import Chart
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
    Times never go back: a value stamped before the newest kept (a device clock
    behind another's, a concentrator's nodes) is kept at the newest time, since
    the browser's chart and :meth:`window` both need times in order.
    """

    def __init__(self, name: str, unit: str | None, capacity: int) -> None:
        self.name, self.unit, self.capacity = name, unit, capacity
        self._t = np.zeros(2 * capacity)
        self._y = np.zeros(2 * capacity)
        self._end = 0  # values written so far

    def extend(self, times: np.ndarray, values: np.ndarray) -> None:
        if len(times) > self.capacity:
            times, values = times[-self.capacity :], values[-self.capacity :]
        if len(times):
            start = self.last if self._end else -np.inf
            times = np.maximum.accumulate(np.concatenate(([start], times)))[1:]  # clamped: in time order
        self._write(times, values)

    @property
    def last(self) -> float:
        """The newest time kept (-inf when none is)."""
        return float(self._t[self._stop() - 1]) if self._end else -np.inf

    def _stop(self) -> int:
        """Where the newest kept values end in the doubled buffer (their slice ends here)."""
        return self._end % self.capacity + self.capacity if self._end >= self.capacity else self._end

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

    @property
    def written(self) -> int:
        """How many values were written (of a batch longer than the capacity, its newest): a redraw sends the new."""
        return self._end

    def newest(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The newest ``count`` values kept (fewer when fewer are kept), oldest first."""
        n, stop = min(count, len(self)), self._stop()
        return self._t[stop - n : stop], self._y[stop - n : stop]

    def window(self, since: float | None) -> tuple[np.ndarray, np.ndarray]:
        """The kept values stamped at or after ``since`` (all kept values for None), oldest first."""
        n, stop = len(self), self._stop()
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

    Display it as often as you like: every view keeps drawing, and a reloaded
    page gets the window back from the kernel.

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
        self._sent: dict[str, int] = {}  # per field: values written when the browser was last sent them
        self._whole = True  # the next redraw sends the whole window (a new page asked, or the lines changed)
        self.stream: Stream | None = None
        self._gaps_drawn = 0  # gaps of the stream already drawn as breaks in the lines
        self._other_names: set[str] = set()  # names that arrived but are not drawn: told when a field never comes
        self.errors = error_area()
        self.chart = Chart(
            on_hello=self._send_whole_window,
            title=title or "",
            window_seconds=self.seconds,
            max_points=self.max_points,
            layout=ipywidgets.Layout(width="100%"),
        )
        self._status = ipywidgets.HTML()
        self._status_at = 0.0
        self._pause = ipywidgets.Button(
            description="Pause", icon="pause", tooltip="Stop redrawing; values keep coming", layout={"width": "7em"}
        )
        self._pause.on_click(guarded(self.errors, lambda _: self.resume() if self.paused else self.pause()))
        self.redraws = Redraws(self._render, rate=rate, errors=self.errors)
        self._feed = guarded(self.errors, self._on_batch)
        self._bar = ipywidgets.HBox([self._pause, self._status])
        super().__init__([self.chart, self._bar, self.errors])
        if stream is not None:
            self.follow(stream)
        else:
            self._update_status(force=True)

    # --- feeding (network thread) ---------------------------------------------

    def follow(self, stream: Stream, fields: str | Iterable[str] | None = None) -> LivePlot:
        """Draw ``stream`` from now on, in this same plot (the previous stream is let go, not closed)."""
        if self.stream is not None:
            self.stream.unobserve(self._feed)
        if fields is not None:
            self.fields = [fields] if isinstance(fields, str) else list(fields)
        self.stream = stream
        self._gaps_drawn = len(stream.gaps)
        stream.on_data(self._feed)
        self._update_status(force=True)
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
            elif field.name not in self._other_names:
                self._other_names.add(field.name)
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
                    # Never before the line's newest value: the device's clock may run ahead of the kernel's.
                    at = max(gap.start.timestamp(), series.last)
                    series.extend(np.array([at]), np.array([np.nan]))
            self._gaps_drawn = len(gaps)
        self.redraws.request()
        # Paused, no render comes to say that the stream ended or lost values: say it here.
        if self.paused and not self.redraws.closed:
            with self.redraws.drawing:
                self._update_status(force=True)

    def _add(self, name: str, fields: list[Field]) -> None:
        values = [_number(f.value) for f in fields]
        kept = [(f, v) for f, v in zip(fields, values, strict=True) if v is not None]
        if not kept:
            self._other_names.add(name)  # text values: a line cannot show them
            return
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series(name, fields[0].unit, self.max_points)
        times = np.fromiter((f.timestamp.timestamp() for f, _ in kept), float, len(kept))
        series.extend(times, np.fromiter((v for _, v in kept), float, len(kept)))

    # --- drawing (UI thread) ---------------------------------------------------

    def _render(self) -> None:
        """Send the browser what it lacks: the values new since the last redraw, or the whole window."""
        with self._series_lock:  # copies: the ring buffers move on while the message is built
            names = self._names()
            lines = [{"name": n, "unit": self.series[n].unit or ""} for n in names]
            whole = self._whole or lines != self.chart.lines
            if whole:
                since = time.time() - self.seconds if self.seconds else None
                data = {n: _copied(*self.series[n].window(since)) for n in names}
            else:
                data = {n: _copied(*self._unsent(n)) for n in names}
                data = {n: ty for n, ty in data.items() if len(ty[0])}
            self._sent = {n: self.series[n].written for n in names}
            self._whole = False
        if lines != self.chart.lines:
            self.chart.lines = lines  # before the values: the browser lays out its lines first
        if whole or data:
            self.chart.send_lines("window" if whole else "delta", time.time(), data)
        self._update_status(force=whole)  # new lines: the status says so at once, not a second later

    def _unsent(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        series = self.series[name]
        return series.newest(series.written - self._sent.get(name, 0))

    def _send_whole_window(self) -> None:
        """A page made the chart's model (a first load, a reload): it gets the whole window now."""
        with self._series_lock:
            self._whole = True
        self.redraws.now()  # even when paused: a reloaded page must not stay empty

    def _names(self) -> list[str]:
        if self.fields is None:
            return list(self.series)
        return [name for name in self.fields if name in self.series]

    def _update_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._status_at < 1.0 and not (self.stream and self.stream.ended):
            return  # the status line changes once a second: its own message per redraw would double the traffic
        self._status_at = now
        self._status.value = self.describe()

    def _window_text(self) -> str:
        """The window as the status and the saved text name it: ``60 s`` or ``500 points``."""
        return f"{self.seconds:g} s" if self.seconds else f"{self.max_points} points"

    def describe(self) -> str:
        """One line: what is drawn, how much, whether the stream still runs, and fields that never came."""
        if self.stream is None:
            return "no stream yet: <code>plot.follow(owner.subscribe(jid))</code>"
        with self._series_lock:
            points = sum(len(s) for s in self.series.values())
            missing = [name for name in self.fields or () if name not in self.series]
        state = f"ended ({self.stream.end_reason})" if self.stream.ended else "paused" if self.paused else "live"
        window = self._window_text()
        whose = f"{self.stream.thing} node {node_label(self.node)}" if self.node else self.stream.thing
        line = f"{whose}: {points} points kept (window {window}), {state}"
        if missing and self._other_names:  # values came, none of these: a misspelt name, say
            others = ", ".join(sorted(self._other_names - set(missing))) or "none"
            line += f"; no numeric values of {', '.join(missing)} came (the stream carries: {others})"
        elif missing:
            line += f"; nothing of {', '.join(missing)} has come yet: check the name with %xmpp read"
        return line

    # --- control ---------------------------------------------------------------

    def pause(self) -> None:
        """Stop redrawing; values keep arriving and show at :meth:`resume`."""
        self.redraws.pause()
        self._pause.description, self._pause.icon = "Resume", "play"
        self._update_status(force=True)

    def resume(self) -> None:
        """Draw again, starting with everything that arrived while paused."""
        self.redraws.resume()
        self._pause.description, self._pause.icon = "Pause", "pause"
        self._update_status(force=True)

    @property
    def paused(self) -> bool:
        return self.redraws.paused

    def close(self) -> None:
        """Stop following the stream and close the widget and all its parts (the stream stays open).

        A render under way finishes first; none starts afterwards. Safe to call twice.
        """
        redraws = getattr(self, "redraws", None)  # None when __init__ failed part way
        if redraws is not None:
            redraws.close()
            redraws.drawing.acquire()
        try:
            stream = getattr(self, "stream", None)
            if stream is not None:
                stream.unobserve(self._feed)
            for part in self._parts():
                part.close()
        finally:
            if redraws is not None:
                redraws.drawing.release()
        super().close()

    def _parts(self) -> list[ipywidgets.Widget]:
        """Every widget this plot made (layouts and styles too): each has a comm of its own to close."""
        made = [getattr(self, name, None) for name in ("chart", "_pause", "_status", "errors", "_bar")]
        parts: list[ipywidgets.Widget] = []
        for widget in (w for w in made if w is not None):
            parts += [widget, *(getattr(widget, trait, None) for trait in ("layout", "style"))]
        parts.append(getattr(self, "layout", None))  # the plot's own: Widget.close leaves it open
        return [part for part in parts if isinstance(part, ipywidgets.Widget)]

    def __repr__(self) -> str:
        names = ", ".join(self._names()) or "no fields yet"
        return f"<LivePlot of {names}: {self.describe()}>"

    def _repr_mimebundle_(self, **kwargs):
        """The widget, and as text what stays true in a saved notebook (not a count of the moment)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            names = ", ".join(self.fields or self._names()) or "its numeric fields"
            whose = f" of {self.stream.thing}" if self.stream is not None else ""
            bundle["text/plain"] = (
                f"<LivePlot of {names}{whose}, window {self._window_text()}: live while its kernel runs>"
            )
        return bundle


def _copied(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return times.copy(), values.copy()


def _number(value) -> float | None:
    """A plottable number, or None for text and other values a line cannot show."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None
