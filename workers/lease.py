"""A job's lease, held for as long as a task works on it and renewed while it does, so that a
dead worker's job is picked up again within one lease period. A task may hold many at once."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.fine_tuning import scheduling
from gateway.models import Job
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


CLAIM_RETRY_SECONDS = 0.25
# How long a training task for a queued job waits for the task before it (validation, or a
# pausing trainer) to let go of the job.
HANDOFF_SECONDS = 10.0


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
    async with renewed(runtime, lambda: [job_id]):
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
        job = await scheduling.claim_and_get(session, job_id, int(time.time()), seconds)
    if job is None:
        yield None
        return
    held = HeldJob(job)
    async with renewed(runtime, lambda: [] if held.released else [job_id]):
        yield held


@dataclass
class HeldJobs:
    """Jobs whose leases one statement took. A holder drops from `held` each job whose lease
    its writes released, so that leaving releases only the others."""

    jobs: list[Job]
    held: set[str]


@asynccontextmanager
async def hold_jobs(runtime: Runtime, jobs: list[Job]) -> AsyncIterator[HeldJobs]:
    """The leases of `jobs`, just claimed together, renewed while the caller works on them."""
    held = HeldJobs(jobs, {job.id for job in jobs})
    async with renewed(runtime, lambda: held.held):
        yield held


Renew = Callable[[AsyncSession, Collection[str], int], Awaitable[None]]
Release = Callable[[AsyncSession, Collection[str]], Awaitable[Any]]


@asynccontextmanager
async def renewed(
    runtime: Runtime,
    held_ids: Callable[[], Collection[str]],
    renew: Renew = scheduling.renew_all,
    release: Release = scheduling.release_all,
) -> AsyncIterator[None]:
    """Leases just taken (of jobs, unless `renew` and `release` say which rows), renewed until
    the block ends, then released."""
    heartbeat = asyncio.create_task(_renew_forever(runtime, held_ids, renew))
    try:
        yield
    finally:
        heartbeat.cancel()
        with suppress(asyncio.CancelledError):
            await heartbeat
        if ids := list(held_ids()):
            async with runtime.transaction() as session:
                await release(session, ids)


async def _claim(runtime: Runtime, job_id: str, seconds: int) -> bool:
    async with runtime.transaction() as session:
        return await scheduling.claim(session, job_id, int(time.time()), seconds)


async def _renew_forever(runtime: Runtime, held_ids: Callable[[], Collection[str]], renew: Renew) -> None:
    seconds = runtime.settings.job_lease_seconds
    while True:
        await asyncio.sleep(seconds / 3)
        try:
            if ids := list(held_ids()):
                async with runtime.transaction() as session:
                    await renew(session, ids, int(time.time()) + seconds)
        except Exception:
            log.exception("could not renew the leases of %s; retrying", held_ids())
