"""SQL for jobs, their events and checkpoints."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.catalog import LOCAL_PROVIDER
from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.models import Job, JobCheckpoint, JobEvent

# Statuses in which an upstream job may still need ftgate to send it or look at it.
UPSTREAM_WORK_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED)
# Statuses, ftgate's and the upstream's, in which an upstream job needs only to be looked at.
LOOK_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
UPSTREAM_LOOK_STATUSES = ("validating_files", "queued", "running")


async def get(session: AsyncSession, project_id: str, job_id: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.id == job_id, Job.project_id == project_id))


async def get_any(session: AsyncSession, job_id: str) -> Job | None:
    """A job by id across projects: for workers, which act on ids they were handed."""
    return await session.scalar(select(Job).where(Job.id == job_id))


async def status_of(session: AsyncSession, job_id: str) -> str | None:
    return await session.scalar(select(Job.status).where(Job.id == job_id))


def list_query(project_id: str, metadata: dict[str, str], without_metadata: bool) -> Select[Any]:
    query = select(Job).where(Job.project_id == project_id)
    if without_metadata:
        query = query.where(Job.user_metadata.is_(None))
    for key, value in metadata.items():
        query = query.where(Job.user_metadata[key].as_string() == value)
    return query


def seq_query(project_id: str, job_id: str) -> Select[Any]:
    return select(Job.seq).where(Job.project_id == project_id, Job.id == job_id)


async def transition(
    session: AsyncSession, job_id: str, from_statuses: Collection[str], **values: Any
) -> bool:
    """Update the job only if its status is still one of `from_statuses`; True when it was.
    A change of status goes through `lifecycle`, which also audits, bills and notifies."""
    assert "status" not in values, "change a job's status through lifecycle"
    return await update_if_status(session, job_id, from_statuses, **values)


async def update_if_status(
    session: AsyncSession, job_id: str, from_statuses: Collection[str], **values: Any
) -> bool:
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(list(from_statuses)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


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


async def update_all(session: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """Update many jobs in a few statements: each of `changes` holds a job's `seq` and the values
    to set."""
    if changes:
        await session.execute(update(Job), changes)


async def job_ids_to_advance(session: AsyncSession, statuses: Collection[str], now: int) -> list[str]:
    query = select(Job.id).where(Job.status.in_(list(statuses)), _lease_free(now))
    return list((await session.scalars(query)).all())


def events_query(job_id: str) -> Select[Any]:
    return select(JobEvent).where(JobEvent.job_id == job_id)


def event_seq_query(job_id: str, event_id: str) -> Select[Any]:
    return select(JobEvent.seq).where(JobEvent.job_id == job_id, JobEvent.id == event_id)


def checkpoints_query(job_id: str) -> Select[Any]:
    return select(JobCheckpoint).where(JobCheckpoint.job_id == job_id)


def checkpoint_seq_query(job_id: str, checkpoint_id: str) -> Select[Any]:
    return select(JobCheckpoint.seq).where(JobCheckpoint.job_id == job_id, JobCheckpoint.id == checkpoint_id)


async def fine_tuned_models(session: AsyncSession, project_id: str) -> list[Job]:
    query = (
        select(Job)
        .where(
            Job.project_id == project_id,
            Job.fine_tuned_model.is_not(None),
            Job.fine_tuned_model_deleted_at.is_(None),
        )
        .order_by(Job.seq)
    )
    return list((await session.scalars(query)).all())


async def by_fine_tuned_model(session: AsyncSession, project_id: str, name: str) -> Job | None:
    return await session.scalar(
        select(Job).where(
            Job.project_id == project_id,
            Job.fine_tuned_model == name,
            Job.fine_tuned_model_deleted_at.is_(None),
        )
    )


async def renew_all(session: AsyncSession, job_ids: Collection[str], until: int) -> None:
    await session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.locked_until.is_not(None))
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )


async def take_jobs_to_train(session: AsyncSession, now: int, resend_seconds: float) -> list[str]:
    """Local jobs to train that no task holds, and for which no training task was sent since
    one last held them, nor in the last `resend_seconds`; marked sent now."""
    query = select(Job.id).where(
        Job.provider == LOCAL_PROVIDER,
        Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        _lease_free(now),
        or_(
            Job.training_sent_at.is_(None),
            Job.training_sent_at < Job.locked_until,
            Job.training_sent_at <= now - resend_seconds,
        ),
    )
    job_ids = list((await session.scalars(query)).all())
    if job_ids:
        await session.execute(
            update(Job)
            .where(Job.id.in_(job_ids))
            .values(training_sent_at=now)
            .execution_options(synchronize_session=False)
        )
    return job_ids


async def finished_job_ids(session: AsyncSession, job_ids: Collection[str]) -> list[str]:
    query = select(Job.id).where(Job.id.in_(job_ids), Job.status.in_(TERMINAL))
    return list((await session.scalars(query)).all())


async def event_keys(session: AsyncSession, job_id: str) -> set[str]:
    """The idempotency keys (`upstream_event_id`) of a job's events."""
    query = select(JobEvent.upstream_event_id).where(
        JobEvent.job_id == job_id, JobEvent.upstream_event_id.is_not(None)
    )
    return set((await session.scalars(query)).all())


async def metrics_data(session: AsyncSession, job_id: str) -> list[dict[str, Any]]:
    query = (
        select(JobEvent.data)
        .where(JobEvent.job_id == job_id, JobEvent.type == "metrics")
        .order_by(JobEvent.seq)
    )
    return list((await session.scalars(query)).all())


async def checkpoints(session: AsyncSession, job_id: str) -> list[JobCheckpoint]:
    query = select(JobCheckpoint).where(JobCheckpoint.job_id == job_id).order_by(JobCheckpoint.step_number)
    return list((await session.scalars(query)).all())


async def checkpoints_of(session: AsyncSession, job_ids: Collection[str]) -> dict[str, list[JobCheckpoint]]:
    found: dict[str, list[JobCheckpoint]] = {job_id: [] for job_id in job_ids}
    if found:
        query = select(JobCheckpoint).where(JobCheckpoint.job_id.in_(list(found)))
        for checkpoint in (await session.scalars(query)).all():
            found[checkpoint.job_id].append(checkpoint)
    return found


async def checkpoint_by_model(
    session: AsyncSession, project_id: str, name: str
) -> tuple[Job, JobCheckpoint] | None:
    """A checkpoint of one of the project's jobs, by its `fine_tuned_model_checkpoint` name. The
    final checkpoint bears the model's own name, and goes when the model is deleted."""
    row = (
        await session.execute(
            select(Job, JobCheckpoint)
            .join(JobCheckpoint, JobCheckpoint.job_id == Job.id)
            .where(
                Job.project_id == project_id,
                JobCheckpoint.fine_tuned_model_checkpoint == name,
                or_(Job.fine_tuned_model.is_(None), Job.fine_tuned_model != name),
            )
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def count_events(session: AsyncSession, job_id: str, message_prefix: str) -> int:
    query = select(func.count()).where(JobEvent.job_id == job_id, JobEvent.message.startswith(message_prefix))
    return int(await session.scalar(query) or 0)


async def known_event_keys(session: AsyncSession, keys: dict[str, Collection[str]]) -> dict[str, set[str]]:
    """Which of `keys` (by job id) each job's events already carry as `upstream_event_id`."""
    wanted = {job_id: set(job_keys) for job_id, job_keys in keys.items()}
    known: dict[str, set[str]] = {job_id: set() for job_id in keys}
    candidates = set().union(*wanted.values())
    if not candidates:
        return known
    query = select(JobEvent.job_id, JobEvent.upstream_event_id).where(
        JobEvent.job_id.in_(list(keys)), JobEvent.upstream_event_id.in_(list(candidates))
    )
    for job_id, key in (await session.execute(query)).all():
        if key in wanted[job_id]:
            known[job_id].add(key)
    return known


def _poll_due(now_ms: int) -> Any:
    """A poll time that has come, or an upstream job that was never scheduled."""
    return or_(
        Job.next_poll_at_ms <= now_ms,
        and_(
            Job.next_poll_at_ms.is_(None),
            Job.upstream_status.is_(None),
            Job.provider != LOCAL_PROVIDER,
            Job.status.in_(UPSTREAM_WORK_STATUSES),
        ),
    )


def _only_a_look() -> Any:
    """An upstream job sent and at work on both sides, with no client action to carry: all it
    needs is a look at the upstream."""
    return and_(
        Job.upstream_id.is_not(None),
        Job.upstream_status.is_not(None),
        Job.status.in_(LOOK_STATUSES),
        Job.upstream_status.in_(UPSTREAM_LOOK_STATUSES),
    )


async def take_due_polls(session: AsyncSession, now_ms: int, grace_ms: int, limit: int) -> list[str]:
    """The upstream jobs due for more than a look (see `claim_due_looks`), pushed `grace_ms`
    ahead so that the next tick does not send them again while their task waits in the queue (a
    lost task's job comes round again)."""
    query = select(Job.id).where(_poll_due(now_ms), _lease_free(now_ms // 1000), ~_only_a_look()).limit(limit)
    job_ids = list((await session.scalars(query)).all())
    if job_ids:
        await session.execute(
            update(Job)
            .where(Job.id.in_(job_ids))
            .values(next_poll_at_ms=now_ms + grace_ms)
            .execution_options(synchronize_session=False)
        )
    return job_ids


async def claim_due_looks(
    session: AsyncSession, now_ms: int, lease_seconds: int, grace_ms: int, limit: int
) -> list[Job]:
    """Up to `limit` upstream jobs due for only a look, the longest due first, with their leases
    taken in one statement (rows another claim is taking are skipped) and their next look pushed
    `grace_ms` ahead, so that a claimer that dies only delays them."""
    now = now_ms // 1000
    due = (
        select(Job.id)
        .where(Job.next_poll_at_ms <= now_ms, _lease_free(now), _only_a_look())
        .order_by(Job.next_poll_at_ms)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(Job)
        .where(Job.id.in_(due), _lease_free(now))
        .values(locked_until=now + lease_seconds, next_poll_at_ms=now_ms + grace_ms)
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    return list(claimed.all())


async def by_upstream_id(session: AsyncSession, provider: str, upstream_id: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.provider == provider, Job.upstream_id == upstream_id))


async def upstream_ids_sent_since(session: AsyncSession, provider: str, since: int) -> set[str]:
    """The upstream jobs that ftgate jobs sent to `provider` since `since` already hold."""
    query = select(Job.upstream_id).where(
        Job.provider == provider, Job.upstream_id.is_not(None), Job.upstream_submitted_at >= since
    )
    return {str(upstream_id) for upstream_id in (await session.scalars(query)).all()}


async def set_next_poll(
    session: AsyncSession, job_id: str, next_poll_at_ms: int | None, failures: int, release: bool = False
) -> None:
    """When to look at the job again; with `release`, the caller's lease goes in the same write."""
    values: dict[str, Any] = {"next_poll_at_ms": next_poll_at_ms, "upstream_failures": failures}
    if release:
        values["locked_until"] = None
    await session.execute(
        update(Job).where(Job.id == job_id).values(**values).execution_options(synchronize_session=False)
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
