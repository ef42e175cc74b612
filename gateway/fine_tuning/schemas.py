"""Wire shapes of the Fine-tuning API, field for field OpenAI's."""

from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from gateway.fine_tuning.hyperparameters import top_level
from gateway.models import Job, JobCheckpoint, JobEvent


class JobError(BaseModel):
    code: str
    message: str
    param: str | None


class FineTuningJob(BaseModel):
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    id: str
    created_at: int
    error: JobError | None
    fine_tuned_model: str | None
    finished_at: int | None
    hyperparameters: dict[str, Any]
    model: str
    organization_id: str
    result_files: list[str]
    seed: int
    status: str
    trained_tokens: int | None
    training_file: str
    validation_file: str | None
    integrations: list[dict[str, Any]] | None
    estimated_finish: int | None
    method: dict[str, Any]
    metadata: dict[str, str] | None
    user_provided_suffix: str | None

    # The attributes of a job that `of` reads: all that a hot read selects.
    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "created_at",
        "error",
        "fine_tuned_model",
        "finished_at",
        "hyperparameters",
        "model",
        "organization_id",
        "result_files",
        "seed",
        "status",
        "trained_tokens",
        "training_file",
        "validation_file",
        "integrations",
        "estimated_finish",
        "method",
        "user_metadata",
        "suffix",
    )

    @classmethod
    def of(cls, job: Job) -> "FineTuningJob":
        return cls(
            id=job.id,
            created_at=job.created_at,
            error=JobError(**job.error) if job.error else None,
            fine_tuned_model=job.fine_tuned_model,
            finished_at=job.finished_at,
            hyperparameters=job.hyperparameters if job.hyperparameters is not None else top_level(job.method),
            model=job.model,
            organization_id=job.organization_id,
            result_files=job.result_files,
            seed=job.seed,
            status=job.status,
            trained_tokens=job.trained_tokens,
            training_file=job.training_file,
            validation_file=job.validation_file,
            integrations=job.integrations or [],
            estimated_finish=job.estimated_finish,
            method=job.method,
            metadata=job.user_metadata,
            user_provided_suffix=job.suffix,
        )


class FineTuningJobEvent(BaseModel):
    object: Literal["fine_tuning.job.event"] = "fine_tuning.job.event"
    id: str
    created_at: int
    level: Literal["info", "warn", "error"]
    message: str
    data: dict[str, Any]
    type: Literal["message", "metrics"]

    COLUMNS: ClassVar[tuple[str, ...]] = ("id", "created_at", "level", "message", "data", "type")

    @classmethod
    def of(cls, event: JobEvent) -> "FineTuningJobEvent":
        return cls(
            id=event.id,
            created_at=event.created_at,
            level=event.level,
            message=event.message,
            data=event.data,
            type=event.type,
        )


class FineTuningJobCheckpoint(BaseModel):
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    id: str
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    metrics: dict[str, float]
    step_number: int

    @classmethod
    def of(cls, checkpoint: JobCheckpoint) -> "FineTuningJobCheckpoint":
        return cls(
            id=checkpoint.id,
            created_at=checkpoint.created_at,
            fine_tuned_model_checkpoint=checkpoint.fine_tuned_model_checkpoint,
            fine_tuning_job_id=checkpoint.job_id,
            metrics=checkpoint.metrics,
            step_number=checkpoint.step_number,
        )
