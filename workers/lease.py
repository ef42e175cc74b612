"""A job's lease, held for as long as a task works on it and renewed while it does, so that a
dead worker's job is picked up again within one lease period."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from gateway.fine_tuning import repository
from gateway.models import Job
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


CLAIM_RETRY_SECONDS = 0.25


@asynccontextmanager
async def hold_lease(runtime: Runtime, job_id: str, wait_seconds: float = 0.0) -> AsyncIterator[bool]:
    """Yields False, holding nothing, when the job is unknown or another task still holds it
    after `wait_seconds` (a task dispatched by the one before it may arrive before that one let
    go of the job)."""
    seconds = runtime.settings.job_lease_seconds
    deadline = time.monotonic() + wait_seconds
    while not (claimed := await _claim(runtime, job_id, seconds)) and time.monotonic() < deadline:
        await asyncio.sleep(CLAIM_RETRY_SECONDS)
    if not claimed:
        yield False
        return
    async with _renewed(runtime, job_id, seconds):
        yield True


@dataclass
class HeldJob:
    """A job read as its lease was taken. A holder whose last write also released the lease
    sets `released`, so that leaving does not write again."""

    job: Job
    released: bool = False


@asynccontextmanager
async def hold_job(runtime: Runtime, job_id: str) -> AsyncIterator[HeldJob | None]:
    """hold_lease for short tasks: one statement takes the lease and reads the job."""
    seconds = runtime.settings.job_lease_seconds
    async with runtime.transaction() as session:
        job = await repository.claim_and_get(session, job_id, int(time.time()), seconds)
    if job is None:
        yield None
        return
    async with _renewed(runtime, job_id, seconds, HeldJob(job)) as held:
        yield held


@asynccontextmanager
async def _renewed(
    runtime: Runtime, job_id: str, seconds: int, held: HeldJob | None = None
) -> AsyncIterator[HeldJob | None]:
    heartbeat = asyncio.create_task(_renew_forever(runtime, job_id, seconds))
    try:
        yield held
    finally:
        heartbeat.cancel()
        with suppress(asyncio.CancelledError):
            await heartbeat
        if held is None or not held.released:
            async with runtime.transaction() as session:
                await repository.release(session, job_id)


async def _claim(runtime: Runtime, job_id: str, seconds: int) -> bool:
    async with runtime.transaction() as session:
        return await repository.claim(session, job_id, int(time.time()), seconds)


async def _renew_forever(runtime: Runtime, job_id: str, seconds: int) -> None:
    while True:
        await asyncio.sleep(seconds / 3)
        try:
            async with runtime.transaction() as session:
                await repository.renew(session, job_id, int(time.time()) + seconds)
        except Exception:
            log.exception("could not renew the lease of %s; retrying", job_id)
