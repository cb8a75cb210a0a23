"""``Stream``: the live values of one event subscription, as an owner receives them.

Values arrive on the network thread and wait in a bounded buffer; when it
is full the oldest go, and ``dropped`` counts them. Consume a stream by
iterating it (``for field in stream``, or ``async for`` on any event loop),
or with callbacks (``stream.on_data(fn)``, called with each batch on the
network thread). It ends when closed, when the thing goes offline or drops
the subscription, or when the owner goes offline; ``ended`` and
``end_reason`` say when and why. A connection lost and taken back is not an
end: the stream goes on (resubscribed if the server did not keep the
session), and ``gaps`` records when values could not arrive.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..protocol.values import Field
from ..runtime import Observable
from .readout import fields_frame

DEFAULT_BUFFER = 100_000


@dataclass(frozen=True)
class Gap:
    """A time the stream could not receive: from ``start`` to ``end`` (None while it lasts), and why."""

    start: dt.datetime
    reason: str
    end: dt.datetime | None = None


class Stream(Observable):
    """Live sensor values from ``thing``, subscription ``id``."""

    def __init__(
        self,
        thing: str,
        subscription_id: str,
        *,
        buffer: int = DEFAULT_BUFFER,
        unsubscribe: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.thing = thing
        self.id = subscription_id
        self._capacity = buffer
        self._buffer: collections.deque[Field] = collections.deque(maxlen=buffer)
        self._received: collections.deque[Field] = collections.deque(maxlen=buffer)
        self.dropped = 0
        self.count = 0
        self.end_reason: str | None = None
        self.gaps: list[Gap] = []
        self._ready = threading.Condition()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._unsubscribe = unsubscribe

    # --- feeding (network thread) -------------------------------------------

    def push(self, fields: Iterable[Field]) -> None:
        """Add a batch of values that arrived; wake readers and call callbacks."""
        fields = list(fields)
        if not fields or self.ended:
            return
        with self._ready:
            overflow = len(self._buffer) + len(fields) - self._capacity
            if overflow > 0:
                self.dropped += overflow
            self._buffer.extend(fields)
            self._received.extend(fields)
            self.count += len(fields)
            self._ready.notify_all()
        self._wake_async()
        self._notify(fields)

    def end(self, reason: str) -> None:
        """Mark the stream ended (once) and wake every reader."""
        with self._ready:
            if self.end_reason is not None:
                return
            self.end_reason = reason
            self._ready.notify_all()
        self._wake_async()
        self._notify([])

    def open_gap(self, reason: str) -> None:
        """Values cannot arrive from now on, for ``reason``; observers get an empty batch."""
        if self.ended or (self.gaps and self.gaps[-1].end is None):
            return
        self.gaps.append(Gap(dt.datetime.now(dt.UTC), reason))
        self._notify([])

    def close_gap(self) -> None:
        """Values arrive again."""
        if self.gaps and self.gaps[-1].end is None:
            self.gaps[-1] = dataclasses.replace(self.gaps[-1], end=dt.datetime.now(dt.UTC))
            self._notify([])

    @property
    def interrupted(self) -> bool:
        """Whether a gap is open now: the connection, or the subscription, is being taken back."""
        return bool(self.gaps) and self.gaps[-1].end is None

    def _wake_async(self) -> None:
        waiters, self._async_waiters = self._async_waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_settle, future)

    # --- consuming ----------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.end_reason is not None

    def on_data(self, callback: Callable[[list[Field]], Any]) -> Callable[[list[Field]], Any]:
        """Call ``callback(batch)`` with each batch of new values (an empty batch when the stream ends)."""
        return self.observe(callback)

    def get(self, timeout: float | None = None) -> Field | None:
        """The next value, waiting up to ``timeout`` seconds; None if the stream ended or time ran out."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._buffer or self.ended, timeout):
                return None
            return self._buffer.popleft() if self._buffer else None

    def drain(self) -> list[Field]:
        """Every value waiting in the buffer, without waiting."""
        with self._ready:
            values = list(self._buffer)
            self._buffer.clear()
        return values

    def __iter__(self):
        while True:
            field = self.get()
            if field is None:
                return
            yield field

    def __aiter__(self):
        return self._aiterate()

    async def _aiterate(self):
        loop = asyncio.get_running_loop()
        while True:
            with self._ready:
                if self._buffer:
                    field = self._buffer.popleft()
                elif self.ended:
                    return
                else:
                    field = None
                    waiter = loop.create_future()
                    self._async_waiters.append((loop, waiter))
            if field is not None:
                yield field
            else:
                await waiter

    def to_dataframe(self):
        """Every value received so far (up to the buffer size), as pandas in long form.

        Each gap adds, for every field, a row of type ``gap`` with a missing value at the
        gap's start, so that a plot of the frame breaks its lines where values could not come.
        """
        received = list(self._received)
        return fields_frame(self.thing, received, gaps=[gap.start for gap in self.gaps])

    def close(self) -> None:
        """Unsubscribe and end the stream. Safe to call twice."""
        if not self.ended and self._unsubscribe is not None:
            self._unsubscribe()
        self.end("closed")

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"ended ({self.end_reason})" if self.ended else "interrupted" if self.interrupted else "live"
        return (
            f"<Stream {self.id} from {self.thing}: {state}, {self.count} values received, "
            f"{len(self._buffer)} waiting, {self.dropped} dropped>"
        )


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
