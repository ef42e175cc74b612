"""SQL for jobs, their mirrors (an upstream job as last seen), events and checkpoints."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from gateway.fine_tuning.status import TERMINAL
from gateway.models import Job, JobCheckpoint, JobEvent, JobMirror


async def get(session: AsyncSession, project_id: str, job_id: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.id == job_id, Job.project_id == project_id))


# For jobs read only to be shown: the wire shape has nothing of the mirror, so it is not loaded.
WITHOUT_MIRROR = raiseload(Job.mirror)


async def get_to_show(session: AsyncSession, project_id: str, job_id: str) -> Job | None:
    return await session.scalar(
        select(Job).where(Job.id == job_id, Job.project_id == project_id).options(WITHOUT_MIRROR)
    )


async def exists(session: AsyncSession, project_id: str, job_id: str) -> bool:
    return (
        await session.scalar(select(Job.seq).where(Job.id == job_id, Job.project_id == project_id))
        is not None
    )


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


async def update_all(session: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """Update many jobs in a few statements: each of `changes` holds a job's `seq` and the values
    to set."""
    if changes:
        await session.execute(update(Job), changes)


async def update_mirror(session: AsyncSession, job_id: str, **values: Any) -> None:
    await session.execute(
        update(JobMirror)
        .where(JobMirror.job_id == job_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def update_mirror_if_status(
    session: AsyncSession, job_id: str, from_statuses: Collection[str], **values: Any
) -> bool:
    """Update the job's mirror only if the job's status is still one of `from_statuses` (its row
    locked, where the database locks rows, until the transaction ends); True when it was."""
    job = select(Job.id).where(Job.id == job_id, Job.status.in_(list(from_statuses))).with_for_update()
    result = await session.execute(
        update(JobMirror)
        .where(JobMirror.job_id.in_(job))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def update_mirrors(session: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """Update many mirrors in a few statements: each of `changes` holds a `job_id` and the values
    to set."""
    if changes:
        await session.execute(update(JobMirror), changes)


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


async def by_upstream_id(session: AsyncSession, provider: str, upstream_id: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.provider == provider, Job.upstream_id == upstream_id))


async def upstream_ids_sent_since(session: AsyncSession, provider: str, since: int) -> set[str]:
    """The upstream jobs that ftgate jobs sent to `provider` since `since` already hold."""
    query = (
        select(Job.upstream_id)
        .join(JobMirror, JobMirror.job_id == Job.id)
        .where(
            Job.provider == provider,
            Job.upstream_id.is_not(None),
            JobMirror.upstream_submitted_at >= since,
        )
    )
    return {str(upstream_id) for upstream_id in (await session.scalars(query)).all()}
