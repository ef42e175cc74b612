"""The one task set, run by Celery workers or in-process alike: ids in, idempotent."""

import importlib
import logging
import time
from collections.abc import Awaitable, Callable

import anyio

from gateway import artifacts, local_extra
from gateway.evals import repository as evals_repository
from gateway.files import service as files_service
from gateway.fine_tuning import handoff, scheduling
from gateway.fine_tuning import repository as jobs_repository
from gateway.fine_tuning.file_checks import validate_job_files
from gateway.fine_tuning.status import JobStatus
from gateway.runtime import Runtime
from gateway.task_names import (
    ADVANCE_JOB,
    DELIVER_DUE_WEBHOOKS,
    DELIVER_WEBHOOK,
    MIRROR_UPSTREAM_JOBS,
    POLL_UPSTREAMS,
    RECONCILE,
    RUN_EVAL,
    SYNC_UPSTREAM_JOB,
    TRAIN_JOB,
)
from gateway.uploads import service as uploads_service
from gateway.webhooks.delivery import deliver, deliver_due
from workers.eval_runs import run_eval
from workers.lease import hold_lease
from workers.local.without_extra import refuse_training
from workers.upstream.mirror_due import mirror_due_jobs
from workers.upstream.sync import sync_job

log = logging.getLogger(__name__)

# Statuses in which a job has a next step that ftgate itself takes.
ADVANCEABLE = frozenset({JobStatus.VALIDATING_FILES})


async def advance_job(runtime: Runtime, job_id: str) -> None:
    """Validate a new job's files."""
    async with hold_lease(runtime, job_id) as held:
        if not held:
            log.info("advance_job: %s is unknown or another task holds it", job_id)
            return
        await validate_job_files(runtime, job_id)


async def train_job(runtime: Runtime, job_id: str) -> None:
    """Train a queued local job. The training stack (torch) loads with the first such job, in a
    thread, so processes that never train stay small and the event loop never stalls on it; an
    install without it fails the job instead."""
    if not local_extra.installed():
        await refuse_training(runtime, job_id)
        return
    local = await anyio.to_thread.run_sync(importlib.import_module, "workers.local.run")
    await local.train_job(runtime, job_id)


async def reconcile(runtime: Runtime, _: str = "") -> None:
    """Re-dispatch every job and eval run with a step to take and no task on it, so a lost message
    or a dead worker delays it but never loses it; drop expired files, the parts of ended uploads,
    the training states of jobs that ended while no task held them (a paused local job cancelled),
    and the partial blobs of uploads whose process died. It runs when the embedded default starts,
    then periodically."""
    removed = await anyio.to_thread.run_sync(runtime.blobs.remove_abandoned_writes)
    if removed:
        log.info("removed %d partial blobs left by uploads that died", removed)
    artifacts_dir = runtime.settings.artifacts_dir
    with_states = await anyio.to_thread.run_sync(artifacts.jobs_with_states, artifacts_dir, runtime.folders)
    async with runtime.transaction() as session:
        now = int(time.time())
        to_validate = await scheduling.job_ids_to_advance(session, ADVANCEABLE, now)
        resend_seconds = _resend_seconds(runtime)
        to_train = await scheduling.take_jobs_to_train(
            session, now, resend_seconds, handoff.trainers(runtime)
        )
        to_run = await evals_repository.take_runs_to_send(session, now, resend_seconds)
        await files_service.delete_expired(session, runtime.blobs)
        await uploads_service.sweep(session, runtime.blobs)
        finished = await jobs_repository.finished_job_ids(session, with_states)
    for job_id in finished:
        await anyio.to_thread.run_sync(artifacts.remove_states, artifacts_dir, runtime.folders, job_id)
    for job_id in to_validate:
        runtime.dispatch(ADVANCE_JOB, job_id)
    for job_id in to_train:
        runtime.dispatch(TRAIN_JOB, job_id)
    for run_id in to_run:
        runtime.dispatch(RUN_EVAL, run_id)


def _resend_seconds(runtime: Runtime) -> float:
    """In-process, a task holds its job's (or run's) lease from the start, so one with a free
    lease has no task: send one at once. A Celery message waits in the broker without a lease."""
    return runtime.settings.training_resend_seconds if runtime.settings.queue == "celery" else 0.0


# At most this many jobs are sent off per tick; the rest wait for the next one.
POLL_BATCH = 1000


async def poll_upstreams(runtime: Runtime, _: str = "") -> None:
    """Send a sync task for every upstream job due for more than a look, and a mirroring round
    for those due for only a look."""
    now_ms = int(time.time() * 1000)
    grace_ms = runtime.settings.job_lease_seconds * 1000
    async with runtime.transaction() as session:
        due = await scheduling.take_due_looks(session, now_ms, grace_ms, POLL_BATCH)
    for job_id in due:
        runtime.dispatch(SYNC_UPSTREAM_JOB, job_id)
    runtime.dispatch(MIRROR_UPSTREAM_JOBS, "")


Task = Callable[[Runtime, str], Awaitable[None]]
TASKS: dict[str, Task] = {
    ADVANCE_JOB: advance_job,
    TRAIN_JOB: train_job,
    RUN_EVAL: run_eval,
    SYNC_UPSTREAM_JOB: sync_job,
    MIRROR_UPSTREAM_JOBS: mirror_due_jobs,
    POLL_UPSTREAMS: poll_upstreams,
    RECONCILE: reconcile,
    DELIVER_WEBHOOK: deliver,
    DELIVER_DUE_WEBHOOKS: deliver_due,
}
