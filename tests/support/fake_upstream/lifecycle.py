"""The upstream's state: stored files, and jobs that walk OpenAI's fine-tuning lifecycle in real time."""

import base64
import math
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, job_not_found

ALPHABET = string.ascii_letters + string.digits
AUTO = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}
OUTCOMES = frozenset({"succeed", "fail", "vanish", "silent"})
FAILURE = {"code": "server_error", "message": "The job failed due to an internal error.", "param": None}
KEPT_CHECKPOINTS = 3
CSV_HEADER = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
# action -> (statuses it is allowed from, status it leads to)
ACTIONS = {
    "cancel": ({"validating_files", "queued", "running", "paused"}, "cancelled"),
    "pause": ({"queued", "running"}, "paused"),
    "resume": ({"paused"}, "queued"),
}


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(random.choices(ALPHABET, k=length))


@dataclass
class StoredFile:
    info: dict[str, Any]
    content: bytes


@dataclass
class Job:
    """A job's public object in `data`, and the script that moves it on."""

    data: dict[str, Any]
    outcome: str
    step_seconds: float
    steps_per_epoch: int
    trained_tokens: int
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[tuple[float, float]] = field(default_factory=list)
    webhook_attempts: list[dict[str, Any]] = field(default_factory=list)
    step: int = 0
    next_at: float | None = None
    started: bool = False
    vanished: bool = False

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def status(self) -> str:
        return self.data["status"]

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.data["hyperparameters"]["n_epochs"]


def resolve_method(body: dict[str, Any]) -> dict[str, Any]:
    """The job's `method`, with "auto" hyperparameters replaced by numbers and given ones kept."""
    method = body.get("method") or {"type": "supervised"}
    kind = method.get("type", "supervised")
    settings = method.get(kind) or {}
    given = settings.get("hyperparameters") or body.get("hyperparameters") or {}
    resolved = {**given, **{key: value for key, value in AUTO.items() if given.get(key, "auto") == "auto"}}
    return {"type": kind, kind: {**settings, "hyperparameters": resolved}}


class Upstream:
    """Files and jobs. `advance` moves every job whose next step is due; `on_finish` hears of each job
    that ends succeeded, failed or cancelled."""

    def __init__(
        self,
        *,
        step_seconds: float,
        validate_seconds: float,
        queue_seconds: float,
        org_slug: str,
        on_finish: Callable[[Job], None],
    ) -> None:
        self.step_seconds = step_seconds
        self.validate_seconds = validate_seconds
        self.queue_seconds = queue_seconds
        self.org_slug = org_slug
        self.on_finish = on_finish
        self.organization_id = random_id("org-")
        self.reset()

    def reset(self) -> None:
        self.files: dict[str, StoredFile] = {}
        self.jobs: dict[str, Job] = {}
        self.models: set[str] = set()
        self.scheduled: dict[str, Job] = {}
        # job id -> how long after start_clock its next step comes
        self.stopped: dict[str, float] = {}
        self.files_uploaded = 0
        self.losing_uploads = False
        # last user message -> what every model answers to it (others are echoed)
        self.answers: dict[str, str] = {}

    @property
    def jobs_created(self) -> int:
        return len(self.jobs)

    def upload(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        """Store the file, or, while `losing_uploads`, answer as if and forget it at once."""
        self.files_uploaded += 1
        info = self.add_file(filename, purpose, content)
        if self.losing_uploads:
            del self.files[info["id"]]
        return info

    def add_file(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        info = {
            "object": "file",
            "id": random_id("file-"),
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        self.files[info["id"]] = StoredFile(info, content)
        return info

    def file(self, file_id: str) -> StoredFile:
        if file_id not in self.files:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return self.files[file_id]

    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.vanished:
            raise job_not_found(job_id)
        return job

    def create_job(self, body: dict[str, Any]) -> Job:
        if not isinstance(body.get("model"), str):
            raise ApiError(400, "Missing required parameter: 'model'.", param="model")
        training = self.files.get(body.get("training_file"))
        if training is None:
            raise ApiError(400, f"invalid training_file: {body.get('training_file')}", param="training_file")
        validation_file = body.get("validation_file")
        if validation_file is not None and validation_file not in self.files:
            raise ApiError(400, f"invalid validation_file: {validation_file}", param="validation_file")
        metadata = body.get("metadata")
        outcome = (metadata or {}).get("fake_outcome", "succeed")
        if outcome not in OUTCOMES:
            raise ApiError(400, f"fake_outcome must be one of {sorted(OUTCOMES)}", param="metadata")
        method = resolve_method(body)
        hyperparameters = {key: method[method["type"]]["hyperparameters"][key] for key in AUTO}
        n_examples = sum(1 for line in training.content.splitlines() if line.strip())
        job = Job(
            data={
                "object": "fine_tuning.job",
                "id": random_id("ftjob-"),
                "model": body.get("model"),
                "created_at": int(time.time()),
                "finished_at": None,
                "fine_tuned_model": None,
                "organization_id": self.organization_id,
                "result_files": [],
                "status": "validating_files",
                "validation_file": validation_file,
                "training_file": training.info["id"],
                "hyperparameters": hyperparameters,
                "trained_tokens": None,
                "error": None,
                "user_provided_suffix": body.get("suffix"),
                "seed": body["seed"] if body.get("seed") is not None else random.randrange(2**31),
                "estimated_finish": None,
                "integrations": body.get("integrations") or [],
                "metadata": metadata,
                "method": method,
            },
            outcome=outcome,
            step_seconds=float((metadata or {}).get("fake_step_seconds", self.step_seconds)),
            steps_per_epoch=max(1, math.ceil(n_examples / hyperparameters["batch_size"])),
            trained_tokens=max(1, training.info["bytes"] // 4) * hyperparameters["n_epochs"],
        )
        self.jobs[job.id] = job
        self._emit(job, f"Created fine-tuning job: {job.id}", {})
        validating = f"Validating training file: {job.data['training_file']}"
        if validation_file:
            validating += f" and validation file: {validation_file}"
        self._emit(job, validating, {})
        self._schedule(job, self.validate_seconds)
        return job

    def act(self, job_id: str, action: str) -> Job:
        """Cancel, pause or resume a job, or refuse with 400 invalid_state."""
        job = self.job(job_id)
        allowed, target = ACTIONS[action]
        if job.status not in allowed:
            raise ApiError(
                400,
                f"Cannot {action} a job with status '{job.status}'.",
                param="fine_tuning_job_id",
                code="invalid_state",
            )
        self._unschedule(job)
        job.data.update(status=target, estimated_finish=None)
        if action == "cancel":
            self._emit(job, "Fine tuning process stopping due to job cancellation", None, level="warn")
            self._finish(job)
        elif action == "pause":
            self._emit(job, "Fine-tuning job paused", {})
        else:
            self._emit(job, "Fine-tuning job resumed", {})
            self._schedule(job, self.queue_seconds)
        return job

    def stop_clock(self, job_id: str) -> None:
        """The job takes no step until `start_clock`, its status unchanged (a test's pause, not
        the API's)."""
        job = self.job(job_id)
        if job.next_at is not None:
            self.stopped[job_id] = job.next_at - time.monotonic()
            self._unschedule(job)

    def start_clock(self, job_id: str) -> None:
        """The job's next step comes as long after now as it was due after `stop_clock`."""
        if (delay := self.stopped.pop(job_id, None)) is not None:
            self._schedule(self.job(job_id), max(0.0, delay))

    def advance(self, now: float) -> None:
        """Take every step that is due by `now` (a time.monotonic() reading)."""
        for job in list(self.scheduled.values()):
            while job.next_at is not None and job.next_at <= now:
                self._transition(job)

    def _transition(self, job: Job) -> None:
        if job.status == "validating_files":
            job.data["status"] = "queued"
            self._emit(job, "Files validated, moving job to queued state", {})
            self._schedule(job, self.queue_seconds)
        elif job.status == "queued":
            remaining = (job.total_steps - job.step) * job.step_seconds
            job.data.update(status="running", estimated_finish=int(time.time() + remaining))
            if not job.started:
                job.started = True
                self._emit(job, "Fine-tuning job started", None)
            self._schedule(job, job.step_seconds)
        else:
            self._step(job)

    def _step(self, job: Job) -> None:
        job.step += 1
        step, total = job.step, job.total_steps
        loss = round(2.0 / (1 + 3 * (step - 1) / total), 5)
        accuracy = round(0.5 + 0.45 * step / total, 5)
        job.metrics.append((loss, accuracy))
        data = {"step": step, "train_loss": loss, "total_steps": total, "train_mean_token_accuracy": accuracy}
        self._emit(job, f"Step {step}/{total}: training loss={loss:.2f}", data, type="metrics")
        if job.outcome == "fail" and step >= min(2, total):
            self._fail(job)
        elif job.outcome == "vanish" and step >= min(2, total):
            self._vanish(job)
        elif step == total:
            self._succeed(job)
        else:
            if step % job.steps_per_epoch == 0:
                self._add_checkpoint(job, f"{self._model_name(job)}:ckpt-step-{step}")
            self._schedule(job, job.step_seconds)

    def _succeed(self, job: Job) -> None:
        name = self._model_name(job)
        self._add_checkpoint(job, name)
        rows = "".join(f"{step},{loss},{acc},,\n" for step, (loss, acc) in enumerate(job.metrics, 1))
        results = self.add_file(
            "step_metrics.csv", "fine-tune-results", base64.b64encode(CSV_HEADER.encode() + rows.encode())
        )
        job.data.update(
            status="succeeded",
            fine_tuned_model=name,
            trained_tokens=job.trained_tokens,
            result_files=[results["id"]],
            estimated_finish=None,
        )
        self.models.add(name)
        for checkpoint in job.checkpoints[:-1]:
            snapshot = checkpoint["fine_tuned_model_checkpoint"]
            self._emit(
                job,
                f"Checkpoint created at step {checkpoint['step_number']} with Snapshot ID: {snapshot}",
                {},
            )
        self._emit(job, f"New fine-tuned model created: {name}", {})
        self._emit(job, "The job has successfully completed", {})
        self._finish(job)

    def _fail(self, job: Job) -> None:
        job.data.update(status="failed", error=dict(FAILURE), estimated_finish=None)
        data = {"error_code": FAILURE["code"], "error_param": FAILURE["param"]}
        self._emit(job, FAILURE["message"], data, level="error")
        self._finish(job)

    def _vanish(self, job: Job) -> None:
        job.vanished = True
        self._unschedule(job)

    def _finish(self, job: Job) -> None:
        job.data["finished_at"] = int(time.time())
        self._unschedule(job)
        self.on_finish(job)

    def _model_name(self, job: Job) -> str:
        suffix = job.data["user_provided_suffix"] or ""
        return f"ft:{job.data['model']}:{self.org_slug}:{suffix}:{random_id('', 8)}"

    def _add_checkpoint(self, job: Job, name: str) -> None:
        loss, accuracy = job.metrics[-1]
        job.checkpoints.append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": random_id("ftckpt_"),
                "created_at": int(time.time()),
                "fine_tuned_model_checkpoint": name,
                "fine_tuning_job_id": job.id,
                "step_number": job.step,
                "metrics": {
                    "step": float(job.step),
                    "train_loss": loss,
                    "train_mean_token_accuracy": accuracy,
                },
            }
        )
        del job.checkpoints[:-KEPT_CHECKPOINTS]

    def _emit(self, job: Job, message: str, data: Any, *, level: str = "info", type: str = "message") -> None:
        if job.outcome == "silent" and type == "message":
            return
        now = time.time()
        job.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": random_id("ftevent-"),
                "created_at": int(now),
                "level": level,
                "message": message,
                "data": data,
                "type": type,
                "emitted_at": now,
            }
        )

    def _schedule(self, job: Job, delay: float) -> None:
        """Make the job's next transition due `delay` after the last one (or after now)."""
        job.next_at = (time.monotonic() if job.next_at is None else job.next_at) + delay
        self.scheduled[job.id] = job

    def _unschedule(self, job: Job) -> None:
        job.next_at = None
        self.scheduled.pop(job.id, None)
