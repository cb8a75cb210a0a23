"""The code stays linted, formatted and type-checked: ruff and mypy, configured in pyproject.toml.

They run as part of the suite, so `bin/test` (and CI, which runs it) fails on a finding, with the
tool's own report as the message. `-m "not lint"` leaves them out.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["xiotlab", "tests", "benchmarks"]

pytestmark = [pytest.mark.lint, pytest.mark.timeout(300)]


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` from the repository root, with this interpreter's environment."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    """Fail with the tool's report (not a traceback of this module) unless it found nothing."""
    tool = result.args[2]
    if f"No module named {tool}" in result.stderr:
        pytest.fail(f"{tool} is not installed: bin/setup installs it with the `test` extra.", pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"$ {' '.join(result.args[2:])}\n{result.stdout}{result.stderr}", pytrace=False)


def test_ruff_finds_nothing_to_lint() -> None:
    assert_clean(run_tool("ruff", "check", "--no-fix", *CHECKED))


def test_ruff_finds_nothing_to_reformat() -> None:
    assert_clean(run_tool("ruff", "format", "--check", "--diff", *CHECKED))


def test_mypy_finds_no_type_error() -> None:
    # The files and the settings are in pyproject.toml's [tool.mypy].
    assert_clean(run_tool("mypy"))
