"""``Chart``: the anywidget that draws a :class:`~.live_plot.LivePlot` in the browser, with uPlot.

uPlot (https://github.com/leeoniya/uPlot, MIT, v1.6.32: ``static/uPlot.iife.min.js``
and ``static/uPlot.min.css``, taken unchanged from the npm package ``uplot@1.6.32``,
licence in ``static/uPlot.LICENSE``) is vendored so nothing is fetched at run time.
It was chosen over plotly.js for its size (51 kB against plotly.js's 4.6 MB sent
in each figure's comm-open message) and because it is made for streaming time
series: a redraw of 10,000 points is one ``setData``.

Python sends custom messages with float64 buffers, two per line (times, values):
``{"kind": "window" | "delta", "now": POSIX seconds, "series": [names]}``. The
browser sends ``{"kind": "hello"}`` when a page makes the model (a first load or
a reload) and gets the whole window back in one message.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

import anywidget
import numpy as np
import traitlets


@functools.cache
def _static(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


class Chart(anywidget.AnyWidget):
    """A time-series chart whose window lives in the browser; fed by :meth:`send_lines`."""

    _esm = _static("uPlot.iife.min.js") + "\n" + _static("live_plot.js")
    _css = _static("uPlot.min.css")
    title = traitlets.Unicode("").tag(sync=True)
    lines = traitlets.List(traitlets.Dict(), default_value=[]).tag(sync=True)  # [{name, unit}] in drawing order
    window_seconds = traitlets.Float(None, allow_none=True).tag(sync=True)
    max_points = traitlets.Int(10_000).tag(sync=True)
    height = traitlets.Int(320).tag(sync=True)

    def __init__(self, on_hello: Callable[[], Any] | None = None, **traits: Any) -> None:
        super().__init__(**traits)
        self._on_hello = on_hello
        self._sending = threading.Lock()  # counters and message order, from the UI thread and the kernel's
        self.messages = 0  # custom messages sent with values, and their buffers' bytes: for benchmarks
        self.bytes = 0
        self.on_msg(self._received)

    def send_lines(self, kind: str, now: float, lines: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Send ``lines`` (name to times, values) as a ``window`` (all there is) or a ``delta`` (new values)."""
        buffers = []
        for t, y in lines.values():
            buffers += [np.ascontiguousarray(t, dtype="<f8").tobytes(), np.ascontiguousarray(y, dtype="<f8").tobytes()]
        with self._sending:
            self.send({"kind": kind, "now": now, "series": list(lines)}, buffers)
            self.messages += 1
            self.bytes += sum(len(b) for b in buffers)

    def _received(self, _widget: Chart, content: dict, _buffers: list) -> None:
        if isinstance(content, dict) and content.get("kind") == "hello" and self._on_hello is not None:
            self._on_hello()
