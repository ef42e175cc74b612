"""The events a project can subscribe to, in OpenAI's names and payload shape."""

from typing import Any

from gateway import ids

JOB_SUCCEEDED = "fine_tuning.job.succeeded"
JOB_FAILED = "fine_tuning.job.failed"
JOB_CANCELLED = "fine_tuning.job.cancelled"
EVENT_TYPES = (JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED)


def job_event_type(status: str) -> str | None:
    """The event a job's move to `status` announces; None for statuses without one."""
    event_type = f"fine_tuning.job.{status}"
    return event_type if event_type in EVENT_TYPES else None


def job_event(event_type: str, job_id: str, created_at: int) -> dict[str, Any]:
    return {
        "id": "evt_" + ids.random_base62(24),
        "object": "event",
        "type": event_type,
        "created_at": created_at,
        "data": {"id": job_id},
    }
