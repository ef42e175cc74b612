"""Token buckets in both backends: the memory one on an injected clock, the Redis one on the
real server (127.0.0.1:6379) with a key prefix of its own per test, refilling in real time."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from gateway.ratelimit.buckets import Buckets, BucketsUnavailable
from gateway.ratelimit.memory import MemoryBuckets
from gateway.ratelimit.redis_buckets import RedisBuckets
from tests.support.redis_isolation import REDIS_URL
from tests.support.server import free_port

# The Redis buckets refill while a test runs: what it reads may be this much fuller than exact.
SLACK = 0.2

Advance = Callable[[float], Awaitable[None]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"ftgate:ratelimit:test-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    async for key in client.scan_iter(match=prefix + "*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(
    request: pytest.FixtureRequest, redis_prefix: str
) -> AsyncIterator[tuple[Buckets, Advance]]:
    """Buckets, and a way to let time pass for them."""
    if request.param == "memory":
        clock = Clock()

        async def advance_clock(seconds: float) -> None:
            clock.now += seconds

        buckets: Buckets = MemoryBuckets(clock)
        yield buckets, advance_clock
    else:
        buckets = RedisBuckets(REDIS_URL, prefix=redis_prefix)
        yield buckets, asyncio.sleep
    await buckets.close()


async def test_take_until_empty(backend):
    buckets, _ = backend
    decisions = [await buckets.take("key_a:requests", 5, 1) for _ in range(6)]
    assert [decision.allowed for decision in decisions] == [True] * 5 + [False]
    assert [decision.remaining for decision in decisions] == [4, 3, 2, 1, 0, 0]
    assert {decision.limit for decision in decisions} == {5}
    refused = decisions[-1]
    # 5 a minute: one back every 12 s, the bucket full again after 60 s.
    assert 12 - SLACK < refused.seconds_until_available <= 12
    assert 60 - SLACK < refused.seconds_until_full <= 60
    assert decisions[0].seconds_until_available == 0


async def test_buckets_are_separate_by_name(backend):
    buckets, _ = backend
    assert (await buckets.take("key_a:requests", 1, 1)).allowed
    assert not (await buckets.take("key_a:requests", 1, 1)).allowed
    assert (await buckets.take("key_b:requests", 1, 1)).allowed
    assert (await buckets.take("key_a:tokens", 1, 1)).allowed


async def test_a_refused_take_takes_nothing(backend):
    buckets, _ = backend
    assert (await buckets.take("key_a:tokens", 600, 500)).remaining == 100
    refused = await buckets.take("key_a:tokens", 600, 200)
    assert (refused.allowed, refused.remaining) == (False, 100)
    assert 10 - SLACK < refused.seconds_until_available <= 10  # 100 more tokens at 10 a second
    assert (await buckets.take("key_a:tokens", 600, 100)).allowed


async def test_the_bucket_refills_continuously(backend):
    buckets, advance = backend
    # 600 a minute: 10 a second.
    assert (await buckets.take("key_a:requests", 600, 600)).remaining == 0
    assert not (await buckets.take("key_a:requests", 600, 1)).allowed
    await advance(0.25)
    assert (await buckets.take("key_a:requests", 600, 2)).allowed
    assert not (await buckets.take("key_a:requests", 600, 1)).allowed


async def test_a_bucket_never_fills_beyond_its_limit(backend):
    buckets, advance = backend
    assert (await buckets.take("key_a:requests", 600, 1)).allowed
    await advance(0.5)
    decision = await buckets.take("key_a:requests", 600, 1)
    assert decision.remaining == 599
    assert 0.1 - SLACK < decision.seconds_until_full <= 0.1


async def test_debit_goes_below_zero_and_the_bucket_waits_for_the_debt(backend):
    buckets, advance = backend
    # 60 a minute: one a second.
    debited = await buckets.debit("key_a:tokens", 60, 90)
    assert (debited.allowed, debited.remaining, debited.seconds_until_available) == (True, 0, 0)
    assert 90 - SLACK < debited.seconds_until_full <= 90
    refused = await buckets.take("key_a:tokens", 60, 1)
    assert not refused.allowed
    assert 31 - SLACK < refused.seconds_until_available <= 31  # from -30 to 1
    await advance(1.0)
    again = await buckets.take("key_a:tokens", 60, 1)
    assert not again.allowed and 30 - SLACK < again.seconds_until_available <= 30


async def test_a_lower_limit_applies_at_once(backend):
    buckets, _ = backend
    assert (await buckets.take("key_a:requests", 100, 1)).remaining == 99
    lowered = await buckets.take("key_a:requests", 10, 1)
    assert (lowered.allowed, lowered.limit, lowered.remaining) == (True, 10, 9)


async def test_memory_refill_is_exact_on_its_clock():
    clock = Clock()
    buckets = MemoryBuckets(clock)
    assert (await buckets.take("k", 6, 6)).remaining == 0  # one back every 10 s
    clock.now += 9.999
    assert not (await buckets.take("k", 6, 1)).allowed
    clock.now += 0.001
    decision = await buckets.take("k", 6, 1)
    assert (decision.allowed, decision.remaining, decision.seconds_until_full) == (True, 0, 60.0)
    clock.now += 1000
    assert (await buckets.take("k", 6, 1)).remaining == 5


@pytest.mark.redis
async def test_redis_buckets_are_shared_and_atomic_across_clients(redis_prefix):
    replicas = [RedisBuckets(REDIS_URL, prefix=redis_prefix) for _ in range(2)]
    try:
        decisions = await asyncio.gather(
            *(replicas[index % 2].take("key_a:requests", 10, 1) for index in range(40))
        )
    finally:
        for replica in replicas:
            await replica.close()
    assert sum(decision.allowed for decision in decisions) == 10


@pytest.mark.redis
async def test_redis_keys_are_namespaced_and_expire_when_full_again(redis_prefix):
    buckets = RedisBuckets(REDIS_URL, prefix=redis_prefix)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await buckets.take("key_a:requests", 60, 6)  # full again 6 s later
        assert [key async for key in client.scan_iter(match=redis_prefix + "*")] == [
            f"{redis_prefix}key_a:requests".encode()
        ]
        assert 5000 < await client.pttl(f"{redis_prefix}key_a:requests") <= 6000
    finally:
        await client.aclose()
        await buckets.close()


async def test_redis_that_does_not_answer_is_unavailable():
    buckets = RedisBuckets(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(BucketsUnavailable):
            await buckets.take("key_a:requests", 10, 1)
    finally:
        await buckets.close()
