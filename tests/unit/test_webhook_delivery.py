"""Project webhooks from the outbox to a real receiver: signed per Standard Webhooks, retried on the
configured schedule with the same webhook-id, every attempt logged, one sender at a time."""

import asyncio
import base64
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager

import openai
import pytest
from sqlalchemy import select

from gateway import migrations, projects
from gateway.models import WebhookAttempt, WebhookDelivery
from gateway.runtime import Runtime, build_runtime
from gateway.settings import Settings
from gateway.webhooks import delivery, outbox, repository, service
from tests.support.postgres import temporary_database
from tests.support.spec import assert_matches_schema
from tests.support.webhook_receiver import WebhookReceiver
from workers.inprocess import InProcessRunner

RETRY_SECONDS = [0.1, 0.1]
TICK_SECONDS = 0.05
EVENT_KEYS = {"id", "object", "type", "created_at", "data"}
SPEC_SCHEMAS = {
    "succeeded": "WebhookFineTuningJobSucceeded",
    "failed": "WebhookFineTuningJobFailed",
    "cancelled": "WebhookFineTuningJobCancelled",
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    with ExitStack() as stack:
        database_url = (
            f"sqlite+aiosqlite:///{data_dir / 'ftgate.db'}"
            if request.param == "sqlite"
            else stack.enter_context(temporary_database())
        )
        migrations.upgrade(database_url)
        yield Settings(
            data_dir=data_dir,
            database_url=database_url,
            webhook_retry_seconds=RETRY_SECONDS,
            webhook_timeout_seconds=2.0,
        )


@asynccontextmanager
async def running_workers(settings: Settings) -> AsyncIterator[Runtime]:
    """The embedded default's queue and periodic tick, as `ftgate serve` runs them."""
    runner = InProcessRunner(3600, 3600, TICK_SECONDS)
    runtime = build_runtime(settings, runner.dispatch)
    await runner.start(runtime)
    try:
        yield runtime
    finally:
        await runner.stop()
        await runtime.close()


@asynccontextmanager
async def no_workers(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime whose dispatches go nowhere: the test runs the tasks itself."""
    runtime = build_runtime(settings, lambda *_: None)
    try:
        yield runtime
    finally:
        await runtime.close()


async def new_project(runtime: Runtime) -> str:
    async with runtime.transaction() as session:
        return (await projects.get_or_create_project(session, f"hooks-{secrets.token_hex(4)}")).id


async def new_endpoint(runtime: Runtime, project_id: str, url: str, event_types: list[str] | None = None):
    async with runtime.transaction() as session:
        return await service.create(session, "admin", project_id, url, event_types)


async def finish_job(runtime: Runtime, project_id: str, status: str) -> str:
    job_id = "ftjob-" + secrets.token_hex(12)
    async with runtime.transaction() as session:
        await outbox.queue_job_event(session, project_id, job_id, status)
    return job_id


async def deliveries_of(runtime: Runtime, endpoint_id: str) -> list[WebhookDelivery]:
    async with runtime.transaction() as session:
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        return list((await session.scalars(query.order_by(WebhookDelivery.seq))).all())


async def attempts_of(runtime: Runtime, delivery_id: str) -> list[WebhookAttempt]:
    async with runtime.transaction() as session:
        return (await repository.attempts_of(session, [delivery_id]))[delivery_id]


async def settled(runtime: Runtime, endpoint_id: str, timeout: float = 15.0) -> WebhookDelivery:
    """The endpoint's one delivery, once it is no longer pending."""
    deadline = time.monotonic() + timeout
    while True:
        [found] = await deliveries_of(runtime, endpoint_id)
        if found.status != repository.PENDING:
            return found
        assert time.monotonic() < deadline, f"{found.id} still pending after {found.attempts} attempts"
        await asyncio.sleep(0.05)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


async def test_a_receiver_failing_twice_gets_one_successful_delivery(settings: Settings):
    with WebhookReceiver(answers=[500, 500]) as receiver:
        async with running_workers(settings) as runtime:
            project_id = await new_project(runtime)
            endpoint = await new_endpoint(runtime, project_id, receiver.url)
            receiver.secret = endpoint.secret
            job_id = await finish_job(runtime, project_id, "succeeded")
            found = await settled(runtime, endpoint.id)
            attempts = await attempts_of(runtime, found.id)
            await asyncio.sleep(3 * TICK_SECONDS)  # a delivered delivery is never sent again
    assert (found.status, found.attempts, found.delivered_at) == ("delivered", 3, attempts[-1].attempted_at)
    assert [(a.succeeded, a.status_code, a.error) for a in attempts] == [
        (False, 500, None),
        (False, 500, None),
        (True, 200, None),
    ]
    assert [request.answered for request in receiver.received] == [500, 500, 200]
    assert all(request.error is None for request in receiver.received), receiver.received
    assert {request.headers["webhook-id"] for request in receiver.received} == {found.id}
    assert all(request.headers["content-type"] == "application/json" for request in receiver.received)
    assert len({request.body for request in receiver.received}) == 1  # the same event every time
    event = receiver.verified_payloads()[0]
    assert_matches_schema(event, SPEC_SCHEMAS["succeeded"])
    assert set(event) == EVENT_KEYS and event["object"] == "event"
    assert event["type"] == "fine_tuning.job.succeeded" and event["data"] == {"id": job_id}
    assert event["id"].startswith("evt_") and abs(event["created_at"] - time.time()) < 60
    assert found.payload == event
    # What a receiver written with the official SDK sees.
    sdk = openai.OpenAI(api_key="unused", webhook_secret=endpoint.secret)
    unwrapped = sdk.webhooks.unwrap(receiver.received[-1].body, receiver.received[-1].headers)
    assert (unwrapped.type, unwrapped.data.id, unwrapped.id) == (
        "fine_tuning.job.succeeded",
        job_id,
        event["id"],
    )


async def test_a_receiver_that_never_accepts_fails_after_the_schedule(settings: Settings):
    with WebhookReceiver(then=307) as redirecting:
        async with running_workers(settings) as runtime:
            project_id = await new_project(runtime)
            redirected = await new_endpoint(runtime, project_id, redirecting.url)
            redirecting.secret = redirected.secret
            unreachable = await new_endpoint(runtime, project_id, closed_port_url())
            await finish_job(runtime, project_id, "failed")
            outcomes = {}
            for endpoint in (redirected, unreachable):
                found = await settled(runtime, endpoint.id)
                outcomes[endpoint.id] = (found, await attempts_of(runtime, found.id))
            await asyncio.sleep(3 * TICK_SECONDS)  # nor is a failed one
    tries = 1 + len(RETRY_SECONDS)
    found, attempts = outcomes[redirected.id]
    assert (found.status, found.attempts, found.delivered_at) == ("failed", tries, None)
    assert [(a.succeeded, a.status_code) for a in attempts] == [(False, 307)] * tries
    assert all("Redirects are not followed" in (a.error or "") for a in attempts)
    # Each try reached the endpoint's own URL once: the redirect was not followed.
    assert [request.path for request in redirecting.received] == ["/hook"] * tries
    assert_matches_schema(redirecting.verified_payloads()[0], SPEC_SCHEMAS["failed"])
    found, attempts = outcomes[unreachable.id]
    assert (found.status, found.attempts) == ("failed", tries)
    assert all(not a.succeeded and a.status_code is None and a.error for a in attempts)


async def test_each_subscribed_endpoint_gets_the_event_under_its_own_webhook_id(settings: Settings):
    async with no_workers(settings) as runtime:
        project_id = await new_project(runtime)
        url = closed_port_url()
        everything = await new_endpoint(runtime, project_id, url)
        also_cancelled = await new_endpoint(runtime, project_id, url, ["fine_tuning.job.cancelled"])
        only_succeeded = await new_endpoint(runtime, project_id, url, ["fine_tuning.job.succeeded"])
        disabled = await new_endpoint(runtime, project_id, url)
        async with runtime.transaction() as session:
            await service.disable(session, "admin", disabled.id)
        other_project = await new_endpoint(runtime, await new_project(runtime), url)
        for status in ("running", "paused", "cancelled"):
            await finish_job(runtime, project_id, status)
        [for_everything] = await deliveries_of(runtime, everything.id)
        [for_cancelled] = await deliveries_of(runtime, also_cancelled.id)
        for endpoint in (only_succeeded, disabled, other_project):
            assert await deliveries_of(runtime, endpoint.id) == []
    assert for_everything.id != for_cancelled.id
    assert for_everything.payload == for_cancelled.payload  # one event, its id shared
    assert_matches_schema(for_everything.payload, SPEC_SCHEMAS["cancelled"])
    assert (for_everything.status, for_everything.event_type) == ("pending", "fine_tuning.job.cancelled")


async def test_one_sender_at_a_time_and_a_dead_senders_lease_runs_out(settings: Settings):
    with WebhookReceiver(delay_seconds=0.3) as receiver:
        async with no_workers(settings) as runtime:
            project_id = await new_project(runtime)
            endpoint = await new_endpoint(runtime, project_id, receiver.url)
            receiver.secret = endpoint.secret
            await finish_job(runtime, project_id, "succeeded")
            await finish_job(runtime, project_id, "succeeded")
            first, second = await deliveries_of(runtime, endpoint.id)

            await asyncio.gather(*(delivery.deliver(runtime, first.id) for _ in range(4)))
            assert len(receiver.received) == 1
            assert [a.succeeded for a in await attempts_of(runtime, first.id)] == [True]

            now = int(time.time())
            claims = []
            for at in (now, now + 1, now + 3600):
                async with runtime.transaction() as session:
                    claims.append(
                        await repository.claim(session, second.id, at, lease_seconds=60) is not None
                    )
    assert claims == [True, False, True]


async def test_disabling_an_endpoint_gives_up_its_pending_deliveries(settings: Settings):
    with WebhookReceiver(then=503) as receiver:
        async with no_workers(settings) as runtime:
            project_id = await new_project(runtime)
            endpoint = await new_endpoint(runtime, project_id, receiver.url)
            receiver.secret = endpoint.secret
            await finish_job(runtime, project_id, "cancelled")
            [pending] = await deliveries_of(runtime, endpoint.id)
            await delivery.deliver(runtime, pending.id)
            assert [d.status for d in await deliveries_of(runtime, endpoint.id)] == ["pending"]
            async with runtime.transaction() as session:
                await service.disable(session, "admin", endpoint.id)
            await delivery.deliver(runtime, pending.id)
            async with runtime.transaction() as session:
                assert pending.id not in await repository.take_due(
                    session, int(time.time() * 1000) + 10**9, 1000
                )
            [given_up] = await deliveries_of(runtime, endpoint.id)
    assert (given_up.status, given_up.attempts) == ("failed", 1)
    assert len(receiver.received) == 1


def test_a_new_secret_is_whsec_and_24_random_bytes():
    secret = service.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != service.new_secret()
