"""Every change of a job's status goes through `move`: the conditional update, its audit entry
and, for a job that finished, its `trained_tokens` (a local job stopped part-way: the tokens of the
steps it recorded), its charge settled and the project's webhooks queued, all in the transaction
that made the change."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.budgets import ledger
from gateway.fine_tuning import repository
from gateway.fine_tuning.status import TERMINAL
from gateway.models import Job
from gateway.webhooks import outbox

STATUS_CHANGED = "job.status_changed"


async def move(
    session: AsyncSession,
    job_id: str,
    from_statuses: Collection[str],
    *,
    actor: str = audit.SYSTEM_ACTOR,
    **values: Any,
) -> bool:
    """Set the job's `status` (and other `values`) if its status is still one of
    `from_statuses`; True when it was."""
    status = values["status"]
    before = await session.scalar(select(Job.status).where(Job.id == job_id))
    if not await repository.update_if_status(session, job_id, from_statuses, **values):
        return False
    project_id, trained_tokens, steps_trained_tokens = (
        await session.execute(
            select(Job.project_id, Job.trained_tokens, Job.steps_trained_tokens).where(Job.id == job_id)
        )
    ).one()
    if before != status:
        audit.record(
            session,
            actor,
            STATUS_CHANGED,
            project_id=project_id,
            object_id=job_id,
            details={"from": before, "to": status},
        )
    if status in TERMINAL:
        if trained_tokens is None and steps_trained_tokens:
            # A local job cancelled or failed part-way reports, and is billed on, what it trained.
            trained_tokens = steps_trained_tokens
            await repository.transition(session, job_id, [status], trained_tokens=trained_tokens)
        await ledger.settle_job(session, job_id, trained_tokens)
        await outbox.queue_job_event(session, project_id, job_id, status)
    return True
