"""Run All in a real kernel, as a class does it: nothing on screen is dead afterwards.

The last section of each notebook ("When you are done") only defines ``tidy_up()``; Run All
leaves the plots streaming, and ``print(plot)`` after ``plot.pause()`` says paused.
"""

from __future__ import annotations

import nbformat
import pytest

from tests.notebooks.run import NOTEBOOKS, client, lab_environment, problems

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

# Waits (in short naps, up to a deadline) until both plots have sent values again: no fixed sleep.
STILL_LIVE = """
import time
before, deadline = (plot.chart.messages, last_200.chart.messages), time.monotonic() + 60
while (plot.chart.messages <= before[0] or last_200.chart.messages <= before[1]) and time.monotonic() < deadline:
    time.sleep(0.05)
print(plot.stream.ended, last_200.stream.ended, plot.chart.messages > before[0], last_200.chart.messages > before[1])
print(alan.online, callable(tidy_up))
"""


def test_after_run_all_the_plots_are_still_live_and_tidy_up_waits_to_be_called(tmp_path):
    path = NOTEBOOKS / "03-live-streams.ipynb"
    notebook = nbformat.read(path, as_version=4)
    with lab_environment(tmp_path / "lab"):
        kernel = client(notebook, path)
        with kernel.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                kernel.execute_cell(cell, index)
            assert problems(notebook) == []
            paused = [
                "".join(o.get("text", ""))
                for c in notebook.cells
                if c.cell_type == "code" and "plot.pause()" in c.source
                for o in c.outputs
            ]
            assert paused and "paused" in paused[0].splitlines()[0], paused
            notebook.cells.append(nbformat.v4.new_code_cell(STILL_LIVE))
            kernel.execute_cell(notebook.cells[-1], len(notebook.cells) - 1)
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs).split()
    assert printed == ["False", "False", "True", "True", "True", "True"], notebook.cells[-1].outputs
