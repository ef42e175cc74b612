"""Replace: an original fine-tune (an imported job, or a model whose chats were captured) becomes a
new job of the project on an open base model, with the original's method, hyperparameters,
seed and suffix, and its data: the original's training file when ftgate holds its content, else
the file the capture grew. The job's metadata names the original (`replaces`, `replaces_job`)."""

import time
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.capture import repository as captures
from gateway.error_handlers import from_validation_error
from gateway.errors import InvalidRequest, NotFound
from gateway.files import repository as files_repository
from gateway.files import service as files_service
from gateway.fine_tuning import repository as jobs_repository
from gateway.fine_tuning import service as jobs_service
from gateway.fine_tuning.hyperparameters import COMMON_KEYS
from gateway.fine_tuning.params import JobCreateParams
from gateway.models import Job
from gateway.projects import operator_caller
from gateway.replacement.schemas import ReplaceRequest
from gateway.runtime import Runtime

REPLACES = "replaces"
REPLACES_JOB = "replaces_job"
REPLACED = "openai.replacement_created"
MAX_METADATA_KEYS = 16


@dataclass(frozen=True)
class Original:
    model: str
    job: Job | None


async def replace(
    session: AsyncSession, runtime: Runtime, actor: str, project_id: str, request: ReplaceRequest
) -> Job:
    caller = await operator_caller(session, project_id, actor)
    if caller is None:
        raise NotFound(f"No such project: {project_id}", param="project_id")
    original = await find_original(session, project_id, request.original)
    training_file = request.training_file or await _training_file(session, project_id, original)
    params = _job_params(
        model=request.model,
        training_file=training_file,
        validation_file=await _validation_file(session, project_id, original, training_file),
        suffix=request.suffix or _suffix(original),
        seed=original.job.seed if original.job is not None else None,
        method=_method(original, request, training_file),
        metadata=_metadata(original),
    )
    job = await jobs_service.create(session, caller, runtime, params)
    audit.record(
        session,
        actor,
        REPLACED,
        project_id=project_id,
        object_id=job.id,
        details={"original": original.model, "original_job": original.job.id if original.job else None},
    )
    return job


async def find_original(session: AsyncSession, project_id: str, name: str) -> Original:
    """`name` is a job of the project (`ftjob-…`) or the model one made, a model whose chats the
    project captured, or a file that capture grew."""
    capture_file = await captures.of_file(session, project_id, name)
    model = capture_file.model if capture_file is not None else name
    job = await jobs_repository.get(session, project_id, model) or await jobs_repository.by_fine_tuned_model(
        session, project_id, model
    )
    if job is not None:
        if job.fine_tuned_model is None:
            raise InvalidRequest(
                f"Job {job.id} made no model to replace (its status is '{job.status}').", param="original"
            )
        return Original(job.fine_tuned_model, job)
    if capture_file is not None or await captures.get(session, project_id, model) is not None:
        return Original(model, None)
    raise NotFound(
        f"The project has no job, fine-tuned model, captured model or capture file named `{name}`.",
        param="original",
        code="original_not_found",
    )


async def _training_file(session: AsyncSession, project_id: str, original: Original) -> str:
    if original.job is not None and await _has_content(session, project_id, original.job.training_file):
        return original.job.training_file
    capture = await captures.get(session, project_id, original.model)
    if capture is not None and capture.training_file_id is not None and capture.training_examples > 0:
        return capture.training_file_id
    missing = (
        f"ftgate does not hold the content of its training file {original.job.training_file} "
        "(supply it with `ftgate openai import --training-files DIR`) and "
        if original.job is not None
        else ""
    )
    raise InvalidRequest(
        f"Nothing to train a replacement of `{original.model}` on: {missing}no chats with it were "
        "captured (turn capture on with `ftgate capture enable`), and no training_file was given.",
        param="training_file",
        code="file_content_missing",
    )


async def _validation_file(
    session: AsyncSession, project_id: str, original: Original, training_file: str
) -> str | None:
    """The original's validation file, when the replacement trains on the original's data and
    ftgate holds that file's content."""
    job = original.job
    if job is None or job.validation_file is None or training_file != job.training_file:
        return None
    return job.validation_file if await _has_content(session, project_id, job.validation_file) else None


async def _has_content(session: AsyncSession, project_id: str, file_id: str) -> bool:
    stored = await files_repository.get(session, project_id, file_id, int(time.time()))
    return stored is not None and files_service.has_content(stored)


def _job_params(**values: Any) -> JobCreateParams:
    """The job's request, checked as the API checks one (an original's value the trainers here
    refuse, say a batch size over 256, is a 400 naming the field)."""
    try:
        return JobCreateParams.model_validate(values)
    except ValidationError as error:
        located = [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        raise from_validation_error(RequestValidationError(located)) from None


def _suffix(original: Original) -> str | None:
    """The original's suffix: its job's, else the one in its name (`ft:BASE:ORG:SUFFIX:ID`)."""
    if original.job is not None:
        return original.job.suffix
    parts = original.model.split(":")
    return parts[3] or None if original.model.startswith("ft:") and len(parts) == 5 else None


def _method(original: Original, request: ReplaceRequest, training_file: str) -> dict[str, Any]:
    """The original's method and hyperparameters (what its upstream resolved them to), with the
    request's overrides; "auto" where neither says, so the usual rules choose. Trained on a
    capture (answers to learn as examples), the replacement is supervised whatever the original
    was: the trainers here do not run reinforcement, and a capture holds no preference pairs."""
    job = original.job
    method = job.method if job is not None else {"type": "supervised"}
    original_type = method.get("type", "supervised")
    on_original_data = job is not None and training_file == job.training_file
    if original_type == "reinforcement" and on_original_data:
        raise InvalidRequest(
            f"`{original.model}` was trained with reinforcement fine-tuning, which the trainers here "
            "do not run: capture its chats, or give a supervised training_file.",
            param="original",
            code="unsupported_method",
        )
    captured = request.training_file is None and not on_original_data
    method_type = "supervised" if captured or original_type == "reinforcement" else original_type
    overrides = request.hyperparameters.given()
    if "beta" in overrides and method_type != "dpo":
        raise InvalidRequest(
            f"beta is a dpo hyperparameter, and the replacement trains with {method_type}.",
            param="hyperparameters.beta",
        )
    carried = (method.get(original_type) or {}).get("hyperparameters") or {}
    keys = [*COMMON_KEYS, *(["beta"] if method_type == "dpo" else [])]
    values = {key: carried.get(key, "auto") for key in keys} | overrides
    for key in ("learning_rate_multiplier", "beta"):
        if isinstance(values.get(key), int):
            values[key] = float(values[key])
    return {"type": method_type, method_type: {"hyperparameters": values}}


def _metadata(original: Original) -> dict[str, str]:
    ours = {REPLACES: original.model} | ({REPLACES_JOB: original.job.id} if original.job is not None else {})
    theirs = original.job.user_metadata or {} if original.job is not None else {}
    kept = [(key, value) for key, value in theirs.items() if key not in ours]
    return ours | dict(kept[: MAX_METADATA_KEYS - len(ours)])
