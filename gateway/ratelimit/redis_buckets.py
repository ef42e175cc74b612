"""Buckets in Redis, shared by every gateway replica: one Lua script per operation reads,
refills and writes a bucket atomically on Redis's own clock, so replicas need not agree on time."""

import redis.asyncio as redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.ratelimit.buckets import BucketsUnavailable, Decision

DEFAULT_PREFIX = "ftgate:ratelimit:"
TIMEOUT_SECONDS = 0.5

# KEYS[1] the bucket; ARGV: limit, amount, 'take' or 'debit'. A bucket is a hash of its level
# and the Redis time (ms) it was written at, expiring when it would be full again (absent = full).
# Returns {1 or 0 for allowed, the level after}; the level is a string, as Redis truncates numbers.
BUCKET_SCRIPT = """
local limit = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local per_ms = limit / 60000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local level = limit
local stored = redis.call('HMGET', KEYS[1], 'level', 'at')
if stored[1] then
  level = math.min(limit, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * per_ms)
end
if ARGV[3] == 'take' and level < amount then
  return {0, string.format('%.17g', level)}
end
level = level - amount
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', level), 'at', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((limit - level) / per_ms)))
return {1, string.format('%.17g', level)}
"""


class RedisBuckets:
    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        # Short timeouts and one immediate retry: a request never waits long on a sick Redis.
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), retries=1),
        )
        self._script = self._redis.register_script(BUCKET_SCRIPT)
        self._prefix = prefix

    async def _run(self, operation: str, name: str, limit: int, amount: int) -> Decision:
        try:
            allowed, level = await self._script(keys=[self._prefix + name], args=[limit, amount, operation])
        except (redis.RedisError, OSError) as error:
            raise BucketsUnavailable(str(error)) from error
        return Decision.of(bool(allowed), limit, float(level), amount)

    async def take(self, name: str, limit: int, amount: int) -> Decision:
        return await self._run("take", name, limit, amount)

    async def debit(self, name: str, limit: int, amount: int) -> Decision:
        return await self._run("debit", name, limit, amount)

    async def close(self) -> None:
        await self._redis.aclose()
