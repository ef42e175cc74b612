"""Together's state: stored files, and fine-tuning jobs that walk Together's lifecycle in real
time (pending → queued → running → compressing → uploading → completed; cancel_requested →
cancelled; error), each step appending events, logging metrics and saving checkpoints as
Together does. Times are ISO 8601 strings in Together's own (Pacific) offset. Each training step
appends a progress event (`step`, `total_steps`; its type, `training_progress`, is not one the
SDK names: ftgate reads any other event with a step and total as progress). Price estimates
follow Together's rule: (epochs × training tokens + n_evals × validation tokens) × the rate, a
file's tokens being its `token_count` (a quarter of its bytes)."""

import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support.fake_upstream.errors import ApiError
from tests.support.fake_upstream.lifecycle import StoredFile, random_id
from tests.support.fake_upstream.scripted import ScriptedUpstream

ACCOUNT = "ftgate-test"
PACIFIC = timezone(timedelta(hours=-8))
DEFAULT_BATCH_SIZE = 1
# USD per 1M tokens that estimates charge, unless a test sets another.
PRICE_PER_1M = 8.0
# phase -> (status it is in, its event type and text, the phase after it)
PHASES = {
    "pending": ("pending", "job_pending", "Fine tune request created", "queued"),
    "queued": ("queued", "job_pending", "Job queued, position 1 in the queue", "running"),
    "compressing": ("compressing", "model_compressing", "Compressing output model", "uploading"),
    "uploading": ("uploading", "model_uploading", "Uploading output model", "completed"),
}
CANCELLABLE = frozenset({"pending", "queued", "running", "compressing", "uploading"})


def token_count(stored: StoredFile) -> int:
    return max(1, int(stored.info["bytes"]) // 4)


def iso_now() -> str:
    return datetime.now(PACIFIC).isoformat()


@dataclass
class Script:
    """How the next jobs go: `error` fails them at step 2 with these words; `restarts` holds
    them running after step 2 until the test restarts them (back to the queue, as Together does
    after a node failure), and then queued until the test ends the restart."""

    step_seconds: float | None = None
    error: str | None = None
    restarts: bool = False


@dataclass
class Job:
    data: dict[str, Any]
    request: dict[str, Any]
    step_seconds: float
    total_steps: int
    steps_per_epoch: int
    error: str | None
    restarts: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    phase: str = "pending"
    step: int = 0
    next_at: float = 0.0

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def status(self) -> str:
        return str(self.data["status"])


class Together(ScriptedUpstream):
    PRICE_PER_1M = PRICE_PER_1M
    files: dict[str, StoredFile]
    jobs: dict[str, Job]
    scripts: list[Script]

    def reset(self) -> None:
        super().reset()
        # The estimates given, in order; `refuse_estimates` more are answered allowed_to_proceed false.
        self.estimates: list[dict[str, Any]] = []
        self.refuse_estimates = 0
        # What `/finetune/download?checkpoint=adapter` serves for every completed job, and how often it did.
        self.adapter_archive: bytes | None = None
        self.downloads = 0

    def upload(self, filename: str, purpose: str, file_type: str, content: bytes) -> dict[str, Any]:
        self.files_uploaded += 1
        lines = sum(1 for line in content.splitlines() if line.strip())
        info = {
            "id": f"file-{secrets.token_hex(16)}",
            "object": "file",
            "created_at": int(time.time()),
            "filename": filename,
            "bytes": len(content),
            "purpose": purpose,
            "Processed": True,
            "FileType": file_type,
            "LineCount": lines,
        }
        self.files[info["id"]] = StoredFile(info, content)
        return info

    def job(self, job_id: str) -> Job:
        if job_id not in self.jobs:
            raise ApiError(404, f"Fine-tune job {job_id} not found", code="not_found")
        return self.jobs[job_id]

    def estimate_price(self, body: dict[str, Any]) -> dict[str, Any]:
        training = self.files.get(body.get("training_file"))
        if training is None:
            raise ApiError(404, f"File {body.get('training_file')} not found", param="training_file")
        validation = self.files.get(body.get("validation_file")) if body.get("validation_file") else None
        tokens = int(body.get("n_epochs", 1)) * token_count(training)
        tokens += int(body.get("n_evals", 0)) * (token_count(validation) if validation else 0)
        allowed = self.refuse_estimates == 0
        self.refuse_estimates = max(self.refuse_estimates - 1, 0)
        estimate = {
            "estimation_available": True,
            "estimated_total_price": round(tokens * self.price_per_1m / 1_000_000, 6),
            "estimated_train_token_count": tokens,
            "allowed_to_proceed": allowed,
            "user_limit": 100.0,
        }
        self.estimates.append(estimate)
        return estimate

    def create_job(self, body: dict[str, Any]) -> Job:
        model = body.get("model")
        if not isinstance(model, str):
            raise ApiError(400, "model is required", param="model")
        training = self.files.get(body.get("training_file"))
        if training is None:
            raise ApiError(404, f"File {body.get('training_file')} not found", param="training_file")
        suffix = body.get("suffix") or ""
        if len(suffix) > 40:
            raise ApiError(400, "suffix must be at most 40 characters", param="suffix")
        batch_size = body.get("batch_size", "max")
        if batch_size != "max" and not isinstance(batch_size, int):
            raise ApiError(400, "batch_size must be an integer or 'max'", param="batch_size")
        script = self.scripts.pop(0) if self.scripts else Script()
        n_epochs = int(body.get("n_epochs", 1))
        lines = training.info["LineCount"]
        steps_per_epoch = max(
            1, math.ceil(lines / (DEFAULT_BATCH_SIZE if batch_size == "max" else batch_size))
        )
        now = iso_now()
        name = f"{ACCOUNT}/{model.split('/')[-1]}-{suffix + '-' if suffix else ''}{secrets.token_hex(3)}"
        data = {
            "id": f"ft-{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}",
            "status": "pending",
            "model": model,
            "model_output_name": name,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "training_file": training.info["id"],
            "validation_file": body.get("validation_file") or "",
            "n_epochs": n_epochs,
            "n_checkpoints": 1,
            "batch_size": batch_size,
            "learning_rate": body.get("learning_rate", 1e-5),
            "training_type": body.get("training_type") or {"type": "Lora"},
            "training_method": body.get("training_method") or {"method": "sft"},
            "token_count": token_count(training),
            "epochs_completed": 0,
            "total_price": 0,
            "progress": {"estimate_available": False, "seconds_remaining": 0},
            "queue_depth": 0,
        }
        job = Job(
            data=data,
            request=dict(body),
            step_seconds=script.step_seconds or self.step_seconds,
            total_steps=steps_per_epoch * n_epochs,
            steps_per_epoch=steps_per_epoch,
            error=script.error,
            restarts=script.restarts,
        )
        self.jobs[job.id] = job
        self._enter(job, "pending", time.monotonic())
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.job(job_id)
        if job.status == "cancel_requested":
            return job
        if job.status not in CANCELLABLE:
            raise ApiError(400, f"Fine-tune job {job_id} is {job.status} and cannot be cancelled")
        job.data["status"] = "cancel_requested"
        job.phase = "cancelling"
        self._emit(job, "cancel_requested", "Cancel requested")
        job.next_at = time.monotonic() + self.phase_seconds
        return job

    def restart(self, job_id: str) -> None:
        job = self.job(job_id)
        job.phase, job.data["status"], job.next_at = "restarting", "queued", math.inf
        job.restarts = False  # once
        self._emit(job, "job_restarted", "Job restarted after a node failure")

    def end_restart(self, job_id: str) -> None:
        self.job(job_id).next_at = time.monotonic()

    def _move(self, job: Job, now: float) -> None:
        if job.phase == "cancelling":
            self._finish(job, "cancelled", "job_stopped", "Job stopped by user")
        elif job.phase == "restarting":
            job.phase = "running"
            job.data["status"] = "running"
            self._emit(job, "job_start", f"Job started at {iso_now()}")
            job.next_at = now + job.step_seconds
        elif job.phase == "running":
            self._step(job, now)
        elif job.phase in PHASES:
            self._enter(job, PHASES[job.phase][3], now)

    def _enter(self, job: Job, phase: str, now: float) -> None:
        if phase == "completed":
            self.models.add(job.data["model_output_name"])
            self._finish(job, "completed", "job_complete", f"Job finished at {iso_now()}")
            return
        job.phase = phase
        if phase == "running":
            job.data |= {"status": "running", "started_at": iso_now()}
            self._emit(job, "job_start", f"Job started at {iso_now()}")
            self._emit(job, "training_start", f"Training started for model {job.data['model']}")
            job.next_at = now + job.step_seconds
            return
        status, kind, text, _ = PHASES[phase]
        job.data["status"] = status
        self._emit(job, kind, text)
        job.next_at = now + self.phase_seconds

    def _step(self, job: Job, now: float) -> None:
        job.step += 1
        step, total = job.step, job.total_steps
        loss = round(2.0 / (1 + 3 * (step - 1) / total), 5)
        job.metrics.append({"global_step": step, "train_loss": loss, "logged_at": iso_now()})
        self._emit(job, "training_progress", f"Training step {step}/{total}", step=step, total_steps=total)
        if job.error is not None and step >= min(2, total):
            self._finish(job, "error", "job_error", job.error, level="error")
            return
        if step % job.steps_per_epoch == 0:
            job.data["epochs_completed"] = step // job.steps_per_epoch
            self._emit(job, "epoch_complete", f"Epoch completed, at step {step}", step=step)
            self._save_checkpoint(job, "final" if step == total else "intermediate")
        job.data["progress"] = {
            "estimate_available": True,
            "seconds_remaining": (total - step) * job.step_seconds,
        }
        if step == total:
            self._emit(job, "training_complete", f"Training completed for {job.data['model']}")
            self._enter(job, "compressing", now)
        elif job.restarts and step == 2:
            job.next_at = math.inf  # running, until the test restarts it
        else:
            job.next_at = now + job.step_seconds

    def _save_checkpoint(self, job: Job, kind: str) -> None:
        path = f"s3://together-ft/{job.id}/checkpoint-{job.step}"
        self._emit(
            job,
            "checkpoint_save",
            f"Checkpoint saved at step {job.step}",
            step=job.step,
            checkpoint_path=path,
        )
        job.checkpoints.append(
            {
                "checkpoint_type": kind,
                "created_at": iso_now(),
                "path": path,
                "step": job.step,
                "checkpoint": "adapter",
                "object_id": random_id("obj-"),
                "object_name": f"{job.data['model_output_name']}-step-{job.step}",
            }
        )

    def _finish(self, job: Job, status: str, kind: str, text: str, level: str = "info") -> None:
        job.data["status"] = status
        job.phase = "done"
        self._emit(job, kind, text, level=level)

    def _emit(self, job: Job, kind: str, message: str, *, level: str = "info", **extra: Any) -> None:
        now = iso_now()
        job.data["updated_at"] = now
        event = {
            "object": "fine-tune-event",
            "created_at": now,
            "level": level,
            "message": message,
            "type": kind,
            "param_count": 0,
            "token_count": 0,
            "wandb_url": "",
            "hash": "",
            "step": None,
            "total_steps": None,
            "checkpoint_path": "",
            "model_path": "",
        }
        job.events.append(event | extra)
