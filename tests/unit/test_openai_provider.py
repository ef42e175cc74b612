"""The openai provider's request discipline: what it retries, how long it waits, what it never
sends twice, and what it makes of the upstream's errors."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import httpx
import pytest

from gateway.providers import retry
from gateway.providers.base import JobLookup, UpstreamError, UpstreamFileNotFound
from gateway.providers.config import UpstreamSpec
from gateway.providers.openai import OpenAIProvider

JOB = {"id": "ftjob-up", "status": "running", "result_files": []}
KEY = "sk-upstream-secret-key"


class Script:
    """A MockTransport handler that answers from a list and records what it was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def provider(script: Script, **spec: object) -> OpenAIProvider:
    upstream = UpstreamSpec(name="up", base_url="http://upstream.test/v1", api_key=KEY, **spec)
    return OpenAIProvider(upstream, transport=httpx.MockTransport(script))


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    # Only the provider's module sees the fake: patching asyncio.sleep itself would also turn
    # any other task on the session's event loop into a busy loop, counted here.
    monkeypatch.setattr("gateway.providers.http.asyncio", SimpleNamespace(sleep=sleep))
    return slept


def error(status: int, code: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"message": f"status {status}", "type": "x", "param": None, "code": code}}
    return httpx.Response(status, json=body, headers=headers)


async def test_sends_the_upstream_key_to_the_base_url():
    script = Script(httpx.Response(200, json=JOB))
    job = await provider(script).get_job("ftjob-up")
    assert job.id == "ftjob-up" and job.status == "running"
    assert str(script.requests[0].url) == "http://upstream.test/v1/fine_tuning/jobs/ftjob-up"
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_a_429_is_retried_after_the_time_the_upstream_asked_for(no_sleep: list[float]):
    script = Script(error(429, "rate_limit_exceeded", {"retry-after": "3"}), httpx.Response(200, json=JOB))
    await provider(script).get_job("ftjob-up")
    assert len(script.requests) == 2
    assert no_sleep == [3.0]


async def test_500s_are_retried_with_backoff_then_given_up(no_sleep: list[float]):
    script = Script(error(500), error(502), error(503))
    with pytest.raises(UpstreamError) as raised:
        await provider(script, attempts=3).get_job("ftjob-up")
    assert raised.value.retryable and raised.value.status == 503
    assert len(script.requests) == 3
    assert len(no_sleep) == 2 and 0.375 <= no_sleep[0] <= 0.5 and 0.75 <= no_sleep[1] <= 1.0


async def test_a_retry_after_longer_than_allowed_ends_the_request_at_once(no_sleep: list[float]):
    script = Script(error(429, headers={"retry-after": "600"}))
    with pytest.raises(UpstreamError) as raised:
        await provider(script, max_retry_after_seconds=20).get_job("ftjob-up")
    assert raised.value.retryable and raised.value.retry_after == 600
    assert len(script.requests) == 1 and no_sleep == []


async def test_a_dropped_read_is_retried_but_a_dropped_create_is_never_resent():
    reads = Script(httpx.ReadError("reset"), httpx.Response(200, json=JOB))
    assert (await provider(reads).get_job("ftjob-up")).id == "ftjob-up"
    creates = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json=JOB))
    with pytest.raises(UpstreamError) as raised:
        await provider(creates).submit({"model": "m", "training_file": "file-1"})
    assert raised.value.retryable
    assert len(creates.requests) == 1


async def test_a_400_is_final_and_carries_the_upstreams_words():
    script = Script(error(400, "invalid_training_file"))
    with pytest.raises(UpstreamError) as raised:
        await provider(script).submit({"model": "m"})
    assert not raised.value.retryable
    assert (raised.value.status, raised.value.code, raised.value.message) == (
        400,
        "invalid_training_file",
        "status 400",
    )
    assert len(script.requests) == 1


async def test_a_refused_key_waits_for_the_operator_and_is_never_repeated_in_the_error():
    script = Script(error(401, "invalid_api_key"), error(401), error(401))
    with pytest.raises(UpstreamError) as raised:
        await provider(script).get_job("ftjob-up")
    assert raised.value.retryable
    assert KEY not in str(raised.value)


async def test_x_should_retry_overrides_the_status():
    script = Script(error(500, headers={"x-should-retry": "false"}))
    with pytest.raises(UpstreamError) as raised:
        await provider(script).get_job("ftjob-up")
    assert not raised.value.retryable and len(script.requests) == 1


async def test_find_job_matches_the_metadata_even_when_the_filter_is_ignored():
    other = {**JOB, "id": "ftjob-other", "metadata": {"ftgate_job_id": "ftjob-b"}}
    mine = {**JOB, "id": "ftjob-mine", "metadata": {"ftgate_job_id": "ftjob-a"}}
    script = Script(httpx.Response(200, json={"object": "list", "data": [other, mine], "has_more": False}))
    found = await provider(script).find_job(JobLookup("ftgate_job_id", "ftjob-a", {}, 0, frozenset()))
    assert found is not None and found.id == "ftjob-mine"
    assert script.requests[0].url.params["metadata[ftgate_job_id]"] == "ftjob-a"


async def test_uploads_resend_the_whole_file_after_a_429(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'{"messages": []}\n')
    script = Script(error(429), httpx.Response(200, json={"id": "file-up"}))
    with path.open("rb") as content:
        assert await provider(script).upload_file("train.jsonl", content, "fine-tune") == "file-up"
    assert all(b'{"messages": []}' in request.content for request in script.requests)


def test_retry_after_as_an_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry.retry_after(httpx.Response(429, headers={"retry-after": when})) == pytest.approx(30, abs=1.5)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None):
    waited = retry.retry_after(httpx.Response(429, headers=headers))
    if expected is None:
        assert waited is None
    else:
        assert waited == pytest.approx(expected, abs=3)


async def test_chat_passes_the_body_and_streams_the_answer_back():
    chunks = b'data: {"x": 1}\n\ndata: [DONE]\n\n'
    script = Script(httpx.Response(200, content=chunks, headers={"content-type": "text/event-stream"}))
    reply = await provider(script).chat({"model": "ft:m", "messages": [], "stream": True})
    assert reply.content_type.startswith("text/event-stream")
    assert b"".join([chunk async for chunk in reply.body]) == chunks
    assert json.loads(script.requests[0].content)["model"] == "ft:m"


def refusal(status: int, message: str, param: str | None) -> httpx.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("answer", "param"),
    [
        (refusal(400, "invalid training_file: file-t", "training_file"), "training_file"),
        (refusal(400, "invalid validation_file: file-v", "validation_file"), "validation_file"),
        (refusal(404, "No such File object: file-v", "id"), "validation_file"),
    ],
)
async def test_a_create_naming_a_file_the_upstream_lost_says_which(answer: httpx.Response, param: str):
    request = {"model": "m", "training_file": "file-t", "validation_file": "file-v"}
    with pytest.raises(UpstreamFileNotFound) as raised:
        await provider(Script(answer)).submit(request)
    assert (raised.value.param, raised.value.file_id) == (param, request[param])
    assert not raised.value.retryable


@pytest.mark.parametrize(
    "answer",
    [
        refusal(400, "File file-t has 3 examples; at least 10 are required.", "training_file"),
        refusal(400, "invalid training_file: file-other", "training_file"),
        refusal(404, "Invalid URL (POST /v1/fine_tuning/jobs)", None),
    ],
)
async def test_other_refusals_of_a_create_are_not_taken_for_a_lost_file(answer: httpx.Response):
    with pytest.raises(UpstreamError) as raised:
        await provider(Script(answer)).submit({"model": "m", "training_file": "file-t"})
    assert not isinstance(raised.value, UpstreamFileNotFound)
