"""The task that looks after one upstream job: send it if it was not sent, carry the client's
cancel, pause or resume to the upstream, mirror what happened there, and say when to look
again (soon while it runs, rarely while it waits, later and later while the upstream fails)."""

from sqlalchemy.exc import IntegrityError

from gateway.errors import InsufficientQuota
from gateway.files.upstream_copies import MissingFile, UploadInProgress
from gateway.fine_tuning import handoff, mirroring, polling, repository, scheduling
from gateway.fine_tuning.job_error import JobError
from gateway.fine_tuning.status import JobStatus
from gateway.models import Job
from gateway.providers.base import (
    UPSTREAM_TERMINAL,
    Action,
    Provider,
    UpstreamError,
    UpstreamJob,
    UpstreamStatus,
)
from gateway.runtime import Runtime
from workers.lease import HeldJob, hold_job
from workers.upstream import look, submission, upstream_errors


async def sync_job(runtime: Runtime, job_id: str) -> None:
    async with hold_job(runtime, job_id) as held:
        if held is None:
            return
        job = held.job
        if handoff.trained_here(runtime, job.provider) or job.status == JobStatus.VALIDATING_FILES:
            return
        assert job.mirror is not None
        failures = job.mirror.upstream_failures
        provider = runtime.upstream(job.provider)
        if provider is None:
            delay = runtime.settings.upstream_poll_paused_seconds
            await _schedule(runtime, held, polling.at_ms(delay), failures)
            return
        try:
            if await _sync(runtime, provider, held):
                return
        except UpstreamError as error:
            async with runtime.transaction() as session:
                await upstream_errors.record(session, runtime.settings, held.job, error)
            return
        except (UploadInProgress, submission.CreateInFlight, IntegrityError):
            # Another job is sending the same file (or just started to), or this job's lost
            # create may still land upstream: look again shortly.
            delay = runtime.settings.upstream_poll_running_seconds
            await _schedule(runtime, held, polling.at_ms(delay), failures)
            return
        except InsufficientQuota as refused:
            error = JobError(str(refused.code), refused.message)
            async with runtime.transaction() as session:
                await upstream_errors.fail(session, job, error)
            return
        except MissingFile as missing:
            kind = "training" if missing.file_id == job.training_file else "validation"
            error = JobError(f"invalid_{kind}_file", str(missing), f"{kind}_file")
            async with runtime.transaction() as session:
                await upstream_errors.fail(session, job, error)
            return
        job = await _reread(runtime, job_id)
        await _schedule(runtime, held, polling.next_look_ms(runtime.settings, job), 0)


async def _sync(runtime: Runtime, provider: Provider, held: HeldJob) -> bool:
    """True when what the upstream said was recorded, with the job's next look and the lease's
    release."""
    job = held.job
    if job.upstream_id is None:
        if job.status != JobStatus.QUEUED:
            return False  # cancelled before it was sent, or paused until the client resumes it
        if await submission.submit(runtime, provider, job) is None:
            return False
        job = await _reread(runtime, job.id)
    upstream = None
    if (action := _pending_action(job)) is not None:
        upstream = await _forward(runtime, provider, job, action)
        job = await _reread(runtime, job.id)
    seen = await look.look(runtime, provider, job, upstream)
    async with runtime.transaction() as session:
        await mirroring.record(session, runtime, [(job, seen)])
    held.released = True
    return True


async def _reread(runtime: Runtime, job_id: str) -> Job:
    async with runtime.sessions() as session:
        job = await repository.get_any(session, job_id)
    assert job is not None
    return job


def _pending_action(job: Job) -> Action | None:
    """What the client asked of ftgate that the upstream has not done yet."""
    assert job.mirror is not None
    upstream = job.mirror.upstream_status
    if upstream in UPSTREAM_TERMINAL:
        return None
    if job.status == JobStatus.CANCELLED:
        return "cancel"
    if job.status == JobStatus.PAUSED and upstream in scheduling.UPSTREAM_LOOK_STATUSES:
        return "pause"
    if job.status == JobStatus.QUEUED and upstream == UpstreamStatus.PAUSED:
        return "resume"
    return None


async def _forward(runtime: Runtime, provider: Provider, job: Job, action: Action) -> UpstreamJob:
    assert job.upstream_id is not None
    try:
        upstream = await provider.act(job.upstream_id, action)
    except UpstreamError as error:
        if error.retryable or error.not_found:
            raise
        # The upstream refused (say, it cannot pause this kind of job): it keeps its state, and
        # ftgate's job goes back to what the upstream says, with the reason as a warning.
        upstream = await provider.get_job(job.upstream_id)
        async with runtime.transaction() as session:
            await mirroring.record_refused_action(session, job, action, upstream, error.message)
        return upstream
    async with runtime.transaction() as session:
        await mirroring.record_carried_action(session, job, upstream)
    return upstream


async def _schedule(runtime: Runtime, held: HeldJob, next_ms: int | None, failures: int) -> None:
    async with runtime.transaction() as session:
        await scheduling.set_next_look(session, held.job.id, next_ms, failures, release=True)
    held.released = True
