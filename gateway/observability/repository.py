"""The SQL behind the state metrics: two queries, both on indexes, whatever the jobs' number.

Finished jobs are left out (a million of them would make the count a scan); how many jobs
reach each status is counted as they move (`metrics.JOB_MOVES`)."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.models import Job, JobMirror

UNFINISHED = [status for status in JobStatus if status not in TERMINAL]


@dataclass(frozen=True)
class UnfinishedJobs:
    status: str
    provider: str
    count: int
    # The status change longest ago (Unix seconds), and the look longest ago (ms; None if never).
    oldest_change: int
    oldest_look_ms: int | None


async def unfinished_jobs(session: AsyncSession) -> list[UnfinishedJobs]:
    """Unfinished jobs by status and provider (ix_fine_tuning_jobs_status finds them)."""
    query = (
        select(
            Job.status,
            Job.provider,
            func.count(),
            func.min(Job.updated_at),
            func.min(JobMirror.upstream_looked_at_ms),
        )
        .outerjoin(JobMirror, JobMirror.job_id == Job.id)
        .where(Job.status.in_(UNFINISHED))
        .group_by(Job.status, Job.provider)
    )
    return [UnfinishedJobs(*row) for row in (await session.execute(query)).all()]


async def earliest_due_look_ms(session: AsyncSession) -> int | None:
    """When the job most overdue for a look was due (ms), from the mirrors' index on next_look_at_ms."""
    return await session.scalar(select(func.min(JobMirror.next_look_at_ms)))
