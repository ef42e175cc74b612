"""What an upstream's error does to a job: another look later, further off after each failure in
a row, or, when the upstream's answer is final, the job fails with its words."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.fine_tuning import lifecycle, polling, repository, scheduling
from gateway.fine_tuning.job_error import UPSTREAM_CODE, JobError
from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.models import Job
from gateway.providers.base import UpstreamError
from gateway.settings import Settings

log = logging.getLogger(__name__)

WORKING = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED)


async def record(session: AsyncSession, settings: Settings, job: Job, error: UpstreamError) -> None:
    """Write, in the caller's transaction, what `error` means for `job` (as its lease was taken)."""
    if error.retryable:
        assert job.mirror is not None
        failures = job.mirror.upstream_failures + 1
        backoff = settings.upstream_poll_waiting_seconds * 2 ** (failures - 1)
        delay = min(backoff, settings.upstream_max_backoff_seconds)
        log.warning(
            "job %s: upstream %s failed (%s), try %d in %.1fs", job.id, job.provider, error, failures, delay
        )
        next_ms = polling.at_ms(max(delay, error.retry_after or 0.0))
        await scheduling.set_next_look(session, job.id, next_ms, failures)
        return
    if error.not_found and job.upstream_id is not None:
        if job.status in TERMINAL:
            await scheduling.set_next_look(session, job.id, None, 0)
            return
        job_error = JobError(
            "upstream_job_not_found",
            f"The job no longer exists at its upstream {job.provider} ({job.upstream_id}).",
        )
    else:
        job_error = JobError(
            error.code or UPSTREAM_CODE, f"The upstream refused the job: {error.message}", error.param
        )
    await fail(session, job, job_error)


async def fail(session: AsyncSession, job: Job, error: JobError) -> None:
    """Fail the job, unless the client's cancel came first, and look at it no more."""
    if await lifecycle.fail(session, job.id, WORKING, error):
        await repository.update_mirror(session, job.id, next_look_at_ms=None)
    else:
        await repository.update_mirror_if_status(session, job.id, [job.status], next_look_at_ms=None)
