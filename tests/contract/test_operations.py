"""/metrics, /healthz and /readyz of a live server: requests counted by route template and status,
budget refusals, upstream tries, retries and failures, chat tokens, and jobs, status changes and
mirroring lag read from the database. Counters are compared between two scrapes: the servers of
a test session share one process, and so its counters."""

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import sdk_client
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import upload, wait_for_status
from tests.support.limits import set_limits_async
from tests.support.metrics import scrape
from tests.support.postgres import temporary_database
from tests.support.server import RunningServer, serve
from tests.support.upstream import (
    GALLIUM,
    UPSTREAM,
    UPSTREAM_KEY,
    create_job,
    upstream_fixtures,
    upstream_settings,
)
from tests.support.wire import WireChecker

JOB_ROUTE = "/v1/fine_tuning/jobs/{fine_tuning_job_id}"


def scripted_upstream() -> FakeUpstream:
    # Slow steps: a job stays running while a test looks at it.
    return FakeUpstream(api_key=UPSTREAM_KEY, step_seconds=2.0, validate_seconds=0.1, queue_seconds=0.1)


@contextmanager
def metrics_server(data_dir: Path, database: str, fake: FakeUpstream) -> Iterator[RunningServer]:
    """OpenAI's models on `fake`; the database read at every scrape."""
    with ExitStack() as stack:
        database_url = "" if database == "sqlite" else stack.enter_context(temporary_database())
        settings = upstream_settings(data_dir, database_url, fake.base_url, metrics_refresh_seconds=0)
        yield stack.enter_context(serve(settings))


fake, server, tidy_fake, jobs_before = upstream_fixtures("operations", scripted_upstream, metrics_server)


@pytest.fixture
def key(server: RunningServer) -> str:
    return server.create_key(f"operations-{secrets.token_hex(4)}")


@pytest.fixture
def client(server: RunningServer, key: str, wire: WireChecker) -> Iterator[openai.OpenAI]:
    with sdk_client(server, key, wire) as made:
        yield made


def test_requests_are_counted_by_route_template_and_status(server: RunningServer, key: str):
    before = scrape(server.base_url)
    with httpx.Client(base_url=server.base_url, headers={"authorization": f"Bearer {key}"}) as http:
        for _ in range(2):
            assert http.get("/v1/fine_tuning/jobs/ftjob-nosuchjob42").status_code == 404
        assert http.get("/v1/models").status_code == 200
        assert http.get("/no/such/route").status_code == 404
        assert http.get("/v1/models", headers={"authorization": "Bearer wrong"}).status_code == 401
    after = scrape(server.base_url)

    def added(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    requests = "ftgate_http_requests_total"
    assert added(requests, method="GET", route=JOB_ROUTE, status="404") == 2
    assert added(requests, method="GET", route="/v1/models", status="200") == 1
    assert added(requests, method="GET", route="/v1/models", status="401") == 1
    assert added(requests, method="GET", route="unmatched", status="404") == 1
    assert added("ftgate_http_request_duration_seconds_count", method="GET", route=JOB_ROUTE) == 2
    assert added("ftgate_http_request_duration_seconds_bucket", method="GET", route=JOB_ROUTE, le="+Inf") == 2
    assert "ftjob-nosuchjob42" not in after.text and "/no/such/route" not in after.text
    # The scrape before this one counted too, under its own route.
    assert added(requests, method="GET", route="/metrics", status="200") == 1


def test_a_budget_refusal_is_counted(server: RunningServer, key: str, client: openai.OpenAI):
    asyncio.run(set_limits_async(server.settings.database_url, key, project={"files": 0}))
    before = scrape(server.base_url)
    with pytest.raises(openai.RateLimitError) as refused:
        upload(client, "elle-limericks.jsonl")
    assert refused.value.code == "insufficient_quota"
    after = scrape(server.base_url)
    refusals = {"limit": "files", "scope": "project"}
    assert after.value("ftgate_budget_refusals_total", **refusals) == (
        before.value("ftgate_budget_refusals_total", **refusals) + 1
    )
    statuses = {"method": "POST", "route": "/v1/files", "status": "429"}
    assert after.value("ftgate_http_requests_total", **statuses) == (
        before.value("ftgate_http_requests_total", **statuses) + 1
    )


def test_upstream_tries_retries_failures_and_chat_tokens_are_counted(
    server: RunningServer, fake: FakeUpstream, client: openai.OpenAI
):
    before = scrape(server.base_url)
    fake.add_fault("POST", r"/chat/completions$", "status", status=500, times=3)  # the upstream's 3 attempts
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="gpt-4o-mini", messages=GALLIUM)
    assert failed.value.status_code == 502
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=GALLIUM)
    after = scrape(server.base_url)

    def added(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert added("ftgate_upstream_requests_total", upstream=UPSTREAM, outcome="500") == 3
    assert added("ftgate_upstream_requests_total", upstream=UPSTREAM, outcome="200") == 1
    assert added("ftgate_upstream_retries_total", upstream=UPSTREAM) == 2
    assert added("ftgate_upstream_errors_total", upstream=UPSTREAM, status="500") == 1
    assert added("ftgate_chat_tokens_total", kind="prompt", provider=UPSTREAM) == answer.usage.prompt_tokens
    assert added("ftgate_chat_tokens_total", kind="completion", provider=UPSTREAM) == (
        answer.usage.completion_tokens
    )


def test_jobs_status_changes_and_mirroring_lag_come_from_the_database(
    server: RunningServer, client: openai.OpenAI
):
    before = scrape(server.base_url)
    job = create_job(client, n_epochs=50)
    wait_for_status(client, job.id, {"running"})
    after = scrape(server.base_url)
    try:
        assert after.value("ftgate_jobs", status="running", provider=UPSTREAM) >= 1
        moved = {"status": "running", "provider": UPSTREAM}
        assert after.value("ftgate_job_status_changes_total", **moved) >= (
            before.value("ftgate_job_status_changes_total", **moved) + 1
        )
        lag = after.value("ftgate_upstream_mirror_lag_seconds", status="running", provider=UPSTREAM)
        assert {"status": "running", "provider": UPSTREAM} in after.series(
            "ftgate_upstream_mirror_lag_seconds"
        )
        assert 0 <= lag < 30
        assert after.value("ftgate_state_readable", source="database") == 1
        assert "ftgate_upstream_look_lateness_seconds" in after.text
    finally:
        client.fine_tuning.jobs.cancel(job.id)
    wait_for_status(client, job.id, {"cancelled"})


def test_health_and_readiness(server: RunningServer):
    assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "alive"}
    ready = httpx.get(f"{server.base_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "blob_store": "ok"}}
    assert ready.headers["x-request-id"].startswith("req_")
