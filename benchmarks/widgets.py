"""Benchmarks of a live plot in a real kernel and a real browser, each figure beside a baseline of the same run.

    .venv/bin/python benchmarks/widgets.py [--quick] [--json] [--no-browser]

A private lab; a thing in a process of its own reporting 5,000 readings a
second; a real IPython kernel (a fresh process, this interpreter) where an
owner subscribes and ``%xmpp plot`` draws the stream in a window of 10,000
points. Beside it, on the same stream in the same kernel, the path the plot
took before issue 14 (``OldPlot`` below: plotly's ``FigureWidget``, the whole
window re-sent at each redraw, at the same rate). Comm messages are really
serialized and sent over ZMQ; this process reads IOPub as a browser's server
would. Figures:

- bytes and comm messages per redraw, ours against the old path's (binary
  buffers plus the JSON around them); redraws sent per second, against the rate;
- Python time per redraw while streaming (``redraws.seconds / count``), ours
  against the old path's;
- a trivial cell's round trip (execute to idle) while streaming, against the
  same cell before the stream started; and with the plot paused;
- the first ``%xmpp plot`` in a fresh kernel;
- in Chromium (Playwright, JupyterLab on loopback): frames the plot's view
  painted per second while the window is full, against the plot's rate, and the
  page's own animation frames per second (a page that stutters drops these).

Targets are printed beside the figures, never asserted (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.faces.kernel_helpers

from tests.faces.kernel_helpers import Kernel, Received, chart_updates, points_in
from xiotlab import LabServer

RATE = 5_000  # readings per second from the thing
WINDOW = 10_000  # points in the plot's window
TARGET_REDRAWS = 20.0  # per second at most
TARGET_REDRAW_MS = 5.0
TARGET_BYTES_RATIO = 10.0  # at least this many times fewer bytes per redraw than the old path

# The thing: its own process, joining the lab through its home (no password crosses a pipe).
_THING = """
import math, sys, threading, time
from xiotlab import LabServer, Thing
home, name, owner = sys.argv[1:4]
thing = Thing(name, owner=owner, lab=LabServer.running(home), timeout=30)
thing.sensor("level", type=float, unit="V")
thing.start()
print("online", flush=True)
stop, sent, worker = threading.Event(), [0, 0.0], None

def report(rate):
    start, i = time.perf_counter(), 0
    while not stop.is_set():
        ahead = start + i / rate - time.perf_counter()
        if ahead > 0.001:  # paced in bursts of a few readings: sleeps shorter than 1 ms overshoot
            time.sleep(ahead)
        thing.report(level=math.sin(i / 500))
        i += 1
    sent[:] = [i, time.perf_counter() - start]

for line in sys.stdin:
    command = line.split()
    if command[0] == "start":
        stop.clear()
        worker = threading.Thread(target=report, args=(float(command[1]),))
        worker.start()
    elif command[0] == "stop":
        stop.set()
        worker.join()
        print(f"{sent[0]} {sent[1]}", flush=True)
    else:
        break
thing.stop()
"""

# Counters read in the kernel: the plot's, the stream's, and CPU seconds per thread.
_COUNTERS = """
import json as _json, threading as _threading, time as _time
def _cpu(path):
    fields = open(path).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK
import os as _os; _CLK = _os.sysconf("SC_CLK_TCK")
def _counters():
    threads = {}
    for t in _threading.enumerate():
        try:
            threads[t.name] = _cpu(f"/proc/self/task/{t.native_id}/stat")
        except (OSError, TypeError):
            pass
    return {"at": _time.monotonic(), "count": plot.redraws.count, "seconds": plot.redraws.seconds,
            "received": plot.stream.count, "dropped": plot.stream.dropped, "points": len(plot.series.get("level", ())),
            "cpu": _cpu("/proc/self/stat"), "threads": threads, "rss_mb": _rss_mb(), "status": plot.describe(),
            "old_count": old.redraws.count, "old_seconds": old.redraws.seconds}
def _rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
"""

# The plot's path before issue 14, kept small for the comparison: a plotly FigureWidget fed by the
# same stream, its whole window re-sent at each redraw (plotly has no way to extend a trace).
_OLD_PATH = """
import threading as _th
import numpy as _np
import plotly.graph_objects as _go
from xiotlab.faces.widgets.live import Redraws as _Redraws
from xiotlab.faces.widgets.live_plot import Series as _Series
class OldPlot:
    def __init__(self, stream, name, points, rate):
        self.name, self.lock, self.series = name, _th.Lock(), _Series(name, None, points)
        self.figure = _go.FigureWidget(layout=dict(height=360, uirevision="keep"))
        self.figure.add_scatter(mode="lines", name=name)
        self.redraws = _Redraws(self.render, rate=rate)
        stream.on_data(self.feed)
    def feed(self, batch):
        kept = [f for f in batch if f.name == self.name and isinstance(f.value, (int, float))]
        if kept:
            t = _np.fromiter((f.timestamp.timestamp() for f in kept), float, len(kept))
            with self.lock:
                self.series.extend(t, _np.fromiter((float(f.value) for f in kept), float, len(kept)))
            self.redraws.request()
    def render(self):
        with self.lock:
            t, y = (a.copy() for a in self.series.window(None))
        with self.figure.batch_update():
            self.figure.data[0].x, self.figure.data[0].y = t - t[0], y
old = OldPlot(plot.stream, "level", {window}, plot.redraws.rate)
display(old.figure)
print(old.figure.model_id)
"""


def message_bytes(message: Received) -> int:
    """What a comm message weighs on the wire: its JSON content and its binary buffers."""
    return len(json.dumps(message.content)) + sum(len(b) for b in message.msg["buffers"])


def old_redraws(messages: list[Received], comm_id: str) -> list[Received]:
    """The old path's figure updates that carry the trace arrays: one per redraw."""
    return [
        m
        for m in messages
        if m.type == "comm_msg"
        and m.comm_id == comm_id
        and (m.content["data"].get("state", {}).get("_py2js_update") or {}).get("style_data")
        and m.msg["buffers"]
    ]


def counters(kernel: Kernel) -> dict:
    return json.loads(kernel.run("print(_json.dumps(_counters()))").stdout)


def cell_round_trips(kernel: Kernel, count: int) -> list[float]:
    """Seconds from execute_request to the idle status, for ``1+1``, ``count`` times (after a warm-up)."""
    for _ in range(5):
        kernel.run("1+1")
    times = []
    for _ in range(count):
        start = time.perf_counter()
        kernel.run("1+1")
        times.append(time.perf_counter() - start)
    return times


def wait_in_kernel(kernel: Kernel, expression: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if kernel.run(f"print(bool({expression}))").stdout.strip() == "True":
            return True
        time.sleep(0.2)
    return False


def run(quick: bool, browser: bool) -> dict:
    streaming_seconds, cells = (3.0, 40) if quick else (15.0, 200)
    with LabServer() as lab:
        owner, sensor = "bench-owner", "bench-sensor"
        child = subprocess.Popen(
            [sys.executable, "-c", _THING, str(lab.home), sensor, f"{owner}@{lab.domain}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout.readline().strip() == "online", "the thing did not come online"
            with Kernel(env={"XIOTLAB_HOME": str(lab.home)}) as kernel:
                results = in_kernel(kernel, child, owner, sensor, streaming_seconds, cells)
            if browser:
                results.update(in_browser(lab, child, owner, sensor, 3.0 if quick else 10.0))
            child.stdin.write("quit\n")
            child.stdin.flush()
            child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
    return results


def in_kernel(kernel: Kernel, child: subprocess.Popen, owner: str, sensor: str, seconds: float, cells: int) -> dict:
    kernel.run("%load_ext xiotlab")
    kernel.run(f"%xmpp connect {owner} --as owner")
    kernel.run(f"%xmpp befriend {sensor}")
    started = time.perf_counter()
    chart = kernel.run(
        f"plot = %xmpp plot {sensor} level --window {WINDOW}points\ndisplay(plot)\nprint(plot.chart.model_id)",
        timeout=120,
    ).stdout.strip()
    first_plot_s = time.perf_counter() - started
    figure = kernel.run(_OLD_PATH.format(window=WINDOW), timeout=120).stdout.strip()
    kernel.run(_COUNTERS)

    # (c) baseline: the same cell, before any reading flows.
    idle_cells = cell_round_trips(kernel, cells)
    idle = counters(kernel)

    child.stdin.write(f"start {RATE}\n")
    child.stdin.flush()
    if not wait_in_kernel(kernel, f"len(plot.series.get('level', ())) >= {WINDOW}", 60):
        raise RuntimeError("the plot's window never filled")
    time.sleep(1.0)  # let the first full redraws pass

    # (a), (b) while streaming: the kernel idle, nothing but the stream, our plot and the old path.
    before, mark = counters(kernel), kernel.mark()
    time.sleep(seconds)
    after = counters(kernel)
    window = kernel.messages(since=mark)
    t0, t1 = window[0].at, window[-1].at
    ours = chart_updates(window, chart)
    ours_all = [m for m in window if m.type == "comm_msg" and m.comm_id == chart]
    theirs = old_redraws(window, figure)
    theirs_all = [m for m in window if m.type == "comm_msg" and m.comm_id == figure]
    elapsed = after["at"] - before["at"]
    redraws = after["count"] - before["count"]
    old_count = after["old_count"] - before["old_count"]

    # (c) the same cell while streaming (the old path paused), then with our plot paused too.
    kernel.run("old.redraws.pause()")
    streaming_cells = cell_round_trips(kernel, cells)
    kernel.run("plot.pause()")
    paused_cells = cell_round_trips(kernel, cells)
    kernel.run("plot.resume()")

    child.stdin.write("stop\n")
    child.stdin.flush()
    count, sent_seconds = child.stdout.readline().split()
    kernel.run("%unload_ext xiotlab", timeout=30, check=False)

    cpu = {name: after["threads"][name] - before["threads"].get(name, 0.0) for name in after["threads"]}
    busiest = sorted(cpu.items(), key=lambda item: -item[1])[:4]
    med = lambda values: statistics.median(values) * 1e3  # noqa: E731  ms
    per = lambda total, n: round(total / n) if n else 0  # noqa: E731
    return {
        "seconds_streaming": round(elapsed, 2),
        "thing_readings_per_second": round(int(count) / float(sent_seconds)),
        "received_readings_per_second": round((after["received"] - before["received"]) / elapsed),
        "stream_dropped": after["dropped"],
        "window_points": after["points"],
        "redraws_per_second_on_iopub": round(len(ours) / (t1 - t0), 2),
        "redraws_per_second_counted": round(redraws / elapsed, 2),
        "old_redraws_per_second_on_iopub": round(len(theirs) / (t1 - t0), 2),
        "bytes_per_redraw": per(sum(message_bytes(m) for m in ours_all), len(ours)),
        "old_bytes_per_redraw": per(sum(message_bytes(m) for m in theirs_all), len(theirs)),
        "messages_per_redraw": round(len(ours_all) / len(ours), 2) if ours else 0,
        "old_messages_per_redraw": round(len(theirs_all) / len(theirs), 2) if theirs else 0,
        "values_per_redraw": round(statistics.mean(points_in(m) for m in ours), 1) if ours else 0,
        "redraw_ms_streaming": round((after["seconds"] - before["seconds"]) / redraws * 1e3, 3) if redraws else None,
        "old_redraw_ms_streaming": round((after["old_seconds"] - before["old_seconds"]) / old_count * 1e3, 3)
        if old_count
        else None,
        "cell_ms_idle": round(med(idle_cells), 2),
        "cell_ms_streaming": round(med(streaming_cells), 2),
        "cell_ms_streaming_plot_paused": round(med(paused_cells), 2),
        "cell_p90_ms_idle": round(statistics.quantiles(idle_cells, n=10)[-1] * 1e3, 2),
        "cell_p90_ms_streaming": round(statistics.quantiles(streaming_cells, n=10)[-1] * 1e3, 2),
        "kernel_cpu_percent_streaming": round((after["cpu"] - before["cpu"]) / elapsed * 100),
        "kernel_cpu_percent_by_thread": {name: round(s / elapsed * 100) for name, s in busiest},
        "kernel_rss_mb_before_stream": round(idle["rss_mb"]),
        "kernel_rss_mb_streaming": round(after["rss_mb"]),
        "plot_status_line": after["status"],
        "first_plot_in_kernel_seconds": round(first_plot_s, 2),
        "cells": cells,
    }


# In the page: the plot's view (what it drew, how often) and the page's own animation frames.
_PAGE_FRAMES = """() => { if (!window.__frames) { window.__frames = 0;
    const tick = () => { window.__frames += 1; requestAnimationFrame(tick); }; requestAnimationFrame(tick); }
    const el = document.querySelector('.jp-OutputArea .xiotlab-live-plot');
    return {page: window.__frames, at: performance.now(), frames: Number(el ? el.dataset.frames || 0 : 0),
            points: Number(el ? el.dataset.points || 0 : 0)}; }"""


def in_browser(lab: LabServer, child: subprocess.Popen, owner: str, sensor: str, seconds: float) -> dict:
    """Frames the plot's view paints per second in Chromium while 5,000 readings/s flow into a full window."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.browser.jupyter import CHROMIUM, CHROMIUM_ARGS, jupyterlab, wait_for

    cells = [
        "%load_ext xiotlab",
        f"%xmpp connect {owner} --as owner",
        f"%xmpp befriend {sensor}",
        f"plot = %xmpp plot {sensor} level --window {WINDOW}points\nplot",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with (
            jupyterlab(
                root=root / "nb", state=root / "jupyter", lab_home=lab.home, notebooks={"bench.ipynb": cells}
            ) as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{server.url}/lab/tree/bench.ipynb?token={server.token}", wait_until="domcontentloaded")
                page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
                page.evaluate("() => window.jupyterapp.restored")
                page.wait_for_timeout(3000)  # the kernel starts
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                wait_for(page, f"() => {{ const v = ({_PAGE_FRAMES})(); return v.frames > 0; }}", "the plot", 120)
                child.stdin.write(f"start {RATE}\n")
                child.stdin.flush()
                wait_for(page, f"() => ({_PAGE_FRAMES})().points >= {WINDOW}", "a full window in the page", 120)
                page.wait_for_timeout(1000)
                first = page.evaluate(_PAGE_FRAMES)
                page.wait_for_timeout(int(seconds * 1000))
                last = page.evaluate(_PAGE_FRAMES)
                child.stdin.write("stop\n")
                child.stdin.flush()
                child.stdout.readline()
            finally:
                browser.close()
    elapsed = (last["at"] - first["at"]) / 1000
    return {
        "browser_frames_painted_per_second": round((last["frames"] - first["frames"]) / elapsed, 1),
        "browser_page_frames_per_second": round((last["page"] - first["page"]) / elapsed, 1),
        "browser_points_in_view": last["points"],
    }


def table(r: dict) -> str:
    ratio = lambda a, b: f"{a / b:.2f}" if a is not None and b else ""  # noqa: E731
    rows = [
        ("figure", "value", "baseline", "ratio", "target"),
        (
            "stream (thing → owner in the kernel)",
            f"{r['received_readings_per_second']:,} readings/s",
            f"{r['thing_readings_per_second']:,}/s sent",
            ratio(r["received_readings_per_second"], r["thing_readings_per_second"]),
            f"{RATE:,}/s",
        ),
        (
            f"bytes per redraw, {r['window_points']:,}-point window",
            f"{r['bytes_per_redraw']:,} B",
            f"FigureWidget {r['old_bytes_per_redraw']:,} B",
            ratio(r["old_bytes_per_redraw"], r["bytes_per_redraw"]) + "× fewer",
            f"≥ {TARGET_BYTES_RATIO:g}× fewer",
        ),
        (
            "comm messages per redraw",
            f"{r['messages_per_redraw']}",
            f"FigureWidget {r['old_messages_per_redraw']}",
            ratio(r["messages_per_redraw"], r["old_messages_per_redraw"]),
            "",
        ),
        ("    values sent per redraw (new ones only)", f"{r['values_per_redraw']}", "", "", ""),
        (
            "redraws sent per second, on IOPub",
            f"{r['redraws_per_second_on_iopub']}/s",
            f"rate {TARGET_REDRAWS:g}/s",
            ratio(r["redraws_per_second_on_iopub"], TARGET_REDRAWS),
            f"≤ {TARGET_REDRAWS:g}/s",
        ),
        (
            "Python time per redraw, streaming",
            f"{r['redraw_ms_streaming']} ms",
            f"FigureWidget {r['old_redraw_ms_streaming']} ms",
            ratio(r["redraw_ms_streaming"], r["old_redraw_ms_streaming"]),
            f"≤ {TARGET_REDRAW_MS:g} ms",
        ),
        (
            "`1+1` cell, median, streaming",
            f"{r['cell_ms_streaming']} ms",
            f"idle {r['cell_ms_idle']} ms",
            ratio(r["cell_ms_streaming"], r["cell_ms_idle"]),
            "",
        ),
        (
            "`1+1` cell, p90, streaming",
            f"{r['cell_p90_ms_streaming']} ms",
            f"idle {r['cell_p90_ms_idle']} ms",
            ratio(r["cell_p90_ms_streaming"], r["cell_p90_ms_idle"]),
            "",
        ),
        (
            "    same, plot paused",
            f"{r['cell_ms_streaming_plot_paused']} ms",
            f"idle {r['cell_ms_idle']} ms",
            ratio(r["cell_ms_streaming_plot_paused"], r["cell_ms_idle"]),
            "",
        ),
        (
            "kernel CPU while streaming (both plots)",
            f"{r['kernel_cpu_percent_streaming']} % of a core",
            ", ".join(f"{n} {p}%" for n, p in r["kernel_cpu_percent_by_thread"].items()),
            "",
            "",
        ),
        ("first `%xmpp plot` in a fresh kernel", f"{r['first_plot_in_kernel_seconds']} s", "", "", ""),
    ]
    if "browser_frames_painted_per_second" in r:
        rows += [
            (
                f"browser: plot frames painted ({r['browser_points_in_view']:,} points)",
                f"{r['browser_frames_painted_per_second']}/s",
                f"rate {TARGET_REDRAWS:g}/s",
                ratio(r["browser_frames_painted_per_second"], TARGET_REDRAWS),
                "",
            ),
            ("browser: page animation frames", f"{r['browser_page_frames_per_second']}/s", "", "", ""),
        ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium figures")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run(args.quick, browser=not args.no_browser)
    print(
        f"python {sys.version.split()[0]}, {RATE:,} readings/s plotted in a window of {WINDOW:,} points, "
        f"{results['seconds_streaming']} s streaming, {results['cells']} cells per median "
        f"({time.perf_counter() - started:.0f} s in all)\n"
    )
    print(table(results))
    print(f"\nthe plot's status line: {results['plot_status_line']}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
