"""Fixtures of the notebook face's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def widgets():
    """Widgets made in a test, closed when it ends."""
    made = []
    yield lambda widget: made.append(widget) or widget
    for widget in made:
        widget.close()
