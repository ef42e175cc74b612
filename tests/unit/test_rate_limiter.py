"""Which limit and bucket a caller's request counts in, the words and headers OpenAI uses for
them, and requests let through when the buckets' backend is down."""

import logging

import pytest

from gateway.budgets.limits import Limits
from gateway.projects import Caller
from gateway.ratelimit import wire
from gateway.ratelimit.buckets import BucketsUnavailable, Decision
from gateway.ratelimit.limiter import BACKEND_PAUSE_SECONDS, Kind, RateLimiter
from gateway.ratelimit.memory import MemoryBuckets
from gateway.ratelimit.redis_buckets import RedisBuckets
from tests.support.server import free_port


def caller(key_id: str = "key_a", key: Limits | None = None, project: Limits | None = None) -> Caller:
    return Caller(
        project_id="proj_1",
        organization_id="org_1",
        org_slug="team",
        key_id=key_id,
        project_limits=project or Limits(),
        key_limits=key or Limits(),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class DownBuckets:
    def __init__(self) -> None:
        self.calls = 0

    async def take(self, name: str, limit: int, amount: int) -> Decision:
        self.calls += 1
        raise BucketsUnavailable("Connection refused")

    debit = take

    async def close(self) -> None:
        pass


async def test_the_keys_own_limit_else_its_projects():
    project = Limits(requests_per_minute=2, chat_tokens_per_minute=100)
    own = caller(key=Limits(requests_per_minute=5), project=project)
    assert RateLimiter.limit_of(own, Kind.REQUESTS) == 5
    assert RateLimiter.limit_of(own, Kind.TOKENS) == 100
    assert RateLimiter.limit_of(caller(), Kind.REQUESTS) is None


async def test_the_project_limit_is_per_key_not_a_pool():
    limiter = RateLimiter(MemoryBuckets())
    project = Limits(requests_per_minute=1)
    a, b = caller("key_a", project=project), caller("key_b", project=project)
    assert (await limiter.take(a, Kind.REQUESTS)).allowed
    assert not (await limiter.take(a, Kind.REQUESTS)).allowed
    assert (await limiter.take(b, Kind.REQUESTS)).allowed


async def test_no_limit_no_decision():
    buckets = DownBuckets()
    assert await RateLimiter(buckets).take(caller(), Kind.REQUESTS) is None
    assert buckets.calls == 0


async def test_requests_and_tokens_have_buckets_of_their_own():
    limiter = RateLimiter(MemoryBuckets())
    both = caller(key=Limits(requests_per_minute=1, chat_tokens_per_minute=1))
    assert (await limiter.take(both, Kind.REQUESTS)).allowed
    assert (await limiter.take(both, Kind.TOKENS)).allowed
    assert (await limiter.debit(both, Kind.TOKENS, 5)).remaining == 0


async def test_a_down_backend_lets_requests_through_warns_once_and_rests(caplog):
    clock, buckets = Clock(), DownBuckets()
    limiter = RateLimiter(buckets, clock)
    limited = caller(key=Limits(requests_per_minute=1))
    with caplog.at_level(logging.WARNING, logger="gateway.ratelimit.limiter"):
        assert await limiter.take(limited, Kind.REQUESTS) is None
        assert await limiter.debit(limited, Kind.TOKENS, 10) is None
        assert buckets.calls == 1, "the backend is left alone for a while after a failure"
        clock.now += BACKEND_PAUSE_SECONDS
        assert await limiter.take(limited, Kind.REQUESTS) is None
        assert buckets.calls == 2
    assert [record.getMessage() for record in caplog.records] == [
        "rate limits are not enforced for 5 s: their backend failed (Connection refused)"
    ]


async def test_a_redis_that_is_down_lets_requests_through(caplog):
    limiter = RateLimiter(RedisBuckets(f"redis://127.0.0.1:{free_port()}/0"))
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.ratelimit.limiter"):
            assert await limiter.take(caller(key=Limits(requests_per_minute=1)), Kind.REQUESTS) is None
    finally:
        await limiter.close()
    assert "rate limits are not enforced" in caplog.text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.12, "120ms"),
        (0.9996, "1s"),
        (1, "1s"),
        (8.64, "8.64s"),
        (59.9999, "1m0s"),
        (360, "6m0s"),
    ],
)
def test_durations_are_written_like_openais(seconds, text):
    assert wire.duration(seconds) == text


def test_headers_of_a_decision():
    decision = Decision.of(True, 10, 7.5, 1)
    assert wire.headers(Kind.REQUESTS, decision) == {
        "x-ratelimit-limit-requests": "10",
        "x-ratelimit-remaining-requests": "7",
        "x-ratelimit-reset-requests": "15s",
    }
    assert set(wire.headers(Kind.TOKENS, decision)) == {
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    }


def test_refusals_in_openais_words():
    requests = wire.refusal(Kind.REQUESTS, "key_abc", Decision.of(False, 10, 0.0, 1), requested=1)
    assert (requests.status_code, requests.headers) == (429, {"retry-after": "6"})
    assert requests.body() == {
        "error": {
            "message": "Rate limit reached for requests per min (RPM) on key key_abc: Limit 10, Used 10, "
            "Requested 1. Please try again in 6s.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    tokens = wire.refusal(Kind.TOKENS, "key_abc", Decision.of(False, 600, 0.5, 1), requested=1)
    assert tokens.headers == {"retry-after": "1"}
    assert tokens.body()["error"] | {"message": None} == {
        "message": None,
        "type": "tokens",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert tokens.message.startswith(
        "Rate limit reached for tokens per min (TPM) on key key_abc: Limit 600, "
    )
    assert tokens.message.endswith("Please try again in 50ms.")
