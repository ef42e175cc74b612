"""The one task set, run by Celery workers or in-process alike: ids in, idempotent."""

import logging
import time
from collections.abc import Awaitable, Callable

from gateway.files import service as files_service
from gateway.fine_tuning import repository as jobs_repository
from gateway.fine_tuning.file_checks import validate_job_files
from gateway.fine_tuning.status import JobStatus
from gateway.runtime import Runtime
from gateway.task_names import ADVANCE_JOB, RECONCILE

log = logging.getLogger(__name__)

# Statuses in which a job has a next step that ftgate itself takes.
ADVANCEABLE = frozenset({JobStatus.VALIDATING_FILES})


async def advance_job(runtime: Runtime, job_id: str) -> None:
    """Take the job one step further from wherever the database says it is."""
    async with runtime.transaction() as session:
        claimed = await jobs_repository.claim(
            session, job_id, int(time.time()), runtime.settings.job_lease_seconds
        )
    if not claimed:
        log.info("advance_job: %s is unknown or another task holds it", job_id)
        return
    try:
        await validate_job_files(runtime, job_id)
    finally:
        async with runtime.transaction() as session:
            await jobs_repository.release(session, job_id)


async def reconcile(runtime: Runtime, _: str = "") -> None:
    """Re-dispatch every job with a step to take and no task on it, so a lost message or a dead
    worker delays a job but never loses it; and drop expired files."""
    async with runtime.transaction() as session:
        job_ids = await jobs_repository.job_ids_to_advance(session, ADVANCEABLE, int(time.time()))
        await files_service.delete_expired(session, runtime.blobs)
    for job_id in job_ids:
        runtime.dispatch(ADVANCE_JOB, job_id)


Task = Callable[[Runtime, str], Awaitable[None]]
TASKS: dict[str, Task] = {ADVANCE_JOB: advance_job, RECONCILE: reconcile}
