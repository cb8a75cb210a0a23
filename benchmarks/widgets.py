"""Benchmarks of a live plot in a real kernel, each figure beside a baseline measured in the same run.

    .venv/bin/python benchmarks/widgets.py [--quick] [--json]

A private lab; a thing in a process of its own reporting 5,000 readings a
second; a real IPython kernel (a fresh process, this interpreter) where an
owner subscribes and ``%xmpp plot`` draws the stream in a window of 10,000
points. Comm messages are really serialized and sent over ZMQ; this process
reads IOPub as a browser's server would. Figures:

- redraws sent per second: figure updates carrying trace data seen on IOPub,
  and ``LivePlot.redraws.count``; the baseline is the plot's ``rate``;
- Python time per redraw with 10,000 points: while streaming (wall time on the
  UI thread, ``redraws.seconds / count``) and quiet (drawn in the cell,
  interleaved with the baseline: a raw plotly ``FigureWidget`` ``batch_update``
  setting x and y of 10,000 points, the part of a redraw that is plotly's own);
- a trivial cell's round trip (execute to idle) while streaming, against the
  same cell before the stream started; and with the plot paused, to tell the
  plot's share from the subscription's.

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

from tests.faces.kernel_helpers import Kernel, figure_updates, points_in
from xiotlab import LabServer

RATE = 5_000  # readings per second from the thing
WINDOW = 10_000  # points in the plot's window
TARGET_REDRAWS = 20.0  # per second at most
TARGET_REDRAW_MS = 5.0

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
            "cpu": _cpu("/proc/self/stat"), "threads": threads, "rss_mb": _rss_mb(), "status": plot.describe()}
def _rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
"""

# Quiet redraws against raw plotly, interleaved so that both meet the same machine.
_QUIET = """
import datetime as _dt, statistics as _st, time as _time
import numpy as _np
import plotly.graph_objects as _go
from xiotlab.protocol.values import Field as _Field
raw = _go.FigureWidget(layout=dict(xaxis=dict(type="date"), height=360))
raw.add_scatter(mode="lines")
display(raw)
_t, _y = (a.copy() for a in plot.series["level"].window(None))
plot.redraws.pause()
_ours, _theirs, _start = [], [], _dt.datetime.now(_dt.timezone.utc)
for _i in range({reps}):
    # One new reading shifts our window by one, as streaming does; raw plotly gets arrays shifted alike.
    plot.stream.push([_Field("level", float(_i % 7), unit="V", timestamp=_start + _dt.timedelta(milliseconds=_i))])
    _before = plot.redraws.seconds
    plot.redraws.now()
    _ours.append(plot.redraws.seconds - _before)
    _x, _v = _t + _i, _np.roll(_y, _i)
    _began = _time.perf_counter()
    with raw.batch_update():
        raw.data[0].x, raw.data[0].y = _x, _v
    _theirs.append(_time.perf_counter() - _began)
plot.redraws.resume()
print(_json.dumps({{"ours": _st.median(_ours), "theirs": _st.median(_theirs), "points": len(plot.figure.data[0].y),
                   "raw_points": len(raw.data[0].y), "raw_id": raw.model_id}}))
"""


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


def run(quick: bool) -> dict:
    streaming_seconds, cells, reps = (3.0, 40, 20) if quick else (15.0, 200, 100)
    with LabServer() as lab, Kernel(env={"XIOTLAB_HOME": str(lab.home)}) as kernel:
        owner, sensor = "bench-owner", "bench-sensor"
        child = subprocess.Popen(
            [sys.executable, "-c", _THING, str(lab.home), sensor, f"{owner}@{lab.domain}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            kernel.run("%load_ext xiotlab")
            kernel.run(f"%xmpp connect {owner} --as owner")
            assert child.stdout.readline().strip() == "online", "the thing did not come online"
            kernel.run(f"%xmpp befriend {sensor}")
            started = time.perf_counter()
            figure = kernel.run(
                f"plot = %xmpp plot {sensor} level --window {WINDOW}points\ndisplay(plot)\nprint(plot.figure.model_id)",
                timeout=120,
            ).stdout.strip()
            first_plot_s = time.perf_counter() - started
            kernel.run(_COUNTERS)

            # (c) baseline: the same cell, before any reading flows.
            idle_cells = cell_round_trips(kernel, cells)
            idle = counters(kernel)

            child.stdin.write(f"start {RATE}\n")
            child.stdin.flush()
            if not wait_in_kernel(kernel, f"len(plot.series.get('level', ())) >= {WINDOW}", 60):
                raise RuntimeError("the plot's window never filled")
            time.sleep(1.0)  # let the first full redraws pass

            # (a), (b) while streaming: the kernel idle, nothing but the stream and the plot.
            before, mark = counters(kernel), kernel.mark()
            time.sleep(streaming_seconds)
            after = counters(kernel)
            window = kernel.messages(since=mark)
            t0, t1 = window[0].at, window[-1].at
            sent = figure_updates(window, figure)
            all_figure = [m for m in window if m.type == "comm_msg" and m.comm_id == figure]
            elapsed = after["at"] - before["at"]
            redraws = after["count"] - before["count"]

            # (c) the same cell while streaming, then with the plot paused.
            streaming_cells = cell_round_trips(kernel, cells)
            kernel.run("plot.pause()")
            paused_cells = cell_round_trips(kernel, cells)
            kernel.run("plot.resume()")

            child.stdin.write("stop\n")
            child.stdin.flush()
            count, seconds = child.stdout.readline().split()
            thing_rate = int(count) / float(seconds)
            time.sleep(0.5)

            # (b) quiet: our redraw against raw plotly, 10,000 points each.
            quiet = json.loads(kernel.run(_QUIET.format(reps=reps), timeout=120).stdout)
            child.stdin.write("quit\n")
            child.stdin.flush()
            child.wait(30)
            kernel.run("%unload_ext xiotlab", timeout=30, check=False)
        finally:
            if child.poll() is None:
                child.kill()

    cpu = {name: after["threads"][name] - before["threads"].get(name, 0.0) for name in after["threads"]}
    busiest = sorted(cpu.items(), key=lambda item: -item[1])[:4]
    med = lambda values: statistics.median(values) * 1e3  # noqa: E731  ms
    return {
        "seconds_streaming": round(elapsed, 2),
        "thing_readings_per_second": round(thing_rate),
        "received_readings_per_second": round((after["received"] - before["received"]) / elapsed),
        "stream_dropped": after["dropped"],
        "points_per_redraw": points_in(sent[-1]) if sent else 0,
        "redraws_per_second_on_iopub": round(len(sent) / (t1 - t0), 2) if sent else 0.0,
        "redraws_per_second_counted": round(redraws / elapsed, 2),
        "figure_comm_messages_per_second": round(len(all_figure) / (t1 - t0), 1),
        "figure_megabytes_per_second": round(
            sum(sum(len(b) for b in m.msg["buffers"]) for m in sent) / (t1 - t0) / 1e6, 2
        ),
        "redraw_ms_streaming": round((after["seconds"] - before["seconds"]) / redraws * 1e3, 2) if redraws else None,
        "redraw_ms_quiet": round(quiet["ours"] * 1e3, 2),
        "raw_plotly_batch_update_ms": round(quiet["theirs"] * 1e3, 2),
        "quiet_points": quiet["points"],
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
        "quiet_redraws": reps,
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
            "(a) redraws sent, on IOPub",
            f"{r['redraws_per_second_on_iopub']}/s",
            f"rate {TARGET_REDRAWS:g}/s",
            ratio(r["redraws_per_second_on_iopub"], TARGET_REDRAWS),
            f"≤ {TARGET_REDRAWS:g}/s",
        ),
        (
            "(a) redraws counted (redraws.count)",
            f"{r['redraws_per_second_counted']}/s",
            f"rate {TARGET_REDRAWS:g}/s",
            ratio(r["redraws_per_second_counted"], TARGET_REDRAWS),
            f"≤ {TARGET_REDRAWS:g}/s",
        ),
        (
            "    figure comm messages, all kinds",
            f"{r['figure_comm_messages_per_second']}/s",
            f"{r['figure_megabytes_per_second']} MB/s of arrays",
            "",
            "",
        ),
        (
            f"(b) redraw of {r['quiet_points']:,} points, quiet",
            f"{r['redraw_ms_quiet']} ms",
            f"plotly {r['raw_plotly_batch_update_ms']} ms",
            ratio(r["redraw_ms_quiet"], r["raw_plotly_batch_update_ms"]),
            f"≤ {TARGET_REDRAW_MS:g} ms",
        ),
        (
            f"(b) redraw of {r['points_per_redraw']:,} points, streaming",
            f"{r['redraw_ms_streaming']} ms",
            f"plotly, quiet {r['raw_plotly_batch_update_ms']} ms",
            ratio(r["redraw_ms_streaming"], r["raw_plotly_batch_update_ms"]),
            f"≤ {TARGET_REDRAW_MS:g} ms",
        ),
        (
            "(c) `1+1` cell, median, streaming",
            f"{r['cell_ms_streaming']} ms",
            f"idle {r['cell_ms_idle']} ms",
            ratio(r["cell_ms_streaming"], r["cell_ms_idle"]),
            "",
        ),
        (
            "(c) `1+1` cell, p90, streaming",
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
            "kernel CPU while streaming",
            f"{r['kernel_cpu_percent_streaming']} % of a core",
            ", ".join(f"{n} {p}%" for n, p in r["kernel_cpu_percent_by_thread"].items()),
            "",
            "",
        ),
        (
            "kernel memory (RSS) while streaming",
            f"{r['kernel_rss_mb_streaming']} MB",
            f"{r['kernel_rss_mb_before_stream']} MB before",
            ratio(r["kernel_rss_mb_streaming"], r["kernel_rss_mb_before_stream"]),
            "",
        ),
        ("first `%xmpp plot` in a fresh kernel", f"{r['first_plot_in_kernel_seconds']} s", "", "", ""),
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
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run(args.quick)
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
