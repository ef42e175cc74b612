"""The upstream's `fine_tuning.job.*` webhooks: a signed delivery makes ftgate look at the job at
once, long before its next poll; anything unsigned or unknown is refused."""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import openai
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import upload, wait_for_status
from tests.support.server import RunningServer, free_port, serve
from tests.support.upstream import (
    UPSTREAM,
    UPSTREAM_KEY,
    WEBHOOK_SECRET,
    supervised,
    the_upstream_job,
    upstream_settings,
)

SLOW_POLLING = {
    "upstream_poll_running_seconds": 120.0,
    "upstream_poll_waiting_seconds": 120.0,
    "upstream_job_refresh_seconds": 120.0,
}


@pytest.fixture(scope="module")
def fake_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake_port: int) -> Iterator[RunningServer]:
    base_url = f"http://127.0.0.1:{fake_port}/v1"
    settings = upstream_settings(tmp_path_factory.mktemp("webhooks"), "", base_url, **SLOW_POLLING)
    with serve(settings) as running:
        yield running


@pytest.fixture(scope="module")
def fake(server: RunningServer, fake_port: int) -> Iterator[FakeUpstream]:
    with FakeUpstream(
        api_key=UPSTREAM_KEY,
        step_seconds=0.02,
        validate_seconds=0.1,
        queue_seconds=0.1,
        webhook_url=f"{server.base_url}/webhooks/upstreams/{UPSTREAM}",
        webhook_secret=WEBHOOK_SECRET,
        port=fake_port,
    ) as upstream:
        yield upstream


def test_a_webhook_brings_the_outcome_long_before_the_next_poll(client: openai.OpenAI, fake: FakeUpstream):
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, method=supervised(1))
    started = time.monotonic()
    done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=30)
    assert done.status == "succeeded"
    assert time.monotonic() - started < 20  # the next poll was two minutes away
    upstream = the_upstream_job(fake, job.id)
    assert [attempt["status"] for attempt in upstream["webhook_attempts"]] == [204]


def signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    message_id = "evt_test"
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, now, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def test_unsigned_or_unknown_deliveries_are_refused(server: RunningServer):
    body = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "fine_tuning.job.succeeded",
            "created_at": int(time.time()),
            "data": {"id": "ftjob-unknown"},
        }
    ).encode()
    url = f"{server.base_url}/webhooks/upstreams/{UPSTREAM}"
    assert httpx.post(url, content=body, headers=signed(body)).status_code == 204
    forged = signed(body, "whsec_" + "A" * 32)
    refused = httpx.post(url, content=body, headers=forged)
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert httpx.post(url, content=body).status_code == 400
    tampered = httpx.post(url, content=body.replace(b"unknown", b"other"), headers=signed(body))
    assert tampered.status_code == 400
    elsewhere = httpx.post(f"{server.base_url}/webhooks/upstreams/nobody", content=body, headers=signed(body))
    assert elsewhere.status_code == 404
