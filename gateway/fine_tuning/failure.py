"""A job failing while a worker runs it: status, OpenAI's `error`, and its error event at once."""

import time
from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.fine_tuning import events, lifecycle
from gateway.fine_tuning.status import JobStatus


async def fail(
    session: AsyncSession, job_id: str, from_statuses: Collection[str], error: dict[str, Any], **values: Any
) -> bool:
    """Fail the job if its status is still one of `from_statuses` (a cancel may have won)."""
    now = int(time.time())
    if not await lifecycle.move(
        session,
        job_id,
        from_statuses,
        status=JobStatus.FAILED,
        error=error,
        finished_at=now,
        updated_at=now,
        estimated_finish=None,
        **values,
    ):
        return False
    events.add_error(session, job_id, error)
    return True
