"""Job events with OpenAI's texts. Ordering comes from the internal sequence, not the clock."""

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ids
from gateway.fine_tuning.job_error import JobError
from gateway.models import JobEvent


def add(
    session: AsyncSession,
    job_id: str,
    message: str,
    *,
    level: str = "info",
    data: dict[str, Any] | None = None,
    type: str = "message",
) -> JobEvent:
    event = JobEvent(
        id=ids.new_event_id(),
        job_id=job_id,
        upstream_event_id=None,
        created_at=int(time.time()),
        level=level,
        message=message,
        data=data or {},
        type=type,
    )
    session.add(event)
    return event


def add_error(session: AsyncSession, job_id: str, error: JobError) -> JobEvent:
    """The error-level event OpenAI writes with a job's `error`."""
    data = {"error_code": error.code, "error_param": error.param}
    return add(session, job_id, error.message, level="error", data=data)


def created(job_id: str) -> str:
    return f"Created fine-tuning job: {job_id}"


def validating(training_file: str, validation_file: str | None) -> str:
    if validation_file:
        return f"Validating training file: {training_file} and validation file: {validation_file}"
    return f"Validating training file: {training_file}"


FILES_VALIDATED = "Files validated, moving job to queued state"
STARTED = "Fine-tuning job started"
SUCCEEDED = "The job has successfully completed"
MODEL_CREATED_PREFIX = "New fine-tuned model created: "
CANCELLED = "Fine tuning process stopping due to job cancellation"
PAUSED = "Fine-tuning job paused"
RESUMED = "Fine-tuning job resumed"
