"""Shared fixtures: one real private Prosody per test session, fresh accounts per test.

Every test that starts Prosody is an ``integration`` test, so ``-m "not integration"`` is the fast
loop. The marker is not left to memory: a test using the ``lab`` fixture, even through another
fixture, gets it here, and a test without it that starts Prosody in this process fails, saying so.
Modules that start servers another way (a subprocess, a kernel, a browser) carry ``pytestmark``.
"""

from __future__ import annotations

import os
import uuid

import pytest

from xiotlab import LabServer
from xiotlab.roles import Participant
from xiotlab.server import ejabberd, prosody

# A test using one of these fixtures talks to a real Prosody: the session's ephemeral lab, or the
# persistent one the notebooks join (tests/notebooks).
SERVER_FIXTURES = frozenset({"lab", "persistent_lab"})

ENGINE = os.environ.get("XIOTLAB_ENGINE", "prosody")
"""The engine the session's lab runs on: ``XIOTLAB_ENGINE=ejabberd pytest`` runs the network tests on ejabberd."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "prosody_only: needs the session lab on Prosody (its admin shell, prosody.cfg.lua, federation); "
        "skipped, saying so, under XIOTLAB_ENGINE=ejabberd",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if ENGINE != "prosody" and item.get_closest_marker("prosody_only") is not None:
            item.add_marker(pytest.mark.skip(reason=f"needs Prosody: the session lab runs on {ENGINE}"))


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
    monkeypatch.setattr(ejabberd, "launch", refuse)


@pytest.fixture(scope="session")
def lab():
    """A real ephemeral lab server for the whole session (on ``$XIOTLAB_ENGINE``, Prosody by default)."""
    with LabServer(engine=ENGINE) as server:
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
