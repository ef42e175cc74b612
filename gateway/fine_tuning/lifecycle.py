"""Every change of a job's status goes through `move`: the conditional update, its audit entry
and, for a job that finished, its `trained_tokens` (a local job stopped part-way: the tokens of the
steps it recorded), its charge settled and the project's webhooks queued, all in the transaction
that made the change. Workers ask for the named changes below rather than for a status."""

import time
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit, db
from gateway.budgets import ledger
from gateway.fine_tuning import events, repository
from gateway.fine_tuning.job_error import JobError
from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.models import Job
from gateway.observability.metrics import JOB_MOVES
from gateway.webhooks import outbox

STATUS_CHANGED = "job.status_changed"
VALIDATING = (JobStatus.VALIDATING_FILES,)


async def move(
    session: AsyncSession,
    job_id: str,
    from_statuses: Collection[str],
    to: JobStatus,
    *,
    actor: str = audit.SYSTEM_ACTOR,
    **values: Any,
) -> bool:
    """Set the job's status to `to` (and other `values`) if its status is still one of
    `from_statuses`; True when it was."""
    before = await session.scalar(select(Job.status).where(Job.id == job_id))
    if not await repository.update_if_status(session, job_id, from_statuses, status=to, **values):
        return False
    project_id, provider, trained_tokens, steps_trained_tokens = (
        await session.execute(
            select(Job.project_id, Job.provider, Job.trained_tokens, Job.steps_trained_tokens).where(
                Job.id == job_id
            )
        )
    ).one()
    if before != to:
        db.after_commit(session, JOB_MOVES.labels(to, provider).inc)
        audit.record(
            session,
            actor,
            STATUS_CHANGED,
            project_id=project_id,
            object_id=job_id,
            details={"from": before, "to": to},
        )
    if to in TERMINAL:
        if trained_tokens is None and steps_trained_tokens:
            # A local job cancelled or failed part-way reports, and is billed on, what it trained.
            trained_tokens = steps_trained_tokens
            await repository.transition(session, job_id, [to], trained_tokens=trained_tokens)
        await ledger.settle_job(session, job_id, trained_tokens)
        await outbox.queue_job_event(session, project_id, job_id, to)
    return True


async def queue_validated(session: AsyncSession, job_id: str, method: dict[str, Any], **values: Any) -> bool:
    """Queue a job whose files passed their checks, with its `method` as resolved, and say so in
    its events; False when it already left validating_files (a cancel may have won)."""
    if not await move(
        session, job_id, VALIDATING, JobStatus.QUEUED, method=method, updated_at=_now(), **values
    ):
        return False
    events.add(session, job_id, events.FILES_VALIDATED)
    return True


async def reject_files(session: AsyncSession, job_id: str, error: JobError) -> bool:
    """Fail a job whose files failed their checks, with its error event; it never ran and has no
    `finished_at`. False when it already left validating_files."""
    if not await move(
        session, job_id, VALIDATING, JobStatus.FAILED, error=error.as_wire(), updated_at=_now()
    ):
        return False
    events.add_error(session, job_id, error)
    return True


async def start(session: AsyncSession, job_id: str) -> bool:
    """A queued job's trainer starts on it."""
    return await move(session, job_id, [JobStatus.QUEUED], JobStatus.RUNNING, updated_at=_now())


async def follow_upstream(
    session: AsyncSession, job_id: str, from_statuses: Collection[str], to: JobStatus, **values: Any
) -> bool:
    """Take the status the upstream reports while it still has the job (queued, running, paused);
    the upstream's end goes through `succeed`, `fail` or `cancel`."""
    assert to not in TERMINAL, f"end a job with succeed, fail or cancel, not {to}"
    return await move(session, job_id, from_statuses, to, updated_at=_now(), **values)


async def succeed(
    session: AsyncSession,
    job_id: str,
    from_statuses: Collection[str],
    *,
    fine_tuned_model: str | None,
    trained_tokens: int | None,
    finished_at: int | None = None,
    result_files: list[str] | None = None,
) -> bool:
    """Record the finished model. `result_files` left out stay as they are (a local job adds its
    own once it succeeded)."""
    values: dict[str, Any] = {"result_files": result_files} if result_files is not None else {}
    return await _end(
        session,
        job_id,
        from_statuses,
        JobStatus.SUCCEEDED,
        finished_at,
        fine_tuned_model=fine_tuned_model,
        trained_tokens=trained_tokens,
        **values,
    )


async def fail(
    session: AsyncSession,
    job_id: str,
    from_statuses: Collection[str],
    error: JobError,
    *,
    finished_at: int | None = None,
    error_event: bool = True,
    **values: Any,
) -> bool:
    """Fail the job with OpenAI's `error` and, unless the job already has one (an upstream's
    own), its error event; False when a cancel won."""
    if not await _end(
        session, job_id, from_statuses, JobStatus.FAILED, finished_at, error=error.as_wire(), **values
    ):
        return False
    if error_event:
        events.add_error(session, job_id, error)
    return True


async def cancel(
    session: AsyncSession, job_id: str, from_statuses: Collection[str], *, finished_at: int | None = None
) -> bool:
    """A cancel ftgate's client did not ask for (the upstream's own)."""
    return await _end(session, job_id, from_statuses, JobStatus.CANCELLED, finished_at)


async def _end(
    session: AsyncSession,
    job_id: str,
    from_statuses: Collection[str],
    to: JobStatus,
    finished_at: int | None,
    **values: Any,
) -> bool:
    """A move to a terminal status: finished at `finished_at` (now when not known)."""
    now = _now()
    return await move(
        session,
        job_id,
        from_statuses,
        to,
        updated_at=now,
        finished_at=finished_at or now,
        estimated_finish=None,
        **values,
    )


def _now() -> int:
    return int(time.time())
