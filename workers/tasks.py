"""The one task set, run by Celery workers or in-process alike: ids in, idempotent."""

import logging
from collections.abc import Awaitable, Callable

from gateway.files import service as files_service
from gateway.fine_tuning import repository as jobs_repository
from gateway.fine_tuning.file_checks import validate_job_files
from gateway.fine_tuning.status import JobStatus
from gateway.runtime import Runtime
from gateway.task_names import ADVANCE_JOB, RECONCILE

log = logging.getLogger(__name__)


async def advance_job(runtime: Runtime, job_id: str) -> None:
    """Take the job one step further from wherever the database says it is."""
    async with runtime.sessions() as session:
        job = await jobs_repository.get_any(session, job_id)
    if job is None:
        log.warning("advance_job: no job %s", job_id)
        return
    if job.status == JobStatus.VALIDATING_FILES:
        await validate_job_files(runtime, job_id)


async def reconcile(runtime: Runtime, _: str = "") -> None:
    """Re-dispatch every non-terminal job, so a lost message delays a job but never loses it,
    and drop expired files."""
    async with runtime.transaction() as session:
        job_ids = await jobs_repository.active_job_ids(session)
        await files_service.delete_expired(session, runtime.blobs)
    for job_id in job_ids:
        runtime.dispatch(ADVANCE_JOB, job_id)


Task = Callable[[Runtime, str], Awaitable[None]]
TASKS: dict[str, Task] = {ADVANCE_JOB: advance_job, RECONCILE: reconcile}
