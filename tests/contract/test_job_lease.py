"""One task at a time works a job: concurrent dispatches record its validation exactly once."""

import asyncio
import time

import openai

from gateway.fine_tuning import repository as jobs_repository
from gateway.fine_tuning import scheduling
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


async def wait_until_workers_leave_it(runtime, job_id: str) -> None:
    """The workers look at a validated job once: its upstream is down here (tests/support/parked.py),
    so they let go of it for 30 s (the sequence's made-up times would find their lease held)."""
    for _ in range(200):
        async with runtime.sessions() as session:
            job = await jobs_repository.get_any(session, job_id)
        if job.locked_until is None and (job.mirror.next_look_at_ms or 0) > (time.time() + 10) * 1000:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the workers kept the job")


async def lease_sequence(settings, job_id: str) -> list[bool]:
    runtime = build_runtime(settings, lambda *_: None)
    outcomes = []
    try:
        await wait_until_workers_leave_it(runtime, job_id)
        for now, action in [
            (1000, "claim"),
            (1001, "claim"),
            (1001, "release"),
            (1002, "claim"),
            (1400, "claim"),
        ]:
            async with runtime.transaction() as session:
                if action == "claim":
                    outcomes.append(await scheduling.claim(session, job_id, now, lease_seconds=300))
                else:
                    await scheduling.release_all(session, [job_id])
    finally:
        await runtime.close()
    return outcomes


def test_a_lease_is_exclusive_until_released_or_expired(server, client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    job = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    )
    # claim, refused while held, released, claimed again, and taken over once it has run out.
    assert asyncio.run(lease_sequence(server.settings, job.id)) == [True, False, True, True]
