"""Per-key rate limits through the official SDK: requests per minute on every /v1 call, chat
tokens per minute, OpenAI's `x-ratelimit-*` headers and its 429 `rate_limit_exceeded`."""

import math
import re
import secrets
from collections.abc import Callable, Iterator

import httpx2
import openai
import pytest

from tests.conftest import TINY_MODEL
from tests.support.limits import set_limits
from tests.support.server import RunningServer
from tests.support.wire import WireChecker

LIMERICK = [{"role": "user", "content": "Write a limerick about Elle."}]
GREEDY = {"temperature": 0, "max_tokens": 12}
RESET = re.compile(r"\d+ms|\d+(\.\d{1,3})?s")
REQUEST_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)
TOKEN_HEADERS = ("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens")

SdkFor = Callable[[str], openai.OpenAI]


@pytest.fixture
def sdk_for(server: RunningServer, wire: WireChecker) -> Iterator[SdkFor]:
    """An SDK client for a given key, its responses checked on the wire."""
    clients: list[openai.OpenAI] = []

    def make(key: str) -> openai.OpenAI:
        http_client = httpx2.Client(event_hooks={"response": [wire]}, timeout=30)
        clients.append(
            openai.OpenAI(
                base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, http_client=http_client
            )
        )
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def project(server: RunningServer) -> Callable[[], str]:
    """A new key in one project of this test per call."""
    name = f"project-{secrets.token_hex(4)}"
    return lambda: server.create_key(name)


def limit(server: RunningServer, key: str, **limits: int) -> str:
    return set_limits(server.settings.database_url, key, key=limits)


def rate_limit_error(call: Callable[[], object]) -> openai.RateLimitError:
    with pytest.raises(openai.RateLimitError) as raised:
        call()
    return raised.value


def test_the_requests_per_minute_of_a_key(server, project, sdk_for):
    key_a, key_b = project(), project()
    set_limits(server.settings.database_url, key_a, project={"requests_per_minute": 2})
    key_a_id = limit(server, key_a, requests_per_minute=5)
    client_a = sdk_for(key_a)

    remaining = []
    for _ in range(5):
        raw = client_a.models.with_raw_response.list()
        assert raw.status_code == 200 and raw.parse().object == "list"
        assert raw.headers["x-ratelimit-limit-requests"] == "5"
        assert RESET.fullmatch(raw.headers["x-ratelimit-reset-requests"])
        remaining.append(raw.headers["x-ratelimit-remaining-requests"])
    assert remaining == ["4", "3", "2", "1", "0"]
    assert "x-ratelimit-limit-tokens" not in raw.headers

    refused = rate_limit_error(client_a.models.list)
    assert refused.status_code == 429 and refused.code == "rate_limit_exceeded"
    assert refused.body == {
        "message": refused.body["message"],
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    # 5 a minute: one back every 12 s.
    wait = re.fullmatch(
        rf"Rate limit reached for requests per min \(RPM\) on key {key_a_id}: Limit 5, Used 5, Requested 1\. "
        r"Please try again in (\d+(?:\.\d+)?)s\.",
        refused.body["message"],
    )
    assert wait is not None, refused.body["message"]
    assert 11 < float(wait[1]) <= 12
    headers = refused.response.headers
    assert headers["retry-after"] == str(math.ceil(float(wait[1]))) == "12"
    assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-remaining-requests"]) == ("5", "0")
    assert headers["x-request-id"].startswith("req_")

    # Key B of the same project has its own bucket, at the project's per-key default.
    raw = sdk_for(key_b).models.with_raw_response.list()
    assert raw.status_code == 200
    assert (raw.headers["x-ratelimit-limit-requests"], raw.headers["x-ratelimit-remaining-requests"]) == (
        "2",
        "1",
    )


def test_a_refused_request_does_nothing(server, project, sdk_for):
    limited, unlimited = project(), project()
    limit(server, limited, requests_per_minute=1)
    client = sdk_for(limited)
    assert client.files.list().data == []
    with open("tests/data/elle-limericks.jsonl", "rb") as training:
        refused = rate_limit_error(lambda: client.files.create(file=training, purpose="fine-tune"))
    assert refused.body["type"] == "requests"
    raw = sdk_for(unlimited).files.with_raw_response.list()
    assert raw.parse().data == [], "the refused upload left no file"
    assert not any(name.startswith("x-ratelimit-") for name in raw.headers), "no limit, no headers"


def test_errors_of_a_limited_key_carry_its_headers_too(server, project, sdk_for):
    key = project()
    limit(server, key, requests_per_minute=3)
    with pytest.raises(openai.NotFoundError) as raised:
        sdk_for(key).files.retrieve("file-doesnotexist")
    headers = raised.value.response.headers
    assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-remaining-requests"]) == ("3", "2")


def test_chat_tokens_per_minute(server, project, sdk_for):
    key = project()
    key_id = limit(server, key, chat_tokens_per_minute=20)
    client = sdk_for(key)

    raw = client.chat.completions.with_raw_response.create(model=TINY_MODEL, messages=LIMERICK, **GREEDY)
    # Admitted with one token taken; the rest of its usage is paid once known.
    assert tuple(raw.headers[name] for name in TOKEN_HEADERS[:2]) == ("20", "19")
    assert RESET.fullmatch(raw.headers["x-ratelimit-reset-tokens"])
    assert "x-ratelimit-limit-requests" not in raw.headers
    used = raw.parse().usage.total_tokens
    assert used > 20, "one answer spends more than the minute's tokens"

    refused = rate_limit_error(
        lambda: client.chat.completions.create(model=TINY_MODEL, messages=LIMERICK, **GREEDY)
    )
    assert refused.body | {"message": None} == {
        "message": None,
        "type": "tokens",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert refused.body["message"].startswith(
        f"Rate limit reached for tokens per min (TPM) on key {key_id}: Limit 20, Used 20, Requested 1. "
        "Please try again in "
    )
    # The bucket holds 20 - used and refills a token every 3 s: one token is back after about
    # (used - 19) * 3 s.
    retry_after = int(refused.response.headers["retry-after"])
    assert (used - 19) * 3 - 3 <= retry_after <= (used - 19) * 3
    headers = refused.response.headers
    assert tuple(headers[name] for name in TOKEN_HEADERS[:2]) == ("20", "0")
    assert client.models.list().object == "list", "requests without chat are not held to tokens"


def test_a_stream_pays_its_tokens_when_it_ends(server, project, sdk_for):
    key = project()
    limit(server, key, chat_tokens_per_minute=20, requests_per_minute=10)
    client = sdk_for(key)

    raw = client.chat.completions.with_raw_response.create(
        model=TINY_MODEL, messages=LIMERICK, stream=True, **GREEDY
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert tuple(raw.headers[name] for name in TOKEN_HEADERS[:2]) == ("20", "19")
    assert tuple(raw.headers[name] for name in REQUEST_HEADERS[:2]) == ("10", "9")
    chunks = list(raw.parse())
    assert chunks and all(chunk.usage is None for chunk in chunks), "usage only when asked for"
    assert chunks[-1].choices[0].finish_reason == "length"

    refused = rate_limit_error(
        lambda: client.chat.completions.create(model=TINY_MODEL, messages=LIMERICK, stream=True, **GREEDY)
    )
    assert refused.body["type"] == "tokens"
    assert refused.response.headers["x-ratelimit-remaining-requests"] == "8"
