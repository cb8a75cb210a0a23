"""The fast loop, `-m "not integration"`, cannot start Prosody: tests/conftest.py sees to it.

A test using the `lab` fixture unmarked would fail the same way, when the session lab starts.
"""

from __future__ import annotations

import pytest

from tests.conftest import UnmarkedServerStart
from xiotlab import LabServer


def test_a_test_without_the_integration_marker_cannot_start_prosody() -> None:
    with pytest.raises(UnmarkedServerStart, match="starts Prosody: use the `lab` fixture"):
        LabServer().start()
