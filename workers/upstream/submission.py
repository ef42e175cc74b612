"""Sending a job upstream exactly once: its files uploaded once per upstream, the job created
once. Before the create, the job records that it is being sent; a try that finds that mark
looks the job up upstream (by the `ftgate_job_id` metadata it was sent with, or, where the
upstream keeps no metadata, by the request itself among the jobs no other ftgate job holds)
before sending again. The upstream id is recorded in the same transaction as the job's new state.

An upstream that lost a file ftgate uploaded (deleted, another account behind the key, restarted)
refuses the create, which therefore took no effect: the cached upstream id is dropped, the file
uploaded again (once per file and try) and the create sent again.

Where the operator wants the upstream's price estimate (`upstream_estimates`), it is asked once
the files are uploaded and before the job is sent: budgets reserve the larger of it and ftgate's
quote, and a job a budget cannot hold fails without being sent."""

import logging
import time
from typing import Any

from gateway.budgets import ledger
from gateway.catalog import resolve_base_model
from gateway.files import repository as files_repository
from gateway.files.upstream_copies import upload_once
from gateway.fine_tuning import repository
from gateway.fine_tuning.status import JobStatus
from gateway.models import Job
from gateway.providers.base import JobLookup, Provider, UpstreamFileNotFound, UpstreamJob
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

MARKER_KEY = "ftgate_job_id"
MAX_METADATA_KEYS = 16
# Other jobs sent this long before a lost create may hold the upstream jobs it could be taken for.
LOOKUP_WINDOW_SECONDS = 24 * 3600


async def submit(runtime: Runtime, provider: Provider, job: Job) -> UpstreamJob | None:
    """The job as the upstream now has it, or None when it left `queued` meanwhile."""
    if job.mirror.upstream_submitted_at is not None:
        found = await provider.find_job(await _lookup(runtime, provider, job))
        if found is not None:
            log.info("job %s was already at %s as %s", job.id, provider.name, found.id)
            return found if await _record(runtime, provider, job, found) else None
        if time.time() < job.mirror.upstream_submitted_at + _resend_after_seconds(runtime, provider.name):
            raise CreateInFlight(job.id)
    uploaded_again: set[str] = set()
    while True:
        request = await _request(runtime, provider, job)
        try:
            await _reserve_upstream_estimate(runtime, provider, job, request)
            created = await _send(runtime, provider, job, request)
        except UpstreamFileNotFound as missing:
            file_id = job.training_file if missing.param == "training_file" else job.validation_file
            if file_id is None or file_id in uploaded_again:
                raise  # lost again right after its new upload: the upstream's final word
            uploaded_again.add(file_id)
            await _forget_upstream_copy(runtime, provider, job, file_id, missing.file_id)
            continue
        if created is None:
            return None
        return created if await _record(runtime, provider, job, created) else None


async def _reserve_upstream_estimate(
    runtime: Runtime, provider: Provider, job: Job, request: dict[str, Any]
) -> None:
    """Where the operator wants the upstream's figure, its estimate raises the job's reservation
    when larger; InsufficientQuota when a budget cannot hold it."""
    estimate = await provider.estimate_cost(request)
    if estimate is None:
        return
    async with runtime.transaction() as session:
        await ledger.reserve_upstream_estimate(session, job.id, provider.name, estimate)


async def _send(
    runtime: Runtime, provider: Provider, job: Job, request: dict[str, Any]
) -> UpstreamJob | None:
    """Mark the job as being sent, then create it upstream; None when it left `queued` meanwhile."""
    async with runtime.transaction() as session:
        if not await repository.update_mirror_if_status(
            session, job.id, [JobStatus.QUEUED], upstream_submitted_at=int(time.time())
        ):
            return None
    return await provider.submit(request)


async def _lookup(runtime: Runtime, provider: Provider, job: Job) -> JobLookup:
    assert job.mirror.upstream_submitted_at is not None
    since = job.mirror.upstream_submitted_at - LOOKUP_WINDOW_SECONDS
    async with runtime.sessions() as session:
        taken = await repository.upstream_ids_sent_since(session, provider.name, since)
    request = await _request(runtime, provider, job)
    return JobLookup(MARKER_KEY, job.id, request, job.mirror.upstream_submitted_at, frozenset(taken))


async def _forget_upstream_copy(
    runtime: Runtime, provider: Provider, job: Job, file_id: str, upstream_file_id: str
) -> None:
    """After the upstream said it has no `upstream_file_id`: take back this try's mark (the refused
    create left nothing upstream; an earlier try's mark stays) and drop the cached copy, unless
    another job already replaced it."""
    log.warning(
        "%s no longer has %s (ftgate file %s): uploading it again for job %s",
        provider.name,
        upstream_file_id,
        file_id,
        job.id,
    )
    async with runtime.transaction() as session:
        await repository.update_mirror_if_status(
            session, job.id, [JobStatus.QUEUED], upstream_submitted_at=job.mirror.upstream_submitted_at
        )
        await files_repository.forget_upstream_copy(session, file_id, provider.name, upstream_file_id)


async def _record(runtime: Runtime, provider: Provider, job: Job, upstream: UpstreamJob) -> bool:
    """Record the upstream job as this job's, unless another job holds it: an upstream without
    metadata (Together) finds a lost create by what was sent, and a job alike to this one may
    have taken it for its own. The jobs on one training file record one at a time; one that
    comes second looks again shortly, and no longer finds the job the first took."""
    async with runtime.transaction() as session:
        await files_repository.lock_upstream_copy(session, job.training_file, provider.name)
        holder = await repository.by_upstream_id(session, provider.name, upstream.id)
        if holder is not None and holder.id != job.id:
            log.warning(
                "job %s: %s %s is job %s's; looking again", job.id, provider.name, upstream.id, holder.id
            )
            raise CreateInFlight(job.id)
        recorded = await repository.transition(
            session,
            job.id,
            [JobStatus.QUEUED, JobStatus.PAUSED, JobStatus.CANCELLED],
            upstream_id=upstream.id,
            updated_at=int(time.time()),
        )
        if recorded:
            await repository.update_mirror(session, job.id, upstream_status=upstream.status)
        return recorded


async def _request(runtime: Runtime, provider: Provider, job: Job) -> dict[str, Any]:
    spec = resolve_base_model(runtime.catalog, job.base_model)
    model = job.model if job.model != job.base_model or spec is None else spec.upstream_model or spec.id
    metadata = dict(job.user_metadata or {})
    if len(metadata) < MAX_METADATA_KEYS:
        metadata[MARKER_KEY] = job.id
    else:
        log.warning(
            "job %s has no room for its %s metadata: a lost create may be sent twice", job.id, MARKER_KEY
        )
    request: dict[str, Any] = {
        "model": model,
        "training_file": await upload_once(runtime, provider, job.project_id, job.training_file),
        "method": job.method,
        "seed": job.seed,
        "metadata": metadata,
    }
    if job.validation_file is not None:
        request["validation_file"] = await upload_once(runtime, provider, job.project_id, job.validation_file)
    if job.suffix is not None:
        request["suffix"] = job.suffix
    if job.integrations:
        request["integrations"] = job.integrations
    return request


def _resend_after_seconds(runtime: Runtime, upstream: str) -> float:
    return next(spec.resend_after_seconds for spec in runtime.settings.upstreams if spec.name == upstream)


class CreateInFlight(Exception):
    """The job was sent and is not found upstream yet: the create may still be under way there."""
