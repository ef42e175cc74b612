"""Token buckets, whatever holds them: a bucket is full at `limit`, refills continuously at
`limit / 60` per second, and an absent bucket is a full one."""

from dataclasses import dataclass
from typing import Protocol

SECONDS_PER_MINUTE = 60.0


class BucketsUnavailable(Exception):
    """The backend could not be asked (Redis down or slow); the decision is unknown."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    seconds_until_full: float
    seconds_until_available: float
    """Until the amount asked for is in the bucket: 0 when allowed."""

    @classmethod
    def of(cls, allowed: bool, limit: int, level: float, amount: int) -> "Decision":
        """The decision once `level` is what the bucket holds after the operation."""
        rate = limit / SECONDS_PER_MINUTE
        return cls(
            allowed=allowed,
            limit=limit,
            remaining=max(0, int(level)),
            seconds_until_full=max(0.0, (limit - level) / rate),
            seconds_until_available=0.0 if allowed else (amount - level) / rate,
        )


def refilled(level: float, elapsed_seconds: float, limit: int) -> float:
    return min(float(limit), level + max(0.0, elapsed_seconds) * limit / SECONDS_PER_MINUTE)


class Buckets(Protocol):
    async def take(self, name: str, limit: int, amount: int) -> Decision:
        """Take `amount` if the bucket holds at least that much; otherwise take nothing."""

    async def debit(self, name: str, limit: int, amount: int) -> Decision:
        """Take `amount` whatever the bucket holds: it may go below zero, and stays empty for
        as long as it takes to refill the debt."""

    async def close(self) -> None: ...
