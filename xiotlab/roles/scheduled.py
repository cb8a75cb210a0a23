"""Readouts asked for later: a request with ``when`` in the future is accepted now and read then.

SensorDataRequestResponse.md ("Scheduled or queued responses"): the device
answers ``<accepted queued='true'>`` in the iq result, and when the time
comes sends the data in messages; a ``<cancel>`` of a readout still waiting
cancels it. XEP-0323 (the legacy dialect) runs the same way, with a
``<started>`` message before the data and ``<cancelled>`` answering a cancel.

A thing keeps what it promised in memory, bounded: at most
:data:`MAX_QUEUED` waiting readouts per requester (bare JID, so that more
resources do not buy more room), none more than :data:`MAX_AHEAD` ahead.
Beyond either the request is refused with a stanza error. Waiting readouts
are forgotten when the service is detached (the thing stops or is
replaced); the specification allows a device to lose them ("no guarantee").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from ..errors import StanzaError

MAX_AHEAD = dt.timedelta(days=1)
"""How far in the future a readout may be scheduled."""

MAX_QUEUED = 16
"""How many scheduled readouts one requester (bare JID) may have waiting at a thing."""

log = logging.getLogger("xiotlab")


class Schedule:
    """The readouts waiting for their time, keyed by (requester full JID, request id).

    Lives on the network loop: :meth:`add`, :meth:`cancel` and :meth:`clear` are called there.
    """

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], asyncio.Task] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    @staticmethod
    def later(when: dt.datetime | None) -> bool:
        """Whether a request with ``when`` is to wait (``when`` in the future); a past time is now."""
        return when is not None and when > dt.datetime.now(dt.UTC)

    def add(self, requester: str, request_id: str, when: dt.datetime, run: Callable[[], Awaitable[None]]) -> None:
        """Run ``run()`` at ``when`` for ``requester`` (a full JID); a refusal raises :class:`StanzaError`."""
        ahead = when - dt.datetime.now(dt.UTC)
        if ahead > MAX_AHEAD:
            raise StanzaError(
                f"A readout may be scheduled at most {_hours(MAX_AHEAD)} ahead; "
                f"this one is {_hours(ahead)} ahead. Ask again nearer the time.",
                condition="bad-request",
                kind="modify",
            )
        key = (requester, request_id)
        if key in self._waiting:
            raise StanzaError(
                f"A readout with id {request_id!r} from {requester} is already scheduled; "
                "request ids must be unique per requester.",
                condition="conflict",
            )
        bare = requester.split("/", 1)[0]
        if sum(1 for jid, _ in self._waiting if jid.split("/", 1)[0] == bare) >= MAX_QUEUED:
            # resource-constraint (RFC 6120 8.3.3.18), type wait: retry once some have run.
            raise StanzaError(
                f"{bare} already has {MAX_QUEUED} readouts scheduled here, the most one requester may; "
                "cancel one or wait until one has run.",
                condition="resource-constraint",
                kind="wait",
            )
        task = asyncio.get_running_loop().create_task(self._at(ahead.total_seconds(), run))
        self._waiting[key] = task  # also the strong reference the loop does not keep
        task.add_done_callback(lambda done: self._forget(key, done))

    def cancel(self, requester: str, request_id: str) -> bool:
        """Cancel a waiting readout; False if there was none (run already, or never asked)."""
        task = self._waiting.pop((requester, request_id), None)
        if task is None:
            return False
        task.cancel()
        return True

    def clear(self) -> None:
        """Cancel every waiting readout."""
        waiting, self._waiting = self._waiting, {}
        for task in waiting.values():
            task.cancel()

    def _forget(self, key: tuple[str, str], task: asyncio.Task) -> None:
        if self._waiting.get(key) is task:
            del self._waiting[key]

    @staticmethod
    async def _at(delay: float, run: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(delay)
        try:
            await run()
        except Exception:  # a readout that fails at its time must not go unnoticed, nor break the loop
            log.warning("a scheduled readout failed", exc_info=True)


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.4g} h"
