"""Fine-tuning jobs: creation, the client's state changes, and reads of events and checkpoints."""

import secrets
import time
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit, db, ids, local_extra
from gateway.budgets import ledger
from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.errors import InvalidRequest, NotFound
from gateway.files import purposes
from gateway.files import repository as files_repository
from gateway.files import service as files_service
from gateway.files.reports import report_for_model
from gateway.fine_tuning import events, handoff, lifecycle, repository, upstream_limits
from gateway.fine_tuning.hyperparameters import default_epochs, method_hyperparameters, normalize_method
from gateway.fine_tuning.params import JobCreateParams
from gateway.fine_tuning.status import CLIENT_ACTIONS, JobStatus
from gateway.models import Job, JobCheckpoint, JobEvent, StoredFile
from gateway.pagination import fetch_page, resolve_after
from gateway.projects import Caller
from gateway.runtime import Runtime
from gateway.task_names import ADVANCE_JOB

JOB_CREATED = "job.created"


def not_found(job_id: str) -> NotFound:
    return NotFound(
        f"Could not find fine tune: {job_id}", param="fine_tuning_job_id", code="fine_tune_not_found"
    )


async def retrieve(session: AsyncSession, caller: Caller, job_id: str) -> Job:
    job = await repository.get(session, caller.project_id, job_id)
    if job is None:
        raise not_found(job_id)
    return job


async def show(session: AsyncSession, caller: Caller, job_id: str) -> Job:
    job = await repository.get_to_show(session, caller.project_id, job_id)
    if job is None:
        raise not_found(job_id)
    return job


async def require_job(session: AsyncSession, caller: Caller, job_id: str) -> None:
    if not await repository.exists(session, caller.project_id, job_id):
        raise not_found(job_id)


async def resolve_model(
    session: AsyncSession, caller: Caller, runtime: Runtime, name: str
) -> tuple[str, BaseModelSpec]:
    """The job's `model` (a snapshot, or one of the project's fine-tuned models) and its base,
    looked up among the models offered here: a model whose upstream is not configured is refused
    rather than left to wait in `queued`, a local model where the `local` extra is missing by
    saying so."""
    offered = runtime.offered_models
    spec = resolve_base_model(offered, name)
    if spec is not None:
        return spec.id, spec
    parent = await repository.by_fine_tuned_model(session, caller.project_id, name)
    base = parent.base_model if parent is not None else name
    spec = resolve_base_model(offered, base)
    if spec is None:
        known = resolve_base_model(runtime.catalog, base)
        if known is not None and known.runs_here and not local_extra.installed():
            raise local_extra.refusal(name)
        raise InvalidRequest(
            f"Model {name} is not available for fine-tuning or does not exist.",
            param="model",
            code="model_not_available",
        )
    return name, spec


async def _require_fine_tune_file(
    session: AsyncSession, caller: Caller, file_id: str, param: str
) -> StoredFile:
    stored = await files_repository.get(session, caller.project_id, file_id, int(time.time()))
    if stored is None:
        raise InvalidRequest(f"invalid {param}: {file_id}", param=param)
    if not files_service.has_content(stored):
        raise files_service.content_missing(stored, param)
    if stored.purpose != purposes.FINE_TUNE:
        raise InvalidRequest(
            f"File {file_id} has purpose '{stored.purpose}', but {param} must be a file uploaded "
            f"with purpose '{purposes.FINE_TUNE}'.",
            param=param,
        )
    return stored


async def _trained_tokens_estimate(
    runtime: Runtime, training: StoredFile, spec: BaseModelSpec, method: dict[str, Any]
) -> int:
    """What the job is expected to train, as a quote would say: billable tokens × epochs; for a
    local model, exactly what its trainer will train (0 for a file it refuses: that job fails
    validation before it trains)."""
    try:
        report = await report_for_model(training, spec, runtime.blobs, runtime.validators)
        per_epoch = (
            (await runtime.local_tokens.count(runtime.blobs, training, spec, method["type"])).tokens_per_epoch
            if spec.runs_here
            else report.billable_tokens
        )
    except FileNotFoundError:
        raise InvalidRequest(f"invalid training_file: {training.id}", param="training_file") from None
    epochs = method_hyperparameters(method)["n_epochs"]
    return per_epoch * (default_epochs(report.n_examples) if epochs == "auto" else epochs)


async def create(session: AsyncSession, caller: Caller, runtime: Runtime, params: JobCreateParams) -> Job:
    """Check the request, reserve its quoted cost against the budgets, and record the job."""
    model, spec = await resolve_model(session, caller, runtime, params.model)
    ledger.require_model_allowed(caller, spec, params.model)
    method = normalize_method(params)
    if method["type"] not in spec.methods:
        raise InvalidRequest(
            f"Model {model} does not support the '{method['type']}' fine-tuning method.",
            param="method.type",
            code="model_not_available",
        )
    upstream_limits.require_create_supported(
        runtime, spec.provider, spec.upstream_model or model, method, params
    )
    training = await _require_fine_tune_file(session, caller, params.training_file, "training_file")
    if params.validation_file is not None:
        await _require_fine_tune_file(session, caller, params.validation_file, "validation_file")
    now = int(time.time())
    job = Job(
        id=ids.new_job_id(),
        project_id=caller.project_id,
        key_id=caller.key_id,
        organization_id=caller.organization_id,
        model=model,
        base_model=spec.id,
        training_file=params.training_file,
        validation_file=params.validation_file,
        status=JobStatus.VALIDATING_FILES,
        created_at=now,
        updated_at=now,
        finished_at=None,
        estimated_finish=None,
        fine_tuned_model=None,
        fine_tuned_model_deleted_at=None,
        trained_tokens=None,
        error=None,
        method=method,
        seed=params.seed if params.seed is not None else secrets.randbelow(2**31),
        suffix=params.suffix,
        integrations=[item.model_dump(exclude_none=True) for item in params.integrations or []],
        user_metadata=params.metadata,
        result_files=[],
        provider=spec.provider,
        upstream_id=None,
        mirror=handoff.new_mirror(runtime, spec.provider),
    )
    trained_tokens = await _trained_tokens_estimate(runtime, training, spec, method)
    session.add(job)
    await session.flush()
    await ledger.reserve_job(session, caller, job.id, spec, trained_tokens)
    events.add(session, job.id, events.created(job.id))
    events.add(session, job.id, events.validating(job.training_file, job.validation_file))
    audit.record(
        session,
        caller.actor,
        JOB_CREATED,
        project_id=caller.project_id,
        object_id=job.id,
        details={"model": model},
    )
    await session.flush()
    db.enqueue(session, ADVANCE_JOB, job.id)
    return job


async def list_jobs(
    session: AsyncSession,
    caller: Caller,
    *,
    after: str | None,
    limit: int,
    metadata: dict[str, str],
    without_metadata: bool,
) -> tuple[list[Job], bool]:
    after_seq = await resolve_after(session, after, partial(repository.seq_query, caller.project_id))
    return await fetch_page(
        session,
        repository.list_query(caller.project_id, metadata, without_metadata).options(
            repository.WITHOUT_MIRROR
        ),
        Job.seq,
        after_seq=after_seq,
        limit=limit,
    )


ACTION_EVENTS = {
    "cancel": (events.CANCELLED, "warn"),
    "pause": (events.PAUSED, "info"),
    "resume": (events.RESUMED, "info"),
}


async def apply_action(
    session: AsyncSession, caller: Caller, runtime: Runtime, job_id: str, action: str
) -> Job:
    """Cancel, pause or resume; a transition the state machine refuses is a 400.

    The status check and the change are one conditional UPDATE, so a worker moving the job on
    at the same moment (say validating_files -> queued) cannot make a valid cancel fail.
    """
    job = await retrieve(session, caller, job_id)
    if job.imported_from is not None:
        raise InvalidRequest(
            f"Job {job_id} was imported from {job.imported_from} as read-only history: "
            f"ftgate does not run it, so it cannot {action} it.",
            param="fine_tuning_job_id",
            code="imported_job",
        )
    upstream_limits.require_action_supported(runtime, job, action)
    allowed_from, target = CLIENT_ACTIONS[action]
    now = int(time.time())
    values: dict[str, Any] = {"updated_at": now}
    if target == JobStatus.CANCELLED:
        values |= {"finished_at": now, "estimated_finish": None}
    # What runs the job takes the change up: an upstream is told now, the trainer a resumed job.
    moved = handoff.for_move(runtime, job.provider, target, now)
    values |= moved.values
    if not await lifecycle.move(session, job.id, allowed_from, target, actor=caller.actor, **values):
        await session.refresh(job)
        raise InvalidRequest(
            f"Cannot {action} a job with status '{job.status}'.",
            param="fine_tuning_job_id",
            code="invalid_state",
        )
    message, level = ACTION_EVENTS[action]
    events.add(session, job.id, message, level=level)
    await session.refresh(job)
    await moved.wake(session, job.id)
    return job


async def list_events(
    session: AsyncSession, caller: Caller, job_id: str, *, after: str | None, limit: int
) -> tuple[list[JobEvent], bool]:
    await require_job(session, caller, job_id)
    after_seq = await resolve_after(session, after, partial(repository.event_seq_query, job_id))
    return await fetch_page(
        session, repository.events_query(job_id), JobEvent.seq, after_seq=after_seq, limit=limit
    )


async def list_checkpoints(
    session: AsyncSession, caller: Caller, job_id: str, *, after: str | None, limit: int
) -> tuple[list[JobCheckpoint], bool]:
    await require_job(session, caller, job_id)
    after_seq = await resolve_after(session, after, partial(repository.checkpoint_seq_query, job_id))
    return await fetch_page(
        session, repository.checkpoints_query(job_id), JobCheckpoint.seq, after_seq=after_seq, limit=limit
    )
