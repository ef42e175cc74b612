"""One task at a time works a job: concurrent dispatches record its validation exactly once."""

import asyncio

import openai
from sqlalchemy import inspect

from gateway.fine_tuning import repository as jobs_repository
from gateway.fine_tuning import scheduling
from gateway.models import Job
from gateway.runtime import build_runtime
from tests.support.jobs import upload, wait_until_validated
from workers.tasks import advance_job


async def advance_concurrently(settings, job_id: str, times: int) -> None:
    runtime = build_runtime(settings, lambda *_: None)
    try:
        await asyncio.gather(*(advance_job(runtime, job_id) for _ in range(times)))
    finally:
        await runtime.close()


def test_concurrent_advances_validate_a_job_once(server, client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(model="gpt-3.5-turbo", training_file=file_id)
    asyncio.run(advance_concurrently(server.settings, job.id, 4))
    assert wait_until_validated(client, job.id).status == "queued"
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id)]
    assert messages.count("Files validated, moving job to queued state") == 1
    assert len(messages) == 3


async def lease_sequence(settings, job_id: str) -> list[bool]:
    runtime = build_runtime(settings, lambda *_: None)
    outcomes = []
    try:
        idle_id = await idle_copy(runtime, job_id)
        for now, action in [
            (1000, "claim"),
            (1001, "claim"),
            (1001, "release"),
            (1002, "claim"),
            (1400, "claim"),
        ]:
            async with runtime.transaction() as session:
                if action == "claim":
                    outcomes.append(await scheduling.claim(session, idle_id, now, lease_seconds=300))
                else:
                    await scheduling.release_all(session, [idle_id])
    finally:
        await runtime.close()
    return outcomes


async def idle_copy(runtime, job_id: str) -> str:
    """A copy of the job, succeeded on the local trainer: no worker has a reason to take it, so
    the sequence's made-up times meet no real lease."""
    async with runtime.transaction() as session:
        job = await jobs_repository.get_any(session, job_id)
        names = [attribute.key for attribute in inspect(Job).column_attrs if attribute.key != "seq"]
        columns = {name: getattr(job, name) for name in names}
        idle = {
            "id": f"{job_id}-idle",
            "provider": "local",
            "status": "succeeded",
            "upstream_id": None,
            "locked_until": None,
        }
        copy = Job(**columns | idle)
        session.add(copy)
    return copy.id


def test_a_lease_is_exclusive_until_released_or_expired(server, client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    job = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    )
    # claim, refused while held, released, claimed again, and taken over once it has run out.
    assert asyncio.run(lease_sequence(server.settings, job.id)) == [True, False, True, True]
