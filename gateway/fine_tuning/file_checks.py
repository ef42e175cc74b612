"""The `validating_files` step: check a job's files against its model and method, then move the
job to `queued` with its "auto" hyperparameters resolved, or to `failed` with OpenAI's error."""

import time
from typing import Any

from gateway import local_extra
from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.files import repository as files_repository
from gateway.files.reports import report_for_model
from gateway.fine_tuning import handoff, lifecycle, repository
from gateway.fine_tuning.hyperparameters import resolve_auto
from gateway.fine_tuning.job_error import JobError
from gateway.fine_tuning.status import JobStatus
from gateway.models import Job, StoredFile
from gateway.runtime import Runtime
from gateway.validation import MIN_EXAMPLES, ValidationReport

INVALID_FILE_PREFIX = "The job failed due to an invalid {kind} file. Invalid file format. "
UNTRAINABLE_FILE_PREFIX = "The job failed due to an invalid {kind} file. "
METHOD_FORMATS = {"supervised": "chat", "dpo": "preference"}
FORMAT_NAMES = {
    "chat": "fine-tune-chat",
    "preference": "preference",
    "prompt_completion": "prompt-completion",
}


async def validate_job_files(runtime: Runtime, job_id: str) -> None:
    async with runtime.sessions() as session:
        job = await repository.get_any(session, job_id)
        if job is None or job.status != JobStatus.VALIDATING_FILES:
            return
        now = int(time.time())
        training = await files_repository.get(session, job.project_id, job.training_file, now)
        validation = (
            await files_repository.get(session, job.project_id, job.validation_file, now)
            if job.validation_file
            else None
        )
    spec = resolve_base_model(runtime.catalog, job.base_model)
    outcome = await _check(runtime, job, spec, training, validation)
    async with runtime.transaction() as session:
        if isinstance(outcome, JobError):
            await lifecycle.reject_files(session, job.id, outcome)
            return
        queued = handoff.for_move(runtime, job.provider, JobStatus.QUEUED, time.time())
        if await lifecycle.queue_validated(session, job.id, outcome, **queued.values):
            await queued.wake(session, job.id)


async def _check(
    runtime: Runtime,
    job: Job,
    spec: BaseModelSpec | None,
    training: StoredFile | None,
    validation: StoredFile | None,
) -> JobError | dict[str, Any]:
    if spec is None:
        return JobError(
            "model_not_available", f"Model {job.base_model} is no longer available for fine-tuning.", "model"
        )
    if spec.runs_here and not local_extra.installed():
        return local_extra.job_error()  # its tokens are counted with the model's own tokenizer
    error, report = await _check_file(runtime, job, spec, training, job.training_file, "training")
    if error is not None:
        return error
    assert report is not None
    if report.n_examples < MIN_EXAMPLES:
        return JobError(
            "invalid_n_examples",
            f"Training file has {report.n_examples} example(s), "
            f"but must have at least {MIN_EXAMPLES} examples",
            "training_file",
        )
    if job.validation_file is not None:
        error, _ = await _check_file(runtime, job, spec, validation, job.validation_file, "validation")
        if error is not None:
            return error
    return resolve_auto(job.method, report.n_examples, spec.learning_rate_multiplier)


async def _check_file(
    runtime: Runtime,
    job: Job,
    spec: BaseModelSpec,
    stored: StoredFile | None,
    file_id: str,
    kind: str,
) -> tuple[JobError | None, ValidationReport | None]:
    code, param = f"invalid_{kind}_file", f"{kind}_file"
    prefix = INVALID_FILE_PREFIX.format(kind=kind)
    if stored is None or stored.validation is None:
        return JobError(
            code, f"The job failed because the {kind} file {file_id} no longer exists.", param
        ), None
    try:
        report = await report_for_model(stored, spec, runtime.blobs, runtime.validators)
    except FileNotFoundError:
        return JobError(
            code, f"The job failed because the {kind} file {file_id} has no content.", param
        ), None
    if report.issues:
        first = report.issues[0]
        more = (
            f" ({report.n_invalid - 1} more line(s) have errors; see GET /v1/files/{file_id}/validation)"
            if report.n_invalid > 1
            else ""
        )
        return JobError(code, f"{prefix}{first.message}{more}", param), None
    expected = METHOD_FORMATS[job.method["type"]]
    if report.format is not None and report.format != expected:
        found = FORMAT_NAMES.get(report.format or "", "an unknown")
        return JobError(
            code,
            f"{prefix}Input file {file_id} is in the {found} format, but the specified fine-tuning job "
            f"is using '{job.method['type']}' as the training method, which requires the "
            f"{FORMAT_NAMES[expected]} format.",
            param,
        ), None
    if spec.runs_here:
        # The trainer's own count (kept for the reservation and quotes): a file it would refuse
        # fails here, before the job is queued.
        try:
            local = await runtime.local_tokens.count(runtime.blobs, stored, spec, job.method["type"], kind)
        except FileNotFoundError:
            return JobError(
                code, f"The job failed because the {kind} file {file_id} has no content.", param
            ), None
        if local.error is not None:
            return JobError(code, UNTRAINABLE_FILE_PREFIX.format(kind=kind) + local.error, param), None
    return None, report
