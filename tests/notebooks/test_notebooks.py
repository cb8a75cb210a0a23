"""Every notebook of the curriculum runs top to bottom against a real lab, with no error output."""

from __future__ import annotations

import nbformat
import pytest

from .run import NOTEBOOKS, client, execute, lab_environment, problems

PAIR = ("07a-exercise-thing.ipynb", "07b-exercise-owner.ipynb")
SINGLE = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in PAIR)


@pytest.fixture(scope="module")
def persistent_lab(tmp_path_factory):
    """The persistent lab the notebooks join (``LabServer.running()``), private to these tests."""
    with lab_environment(tmp_path_factory.mktemp("lab")) as lab:
        yield lab


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", SINGLE)
def test_notebook_runs_top_to_bottom(persistent_lab, name):
    notebook = execute(NOTEBOOKS / name)
    assert problems(notebook) == []


@pytest.mark.timeout(300)
def test_the_two_notebook_exercise_a_thing_in_one_kernel_its_owner_in_another(persistent_lab):
    thing_path, owner_path = (NOTEBOOKS / name for name in PAIR)
    thing_notebook = nbformat.read(thing_path, as_version=4)
    thing_kernel = client(thing_notebook, thing_path)
    with thing_kernel.setup_kernel():
        for index, cell in enumerate(thing_notebook.cells):
            thing_kernel.execute_cell(cell, index)
        # The thing stays online while its kernel lives: now the owner's notebook works with it.
        owner_notebook = execute(owner_path)
    assert problems(thing_notebook) == [] and problems(owner_notebook) == []


def test_committed_notebooks_carry_no_widget_state_and_name_their_kernel():
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        assert "widgets" not in notebook.metadata, f"{path.name}: strip widget state (python -m tests.notebooks.run)"
        assert notebook.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: no kernelspec"
        assert path.stat().st_size < 200_000, f"{path.name}: outputs too bulky to commit"
