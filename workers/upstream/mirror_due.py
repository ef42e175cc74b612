"""The task that mirrors, many at once, the upstream jobs due for only a look (sent, at work on
both sides, no client action to carry): their leases taken in one statement, their upstreams read
concurrently, and what was seen written as the reads end, a few statements for all the jobs whose
reads ended together. Jobs that need more go through `sync_job`, one task each."""

import asyncio
import logging
import time

from gateway.fine_tuning import mirroring, scheduling
from gateway.fine_tuning.mirroring import Observation
from gateway.models import Job
from gateway.providers.base import UpstreamError
from gateway.runtime import Runtime
from gateway.task_names import MIRROR_UPSTREAM_JOBS
from workers.lease import HeldJobs, hold_jobs
from workers.upstream import look, upstream_errors

log = logging.getLogger(__name__)

BATCH_SIZE = 100
# Looks that end this close together are written together.
WRITE_EVERY_SECONDS = 0.1

# What a look found: the upstream's view, its error, or None when the job could not be looked at
# here (its next look is then the one the claim set).
Look = Observation | UpstreamError | None


async def mirror_due_jobs(runtime: Runtime, _: str = "") -> None:
    settings = runtime.settings
    async with runtime.transaction() as session:
        jobs = await scheduling.claim_due_looks(
            session,
            int(time.time() * 1000),
            lease_seconds=settings.job_lease_seconds,
            grace_ms=settings.job_lease_seconds * 1000,
            limit=BATCH_SIZE,
        )
    if not jobs:
        return
    if len(jobs) == BATCH_SIZE:
        runtime.dispatch(MIRROR_UPSTREAM_JOBS, "")  # more are due: another batch takes them meanwhile
    async with hold_jobs(runtime, jobs) as held, asyncio.TaskGroup() as looks:
        pending = {looks.create_task(_look(runtime, job)): job for job in jobs}
        while pending:
            done, _ = await asyncio.wait(pending, timeout=WRITE_EVERY_SECONDS)
            if done:
                await _write(runtime, held, [(pending.pop(task), task.result()) for task in done])


async def _look(runtime: Runtime, job: Job) -> Look:
    provider = runtime.upstream(job.provider)
    if provider is None:
        return None
    async with runtime.upstream_look_slots:
        try:
            return await look.look(runtime, provider, job)
        except UpstreamError as error:
            return error
        except Exception:
            log.exception("job %s: the look at its upstream failed; it is looked at again later", job.id)
            return None


async def _write(runtime: Runtime, held: HeldJobs, looks: list[tuple[Job, Look]]) -> None:
    """All the looks in one transaction; should that fail, each in its own, so that one job that
    cannot be recorded holds back none of the others (its lease goes when the batch ends)."""
    try:
        await _record(runtime, held, looks)
    except Exception:
        log.exception("could not record %d looks together; recording them one by one", len(looks))
        for look in looks:
            try:
                await _record(runtime, held, [look])
            except Exception:
                log.exception("job %s: could not record its look; it is looked at again later", look[0].id)


async def _record(runtime: Runtime, held: HeldJobs, looks: list[tuple[Job, Look]]) -> None:
    async with runtime.transaction() as session:
        await mirroring.record(
            session, runtime, [(job, look) for job, look in looks if isinstance(look, Observation)]
        )
        unseen = [(job, look) for job, look in looks if not isinstance(look, Observation)]
        if unseen:
            await scheduling.release_all(session, [job.id for job, _ in unseen])
        for job, look in unseen:
            if isinstance(look, UpstreamError):
                await upstream_errors.record(session, runtime.settings, job, look)
    held.held.difference_update(job.id for job, _ in looks)
