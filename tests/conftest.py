"""Shared fixtures: one real private Prosody per test session, fresh accounts per test.

Every test that starts Prosody is an ``integration`` test, so ``-m "not integration"`` is the fast
loop. The marker is not left to memory: a test using the ``lab`` fixture, even through another
fixture, gets it here, and a test without it that starts Prosody in this process fails, saying so.
Modules that start servers another way (a subprocess, a kernel, a browser) carry ``pytestmark``.
"""

from __future__ import annotations

import uuid

import pytest

from xiotlab import LabServer
from xiotlab.roles import Participant
from xiotlab.server import prosody

# A test using one of these fixtures talks to a real Prosody: the session's ephemeral lab, or the
# persistent one the notebooks join (tests/notebooks).
SERVER_FIXTURES = frozenset({"lab", "persistent_lab"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


class UnmarkedServerStart(AssertionError):
    """A test without the ``integration`` marker tried to start Prosody."""


@pytest.fixture(autouse=True)
def _only_integration_tests_start_prosody(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("integration") is not None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise UnmarkedServerStart(
            f"{request.node.nodeid} starts Prosody: use the `lab` fixture, or mark it `pytest.mark.integration`, "
            "so that `-m 'not integration'` stays the fast loop."
        )

    monkeypatch.setattr(prosody, "launch", refuse)


@pytest.fixture(scope="session")
def lab():
    """A real ephemeral lab server for the whole session."""
    with LabServer() as server:
        yield server


@pytest.fixture
def name():
    """A factory of account names no other test uses: ``name("lamp")`` -> ``lamp-1a2b3c``."""
    return lambda prefix="user": f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def online(lab):
    """Start participants on the session lab, and stop them all when the test ends.

    ``online(Thing, "lamp", owner=...)`` returns the started participant;
    ``online(thing)`` starts one already made (to declare its sensors first).
    """
    started = []

    def start(kind, jid=None, *args, **kwargs):
        if isinstance(kind, Participant):
            participant = kind
        else:
            kwargs.setdefault("lab", lab)
            kwargs.setdefault("timeout", 5)
            participant = kind(jid, *args, **kwargs)
        started.append(participant.start())
        return participant

    yield start
    for participant in started:
        participant.stop()
