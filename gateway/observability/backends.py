"""Reaching Redis from the metrics and readiness code: whether this install uses it, a client
with short timeouts, and the Redis lists that hold Celery's queues."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

from gateway.settings import Settings


def uses_redis(settings: Settings) -> bool:
    """The embedded default (in-process queue, rate limits in memory) needs no Redis."""
    return settings.queue == "celery" or settings.rate_limiter == "redis"


@asynccontextmanager
async def redis_client(settings: Settings, timeout_seconds: float) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )
    try:
        yield client
    finally:
        await client.aclose()


def celery_queue_keys(settings: Settings) -> dict[str, list[str]]:
    """Each Celery queue's Redis lists: kombu keeps one list per priority step, the plain name
    for the default priority, all under the install's key prefix."""
    return {
        queue: [
            settings.redis_key_prefix + (f"{queue}{Channel.sep}{step}" if step else queue)
            for step in PRIORITY_STEPS
        ]
        for queue in (settings.celery_queue, settings.celery_training_queue)
    }
