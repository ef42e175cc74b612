"""Which bucket a caller's request counts in, and what happens when the buckets cannot be asked.

A key is held to its own `requests_per_minute` and `chat_tokens_per_minute`, or else to its
project's (a default for each key, not a pool the keys share). When the backend fails (Redis
down or slower than its timeout) requests go through unlimited rather than fail: a warning is
logged at most once a minute, and the backend is left alone for a few seconds before it is
asked again, so an outage adds no latency to every request.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

from gateway.projects import Caller
from gateway.ratelimit.buckets import Buckets, BucketsUnavailable, Decision
from gateway.ratelimit.memory import MemoryBuckets
from gateway.ratelimit.redis_buckets import DEFAULT_PREFIX, RedisBuckets
from gateway.settings import Settings

log = logging.getLogger(__name__)

WARNING_INTERVAL_SECONDS = 60.0
BACKEND_PAUSE_SECONDS = 5.0


class Kind(StrEnum):
    REQUESTS = "requests"
    TOKENS = "tokens"


class RateLimiter:
    def __init__(self, buckets: Buckets, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = buckets
        self._clock = clock
        self._paused_until = float("-inf")
        self._warned_at = float("-inf")

    @staticmethod
    def limit_of(caller: Caller, kind: Kind) -> int | None:
        field = "requests_per_minute" if kind is Kind.REQUESTS else "chat_tokens_per_minute"
        own = getattr(caller.key_limits, field)
        return own if own is not None else getattr(caller.project_limits, field)

    async def take(self, caller: Caller, kind: Kind, amount: int = 1) -> Decision | None:
        """None when the caller has no such limit, or when the backend cannot say."""
        return await self._ask(self._buckets.take, caller, kind, amount)

    async def debit(self, caller: Caller, kind: Kind, amount: int) -> Decision | None:
        return await self._ask(self._buckets.debit, caller, kind, amount)

    async def _ask(
        self,
        operation: Callable[[str, int, int], Awaitable[Decision]],
        caller: Caller,
        kind: Kind,
        amount: int,
    ) -> Decision | None:
        limit = self.limit_of(caller, kind)
        if limit is None or self._clock() < self._paused_until:
            return None
        try:
            return await operation(f"{caller.rate_limit_key}:{kind}", limit, amount)
        except BucketsUnavailable as error:
            self._backend_failed(error)
            return None

    def _backend_failed(self, error: BucketsUnavailable) -> None:
        now = self._clock()
        self._paused_until = now + BACKEND_PAUSE_SECONDS
        if now - self._warned_at >= WARNING_INTERVAL_SECONDS:
            self._warned_at = now
            log.warning(
                "rate limits are not enforced for %g s: their backend failed (%s)",
                BACKEND_PAUSE_SECONDS,
                error,
            )

    async def close(self) -> None:
        await self._buckets.close()


def build_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.rate_limiter == "redis":
        return RateLimiter(
            RedisBuckets(settings.redis_url, prefix=settings.redis_key_prefix + DEFAULT_PREFIX)
        )
    return RateLimiter(MemoryBuckets())
