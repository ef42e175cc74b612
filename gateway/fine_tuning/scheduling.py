"""SQL that schedules work on jobs: the lease that lets one task at a time work on a job, the local
jobs to train, and the upstream jobs due for a look (`polling` says when that is)."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gateway.fine_tuning.status import JobStatus
from gateway.models import Job, JobMirror
from gateway.providers.base import UpstreamStatus

# Statuses, ftgate's and the upstream's, in which an upstream job needs only to be looked at.
LOOK_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
UPSTREAM_LOOK_STATUSES = (UpstreamStatus.VALIDATING_FILES, UpstreamStatus.QUEUED, UpstreamStatus.RUNNING)


def _lease_free(now: int) -> Any:
    """A job a worker may take: its lease is free, and it is not imported history (which no
    worker ever runs: every task takes a job through this)."""
    return and_(Job.imported_from.is_(None), or_(Job.locked_until.is_(None), Job.locked_until < now))


async def claim(session: AsyncSession, job_id: str, now: int, lease_seconds: int) -> bool:
    """Take the job's lease so that one task at a time works on it; a crashed holder's lease
    simply runs out."""
    return await claim_and_get(session, job_id, now, lease_seconds) is not None


async def release_all(session: AsyncSession, job_ids: Collection[str]) -> dict[str, str]:
    """Release the jobs' leases. Returns their statuses as they now stand, which no one else can
    change before this transaction ends (it has written their rows)."""
    released = await session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)))
        .values(locked_until=None)
        .returning(Job.id, Job.status)
        .execution_options(synchronize_session=False)
    )
    return {job_id: status for job_id, status in released.all()}


async def job_ids_to_advance(session: AsyncSession, statuses: Collection[str], now: int) -> list[str]:
    query = select(Job.id).where(Job.status.in_(list(statuses)), _lease_free(now))
    return list((await session.scalars(query)).all())


async def renew_all(session: AsyncSession, job_ids: Collection[str], until: int) -> None:
    await session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.locked_until.is_not(None))
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )


async def take_jobs_to_train(
    session: AsyncSession, now: int, resend_seconds: float, trainers: Collection[str]
) -> list[str]:
    """Jobs of the `trainers` (ftgate's own) to train that no task holds, and for which no
    training task was sent since one last held them, nor in the last `resend_seconds`; marked
    sent now."""
    query = select(Job.id).where(
        Job.provider.in_(list(trainers)),
        Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        _lease_free(now),
        or_(
            Job.training_sent_at.is_(None),
            Job.training_sent_at < Job.locked_until,
            Job.training_sent_at <= now - resend_seconds,
        ),
    )
    return await _take(session, query, Job.id, training_sent_at=now)


def _only_a_look() -> Any:
    """An upstream job sent and at work on both sides, with no client action to carry: all it
    needs is a look at the upstream."""
    return and_(
        Job.upstream_id.is_not(None),
        JobMirror.upstream_status.is_not(None),
        Job.status.in_(LOOK_STATUSES),
        JobMirror.upstream_status.in_(UPSTREAM_LOOK_STATUSES),
    )


def _due(now_ms: int) -> Select[Any]:
    """The upstream jobs whose look is due and that a worker may take, read from the index of
    their next looks: a job with nothing left to do has none."""
    return (
        select(JobMirror.job_id)
        .join(Job, Job.id == JobMirror.job_id)
        .where(JobMirror.next_look_at_ms <= now_ms, _lease_free(now_ms // 1000))
    )


async def take_due_looks(session: AsyncSession, now_ms: int, grace_ms: int, limit: int) -> list[str]:
    """The upstream jobs due for more than a look (see `claim_due_looks`), pushed `grace_ms`
    ahead so that the next tick does not send them again while their task waits in the queue (a
    lost task's job comes round again)."""
    query = _due(now_ms).where(~_only_a_look()).limit(limit)
    return await _take(session, query, JobMirror.job_id, next_look_at_ms=now_ms + grace_ms)


async def _take(
    session: AsyncSession, query: Select[Any], key: InstrumentedAttribute[str], **values: Any
) -> list[str]:
    """The ids of the jobs `query` selects, with `values` set on their rows (`key`: the job id of
    the table they are in) in the same transaction."""
    job_ids = list((await session.scalars(query)).all())
    await _mark(session, key, job_ids, **values)
    return job_ids


async def _mark(
    session: AsyncSession, key: InstrumentedAttribute[str], job_ids: list[str], **values: Any
) -> None:
    """Set `values` on the rows of `job_ids`, and on those the session has loaded."""
    if job_ids:
        await session.execute(update(key.class_).where(key.in_(job_ids)).values(**values))


async def claim_due_looks(
    session: AsyncSession, now_ms: int, lease_seconds: int, grace_ms: int, limit: int
) -> list[Job]:
    """Up to `limit` upstream jobs due for only a look, the longest due first, with their leases
    taken in one statement (rows another claim is taking are skipped) and their next look pushed
    `grace_ms` ahead, so that a claimer that dies only delays them."""
    now = now_ms // 1000
    due = (
        _due(now_ms)
        .where(_only_a_look())
        .order_by(JobMirror.next_look_at_ms)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(Job)
        .where(Job.id.in_(due), _lease_free(now))
        .values(locked_until=now + lease_seconds)
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    jobs = list(claimed.all())
    await _mark(session, JobMirror.job_id, [job.id for job in jobs], next_look_at_ms=now_ms + grace_ms)
    return jobs


async def look_at(session: AsyncSession, job_id: str, next_look_at_ms: int) -> None:
    """Look at the job at `next_look_at_ms`, its failures in a row kept."""
    await session.execute(
        update(JobMirror)
        .where(JobMirror.job_id == job_id)
        .values(next_look_at_ms=next_look_at_ms)
        .execution_options(synchronize_session=False)
    )


async def set_next_look(
    session: AsyncSession, job_id: str, next_look_at_ms: int | None, failures: int, release: bool = False
) -> None:
    """When to look at the job again; with `release`, the caller's lease goes in the same write."""
    await session.execute(
        update(JobMirror)
        .where(JobMirror.job_id == job_id)
        .values(next_look_at_ms=next_look_at_ms, upstream_failures=failures)
        .execution_options(synchronize_session=False)
    )
    if release:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(locked_until=None)
            .execution_options(synchronize_session=False)
        )


async def claim_and_get(session: AsyncSession, job_id: str, now: int, lease_seconds: int) -> Job | None:
    """The job, when its lease was free and is now ours; None otherwise."""
    return await session.scalar(
        update(Job)
        .where(Job.id == job_id, _lease_free(now))
        .values(locked_until=now + lease_seconds)
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
