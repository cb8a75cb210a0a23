"""Execute the curriculum's notebooks against a lab, as a learner would run them top to bottom.

Used by the tests, and to refresh the small outputs committed with the notebooks::

    .venv/bin/python -m tests.notebooks.run notebooks/*.ipynb     # executes and saves them

Saved notebooks keep their text and HTML outputs but no widget state: a
plotly figure's state is megabytes of JavaScript (FIELD-NOTES section 5).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from xiotlab import LabServer

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@contextlib.contextmanager
def lab_environment(home: Path) -> Iterator[LabServer]:
    """A persistent lab under ``home``, found by kernels through ``$XIOTLAB_HOME``."""
    previous = os.environ.get("XIOTLAB_HOME")
    os.environ["XIOTLAB_HOME"] = str(home)
    try:
        with LabServer(home=home) as lab:
            yield lab
    finally:
        if previous is None:
            os.environ.pop("XIOTLAB_HOME", None)
        else:
            os.environ["XIOTLAB_HOME"] = previous


def client(notebook: nbformat.NotebookNode, path: Path, timeout: int = 120) -> NotebookClient:
    """An nbclient that runs ``notebook`` in its own folder with the kernel it names."""
    return NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )


def execute(path: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` top to bottom; a cell that raises stops it (CellExecutionError)."""
    notebook = nbformat.read(path, as_version=4)
    client(notebook, path, timeout).execute()
    return notebook


def problems(notebook: nbformat.NotebookNode) -> list[str]:
    """Error outputs and tracebacks on stderr, each as ``cell N: text``."""
    found = []
    for number, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {number}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr" and "Traceback" in output.text:
                found.append(f"cell {number}: {output.text[-500:]}")
    return found


def slim(notebook: nbformat.NotebookNode, home: str | None = None) -> nbformat.NotebookNode:
    """The notebook without widget state and without widget views (they cannot render from a file).

    The runner's temporary lab home reads as ``~/.xiotlab``, the home a learner's lab has.
    """
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if WIDGET_VIEW in output.get("data", {}):
                output["data"].pop(WIDGET_VIEW)
            if home:
                _replace(output, home, "~/.xiotlab")
    return notebook


def _replace(output: nbformat.NotebookNode, old: str, new: str) -> None:
    if isinstance(output.get("text"), str):
        output["text"] = output["text"].replace(old, new)
    for kind, value in output.get("data", {}).items():
        if isinstance(value, str):
            output["data"][kind] = value.replace(old, new)


def main(paths: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="xiotlab-notebooks-") as home, lab_environment(Path(home)):
        for name in paths:
            path = Path(name)
            notebook = execute(path)
            if problems(notebook):
                print(f"{path}: " + "; ".join(problems(notebook)), file=sys.stderr)
                return 1
            nbformat.write(slim(notebook, home), path)
            print(f"{path}: executed and saved")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
