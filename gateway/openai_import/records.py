"""The upstream's objects as ftgate's rows, field for field, with the upstream's ids."""

import time
from typing import Any

from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.files.service import NO_CONTENT
from gateway.fine_tuning.checkpoints import checkpoint_metrics
from gateway.fine_tuning.hyperparameters import COMMON_KEYS
from gateway.fine_tuning.job_error import JobError
from gateway.models import JobCheckpoint, JobEvent, StoredFile


def job_values(item: dict[str, Any], catalog: list[BaseModelSpec]) -> dict[str, Any]:
    """The columns of a job that the upstream decides (all but project, provider and origin)."""
    method = item.get("method") or {
        "type": "supervised",
        "supervised": {"hyperparameters": item.get("hyperparameters") or {}},
    }
    return {
        "organization_id": str(item.get("organization_id") or ""),
        "model": str(item["model"]),
        "base_model": base_model(str(item["model"]), catalog),
        "training_file": str(item.get("training_file") or ""),
        "validation_file": item.get("validation_file"),
        "status": str(item["status"]),
        "created_at": int(item["created_at"]),
        "updated_at": int(time.time()),
        "finished_at": item.get("finished_at"),
        "estimated_finish": item.get("estimated_finish"),
        "fine_tuned_model": item.get("fine_tuned_model"),
        "trained_tokens": item.get("trained_tokens"),
        "error": _error(item),
        "method": method,
        "hyperparameters": item.get("hyperparameters") or _top_level(method),
        "seed": int(item.get("seed") or 0),
        "suffix": item.get("user_provided_suffix", item.get("suffix")),
        "integrations": item.get("integrations"),
        "user_metadata": item.get("metadata"),
        "result_files": [str(file_id) for file_id in item.get("result_files") or []],
        "upstream_id": str(item["id"]),
    }


def base_model(model: str, catalog: list[BaseModelSpec]) -> str:
    """The base model a job tuned: its `model`, or the base of the `ft:` model it continued."""
    name = model.split(":")[1] if model.startswith("ft:") else model
    spec = resolve_base_model(catalog, name)
    return spec.id if spec is not None else name


def _error(item: dict[str, Any]) -> dict[str, Any] | None:
    """A failure's `{code, message, param}`; OpenAI's non-failed jobs carry null, `{}` or nulls."""
    error = item.get("error") or {}
    if not error.get("code") and not error.get("message"):
        return None
    return JobError.from_upstream(error).as_wire()


def _top_level(method: dict[str, Any]) -> dict[str, Any]:
    """The `hyperparameters` field OpenAI leaves null for some jobs (DPO): the method's common keys."""
    values = (method.get(method.get("type") or "") or {}).get("hyperparameters") or {}
    return {key: values[key] for key in COMMON_KEYS if key in values}


def event_row(job_id: str, item: dict[str, Any]) -> JobEvent:
    return JobEvent(
        id=str(item["id"]),
        job_id=job_id,
        upstream_event_id=str(item["id"]),
        created_at=int(item["created_at"]),
        level=str(item.get("level") or "info"),
        message=str(item.get("message") or ""),
        data=item.get("data") or {},
        type=str(item.get("type") or "message"),
    )


def checkpoint_row(job_id: str, item: dict[str, Any]) -> JobCheckpoint:
    return JobCheckpoint(
        id=str(item["id"]),
        job_id=job_id,
        created_at=int(item["created_at"]),
        fine_tuned_model_checkpoint=str(item["fine_tuned_model_checkpoint"]),
        step_number=int(item["step_number"]),
        metrics=checkpoint_metrics(item.get("metrics") or {}),
    )


def file_row(project_id: str, item: dict[str, Any], source: str) -> StoredFile:
    """An imported file's record, without its content (attached later, when supplied)."""
    return StoredFile(
        id=str(item["id"]),
        project_id=project_id,
        key_id=None,
        filename=str(item.get("filename") or item["id"]),
        purpose=str(item.get("purpose") or "fine-tune"),
        bytes=int(item.get("bytes") or 0),
        created_at=int(item.get("created_at") or time.time()),
        expires_at=item.get("expires_at"),
        status=str(item.get("status") or "processed"),
        status_details=item.get("status_details"),
        blob_key=str(item["id"]),
        sha256=NO_CONTENT,
        validation=None,
        imported_from=source,
    )
