"""A training task on a worker installed without the `local` extra (a slim image serving the
training queue): the job fails with an error that names what the worker lacks, where the task
would otherwise fail on its first import at every resend."""

import logging

from gateway import local_extra
from gateway.fine_tuning import lifecycle, repository
from gateway.fine_tuning.status import TRAINING, JobStatus
from gateway.runtime import Runtime
from workers.lease import HANDOFF_SECONDS, hold_lease

log = logging.getLogger(__name__)


async def refuse_training(runtime: Runtime, job_id: str) -> None:
    async with runtime.sessions() as session:
        job = await repository.get_any(session, job_id)
    wait = HANDOFF_SECONDS if job is not None and job.status == JobStatus.QUEUED else 0.0
    async with hold_lease(runtime, job_id, wait_seconds=wait) as held:
        if not held:
            return
        async with runtime.transaction() as session:
            if await lifecycle.fail(session, job_id, TRAINING, local_extra.job_error()):
                log.error("job %s failed: this worker lacks the `local` extra", job_id)
