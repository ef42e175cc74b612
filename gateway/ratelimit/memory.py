"""Buckets in this process: the embedded default, where one process serves every request."""

import time
from collections.abc import Callable

from gateway.ratelimit.buckets import Decision, refilled


class MemoryBuckets:
    """Each operation reads and writes its bucket without awaiting in between, so concurrent
    requests on the event loop never interleave inside one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (level, when)

    def _level(self, name: str, limit: int, now: float) -> float:
        level, when = self._buckets.get(name, (float(limit), now))
        return refilled(level, now - when, limit)

    async def take(self, name: str, limit: int, amount: int) -> Decision:
        now = self._clock()
        level = self._level(name, limit, now)
        if level < amount:
            return Decision.of(False, limit, level, amount)
        self._buckets[name] = (level - amount, now)
        return Decision.of(True, limit, level - amount, amount)

    async def debit(self, name: str, limit: int, amount: int) -> Decision:
        now = self._clock()
        level = self._level(name, limit, now) - amount
        self._buckets[name] = (level, now)
        return Decision.of(True, limit, level, amount)

    async def close(self) -> None:
        self._buckets.clear()
