"""What the benchmarks share: timing a call round after round, and reading percentiles off the samples.

Imported by the benchmark scripts as a sibling (``python benchmarks/iot.py`` puts this folder first on the path).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable


async def timed(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    """Seconds each of ``rounds`` awaits of ``call()`` took, one after the other."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
