"""Rate limits shared by gateway replicas: two gateways on one PostgreSQL database count a key's
requests in one Redis bucket (each its own in memory), and a Redis that is down lets requests
through rather than fail them."""

import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx2
import openai
import pytest

from gateway.settings import Settings
from tests.support.limits import set_limits
from tests.support.postgres import temporary_database
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.server import RunningServer, free_port, serve
from tests.support.wire import WireChecker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with temporary_database() as url:
        yield url


def gateways(
    stack: ExitStack, data_dir: Path, database_url: str, count: int, **settings
) -> list[RunningServer]:
    """`count` gateways on one database, each in its own server with its own runtime."""
    settings = {
        "validation_processes": 1,
        "redis_url": REDIS_URL,
        "redis_key_prefix": REDIS_KEY_PREFIX,
    } | settings
    return [
        stack.enter_context(
            serve(Settings(data_dir=data_dir / f"gateway-{index}", database_url=database_url, **settings))
        )
        for index in range(count)
    ]


def sdk(stack: ExitStack, server: RunningServer, key: str, wire: WireChecker) -> openai.OpenAI:
    http_client = httpx2.Client(event_hooks={"response": [wire]}, timeout=30)
    return stack.enter_context(
        openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, http_client=http_client)
    )


@pytest.mark.parametrize(("rate_limiter", "admitted"), [("redis", 10), ("memory", 20)])
def test_two_gateways_hold_a_key_to_its_requests_per_minute(
    tmp_path, database_url, wire, rate_limiter, admitted
):
    with ExitStack() as stack:
        servers = gateways(stack, tmp_path, database_url, 2, rate_limiter=rate_limiter)
        key = servers[0].create_key(f"project-{secrets.token_hex(4)}")
        key_id = set_limits(database_url, key, key={"requests_per_minute": 10})
        clients = [sdk(stack, server, key, wire) for server in servers]

        remaining: list[str] = []
        refusals: list[openai.RateLimitError] = []
        for attempt in range(30):
            try:
                raw = clients[attempt % 2].models.with_raw_response.list()
            except openai.RateLimitError as refused:
                refusals.append(refused)
            else:
                assert raw.parse().object == "list"
                remaining.append(raw.headers["x-ratelimit-remaining-requests"])

    assert (len(remaining), len(refusals)) == (admitted, 30 - admitted)
    if rate_limiter == "redis":
        assert remaining == [str(left) for left in range(9, -1, -1)], "one bucket, whichever gateway"
    for refused in refusals:
        assert refused.body["message"].startswith(
            f"Rate limit reached for requests per min (RPM) on key {key_id}: Limit 10, Used 10, Requested 1."
        )
        assert (refused.body["type"], refused.body["code"]) == ("requests", "rate_limit_exceeded")
        assert refused.response.headers["x-ratelimit-remaining-requests"] == "0"
        assert int(refused.response.headers["retry-after"]) in (5, 6)


def test_a_redis_that_is_down_lets_requests_through(tmp_path, database_url, wire):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with ExitStack() as stack:
        [server] = gateways(stack, tmp_path, database_url, 1, rate_limiter="redis", redis_url=dead_redis)
        key = server.create_key(f"project-{secrets.token_hex(4)}")
        set_limits(database_url, key, key={"requests_per_minute": 1})
        client = sdk(stack, server, key, wire)
        for _ in range(3):
            raw = client.models.with_raw_response.list()
            assert raw.status_code == 200 and raw.parse().object == "list"
            assert "x-ratelimit-limit-requests" not in raw.headers
