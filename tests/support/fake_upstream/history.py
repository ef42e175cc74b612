"""A fine-tuning history made at once rather than lived: the jobs an organisation that has used
OpenAI for a while holds, in every status, with their events, checkpoints, result files and
training files (whose content the upstream refuses to serve, as OpenAI does)."""

import base64
import json
import time
from typing import Any

from .lifecycle import AUTO, CSV_HEADER, FAILURE, Job, Upstream, random_id

DAY = 86400
STEPS_PER_EPOCH = 4
# status -> the steps a job in it has taken (a succeeded job: all of them)
STEPS = {"running": 6, "failed": 2, "cancelled": 3}


def training_content(name: str, examples: int) -> bytes:
    lines = [
        {
            "messages": [
                {"role": "system", "content": f"You are {name}."},
                {"role": "user", "content": f"Question {i} for {name}?"},
                {"role": "assistant", "content": f"Answer {i} from {name}."},
            ]
        }
        for i in range(examples)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def add_job(
    upstream: Upstream,
    status: str,
    *,
    name: str,
    created_at: int,
    steps_per_epoch: int = STEPS_PER_EPOCH,
    validation: bool = False,
    metadata: dict[str, str] | None = None,
    model: str = "gpt-4o-mini-2024-07-18",
) -> Job:
    """A job in `status` as it would stand there, its events and checkpoints dated from `created_at`."""
    training = upstream.add_file(f"{name}.jsonl", "fine-tune", training_content(name, steps_per_epoch))
    training["created_at"] = created_at - 60
    validation_file = None
    if validation:
        checked = upstream.add_file(f"{name}-valid.jsonl", "fine-tune", training_content(name + " check", 2))
        checked["created_at"] = created_at - 60
        validation_file = checked["id"]
    method = {"type": "supervised", "supervised": {"hyperparameters": dict(AUTO)}}
    job = Job(
        data={
            "object": "fine_tuning.job",
            "id": random_id("ftjob-"),
            "model": model,
            "created_at": created_at,
            "finished_at": None,
            "fine_tuned_model": None,
            "organization_id": upstream.organization_id,
            "result_files": [],
            "status": status,
            "validation_file": validation_file,
            "training_file": training["id"],
            "hyperparameters": dict(AUTO),
            "trained_tokens": None,
            "error": None,
            "user_provided_suffix": name,
            "seed": created_at % 10_000,
            "estimated_finish": None,
            "integrations": [],
            "metadata": metadata,
            "method": method,
        },
        outcome="succeed",
        step_seconds=0.0,
        steps_per_epoch=steps_per_epoch,
        trained_tokens=training["bytes"] // 4 * AUTO["n_epochs"],
    )
    upstream.jobs[job.id] = job
    clock = _Clock(created_at)
    emit(job, clock, f"Created fine-tuning job: {job.id}", {})
    emit(job, clock, f"Validating training file: {training['id']}", {})
    if status != "validating_files":
        emit(job, clock, "Files validated, moving job to queued state", {})
    if status in ("validating_files", "queued"):
        return job
    emit(job, clock, "Fine-tuning job started", None)
    add_steps(upstream, job, STEPS.get(status, job.total_steps), clock)
    if status == "succeeded":
        _succeed(upstream, job, clock)
    elif status == "failed":
        job.data.update(status="failed", error=dict(FAILURE), finished_at=clock.tick())
        emit(job, clock, FAILURE["message"], {"error_code": FAILURE["code"], "error_param": None}, "error")
    elif status == "cancelled":
        job.data.update(status="cancelled", finished_at=clock.tick())
        emit(job, clock, "Fine tuning process stopping due to job cancellation", None, "warn")
    else:
        job.data["status"] = status
    return job


def add_steps(upstream: Upstream, job: Job, steps: int, clock: "_Clock | None" = None) -> None:
    """`steps` more training steps: a metrics event each, a checkpoint at each epoch's end."""
    clock = clock or _Clock(max([event["created_at"] for event in job.events] + [int(time.time())]))
    total = job.total_steps
    for _ in range(steps):
        job.step += 1
        loss = round(2.0 / (1 + 3 * (job.step - 1) / total), 5)
        accuracy = round(0.5 + 0.45 * min(job.step, total) / total, 5)
        job.metrics.append((loss, accuracy))
        data = {
            "step": job.step,
            "train_loss": loss,
            "total_steps": total,
            "train_mean_token_accuracy": accuracy,
        }
        emit(job, clock, f"Step {job.step}/{total}: training loss={loss:.2f}", data, type="metrics")
        if job.step % job.steps_per_epoch == 0 and job.step < total:
            _checkpoint(upstream, job, clock, f"{_model_name(upstream, job)}:ckpt-step-{job.step}")


def _succeed(upstream: Upstream, job: Job, clock: "_Clock") -> None:
    name = _model_name(upstream, job)
    _checkpoint(upstream, job, clock, name)
    rows = "".join(f"{step},{loss},{acc},,\n" for step, (loss, acc) in enumerate(job.metrics, 1))
    results = upstream.add_file(
        "step_metrics.csv", "fine-tune-results", base64.b64encode((CSV_HEADER + rows).encode())
    )
    results["created_at"] = clock.tick()
    job.data.update(
        status="succeeded",
        fine_tuned_model=name,
        trained_tokens=job.trained_tokens,
        result_files=[results["id"]],
        finished_at=clock.tick(),
    )
    upstream.models.add(name)
    for checkpoint in job.checkpoints[:-1]:
        snapshot = checkpoint["fine_tuned_model_checkpoint"]
        emit(
            job,
            clock,
            f"Checkpoint created at step {checkpoint['step_number']} with Snapshot ID: {snapshot}",
            {},
        )
    emit(job, clock, f"New fine-tuned model created: {name}", {})
    emit(job, clock, "The job has successfully completed", {})


def _model_name(upstream: Upstream, job: Job) -> str:
    suffix = job.data["user_provided_suffix"] or ""
    return f"ft:{job.data['model']}:{upstream.org_slug}:{suffix}:{job.id[-8:]}"


def _checkpoint(upstream: Upstream, job: Job, clock: "_Clock", name: str) -> None:
    loss, accuracy = job.metrics[-1]
    job.checkpoints.append(
        {
            "object": "fine_tuning.job.checkpoint",
            "id": random_id("ftckpt_"),
            "created_at": clock.tick(),
            "fine_tuned_model_checkpoint": name,
            "fine_tuning_job_id": job.id,
            "step_number": job.step,
            "metrics": {"step": float(job.step), "train_loss": loss, "train_mean_token_accuracy": accuracy},
        }
    )
    upstream.models.add(name)


class _Clock:
    """Event times a few seconds apart from a start."""

    def __init__(self, start: int) -> None:
        self.now = start

    def tick(self) -> int:
        self.now += 7
        return self.now


def emit(
    job: Job, clock: _Clock, message: str, data: Any, level: str = "info", type: str = "message"
) -> None:
    at = clock.tick()
    job.events.append(
        {
            "object": "fine_tuning.job.event",
            "id": random_id("ftevent-"),
            "created_at": at,
            "level": level,
            "message": message,
            "data": data,
            "type": type,
            "emitted_at": float(at),
        }
    )


def seed(upstream: Upstream) -> dict[str, str]:
    """One job in each status (the succeeded one long enough for several pages of events, with a
    validation file), dated over the last weeks; returns status -> job id."""
    start = int(time.time()) - 30 * DAY
    jobs: dict[str, str] = {}
    plan = [
        ("succeeded", {"steps_per_epoch": 40, "validation": True, "metadata": {"team": "support"}}),
        ("failed", {}),
        ("cancelled", {}),
        ("running", {}),
        ("queued", {}),
        ("validating_files", {}),
    ]
    for index, (status, options) in enumerate(plan):
        job = add_job(
            upstream,
            status,
            name=f"{status.replace('_', '-')}-{index}",
            created_at=start + index * DAY,
            **options,
        )
        jobs[status] = job.id
    return jobs
