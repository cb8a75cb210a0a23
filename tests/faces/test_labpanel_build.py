"""The lab panel as built and installed by bin/setup: JupyterLab lists it enabled, and its jest tests pass.

``npm test`` runs the frontend's unit tests (extensions/labpanel/src/__tests__, jest as the
extension template sets it up), so the README's test command (bin/test) runs them too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extensions" / "labpanel"
SETUP_HINT = "run bin/setup, which installs Node.js and builds the panel"


def jupyter(*args: str) -> str:
    """Output of ``jupyter ARGS`` in this environment, with no user-level Jupyter settings in the way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # no colours


def test_jupyterlab_lists_the_panel_enabled_and_ok():
    listing = jupyter("labextension", "list")
    line = next((line for line in listing.splitlines() if "xiotlab-labpanel" in line), None)
    assert line is not None, f"xiotlab-labpanel is not installed ({SETUP_HINT}):\n{listing}"
    assert "enabled" in line and "OK" in line, line


def test_jupyter_server_loads_the_panels_api():
    listing = jupyter("server", "extension", "list")
    assert re.search(r"xiotlab\.faces\.labpanel\s+enabled", listing), listing
    assert re.search(r"xiotlab\.faces\.labpanel\s+OK", listing), listing


@pytest.mark.timeout(300)
def test_the_frontends_jest_tests_pass():
    npm = shutil.which("npm")
    assert npm, f"npm is missing: {SETUP_HINT}"
    assert (EXTENSION / "node_modules" / ".bin" / "jest").exists(), (
        f"the panel's node_modules are missing: {SETUP_HINT}"
    )
    result = subprocess.run([npm, "test", "--silent"], cwd=EXTENSION, capture_output=True, text=True, check=False)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert re.search(r"Tests:\s+\d+ passed", report), report
