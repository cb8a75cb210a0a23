"""Shared fixtures: one real private Prosody per test session, fresh accounts per test."""

from __future__ import annotations

import uuid

import pytest

from xiotlab import LabServer
from xiotlab.roles import Participant


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
