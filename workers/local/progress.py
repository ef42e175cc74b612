"""The local trainer's record in the database: status changes, metrics events, checkpoints, the
tokens trained, the finished model. Steps are keyed so that a job resumed after a crash records
and counts each step once."""

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import artifacts, db
from gateway.fine_tuning import events, lifecycle, repository
from gateway.fine_tuning.checkpoints import checkpoint_row
from gateway.fine_tuning.job_error import JobError
from gateway.fine_tuning.status import TRAINING, JobStatus
from gateway.models import Job, Project
from gateway.observability.metrics import TRAINED_TOKENS
from gateway.runtime import Runtime
from training.trainer import StepMetrics
from workers.local import results

KEPT_CHECKPOINTS = 3
RESUMED_PREFIX = "Training resumed from "
MAX_WORKER_LOSSES = 5


def step_key(step: int) -> str:
    return f"step-{step}"


def metrics_data(metrics: StepMetrics) -> dict[str, Any]:
    data: dict[str, Any] = {
        "step": metrics.step,
        "train_loss": metrics.train_loss,
        "total_steps": metrics.total_steps,
        "train_mean_token_accuracy": metrics.train_mean_token_accuracy,
    }
    if metrics.valid_loss is not None:
        data |= {
            "valid_loss": metrics.valid_loss,
            "valid_mean_token_accuracy": metrics.valid_mean_token_accuracy,
        }
    if metrics.full_valid_loss is not None:
        data |= {
            "full_valid_loss": metrics.full_valid_loss,
            "full_valid_mean_token_accuracy": metrics.full_valid_mean_token_accuracy,
        }
    return data


def metrics_message(metrics: StepMetrics) -> str:
    text = f"Step {metrics.step}/{metrics.total_steps}: training loss={metrics.train_loss:.2f}"
    if metrics.valid_loss is not None:
        text += f", validation loss={metrics.valid_loss:.2f}"
    if metrics.full_valid_loss is not None:
        text += f", full validation loss={metrics.full_valid_loss:.2f}"
    return text


async def org_slug(session: AsyncSession, job: Job) -> str:
    project = await session.get(Project, job.project_id)
    assert project is not None
    return project.slug


async def start(runtime: Runtime, job_id: str, resumed_step: int | None) -> bool:
    """Move the job to running. False when it is no longer queued or running (say, cancelled), or
    when its workers died too often on it: a job that kills its worker (out of memory, say) fails
    rather than being retried forever."""
    async with runtime.transaction() as session:
        job = await repository.get_any(session, job_id)
        if job is None or job.status not in TRAINING:
            return False
        crashed = job.status == JobStatus.RUNNING
        if job.status == JobStatus.QUEUED and not await lifecycle.start(session, job_id):
            return False
        if not crashed:
            if resumed_step is None:
                events.add(session, job_id, events.STARTED)
            return True
        if await repository.count_events(session, job_id, RESUMED_PREFIX) >= MAX_WORKER_LOSSES:
            error = JobError(
                "training_failed",
                f"Training stopped: its worker died {MAX_WORKER_LOSSES + 1} times while "
                "running this job (out of memory?).",
            )
            await lifecycle.fail(session, job_id, TRAINING, error)
            return False
        where = f"step {resumed_step}" if resumed_step else "the beginning"
        events.add(session, job_id, f"{RESUMED_PREFIX}{where} after its worker stopped")
    return True


async def fail(runtime: Runtime, job_id: str, error: JobError) -> None:
    async with runtime.transaction() as session:
        await lifecycle.fail(session, job_id, TRAINING, error)


@dataclass
class Recorder:
    """Records each step as soon as it is trained: its metrics event, its checkpoint and the tokens
    it trained, in one transaction, and only while the job is still running. A step that ends after
    a cancel or a pause is not recorded, so nothing follows the stop event; each write tells the
    trainer the job's current status."""

    runtime: Runtime
    job: Job
    total_steps: int
    known_keys: set[str]
    known_checkpoints: set[int]
    first_step: int
    latest_step: int = 0
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    async def open(
        cls, runtime: Runtime, job: Job, total_steps: int, known_keys: set[str], first_step: int
    ) -> "Recorder":
        async with runtime.sessions() as session:
            steps = {checkpoint.step_number for checkpoint in await repository.checkpoints(session, job.id)}
        return cls(runtime, job, total_steps, known_keys, steps, first_step, latest_step=first_step)

    async def record(self, metrics: StepMetrics, checkpoint_name: str | None = None) -> tuple[str, bool]:
        """(the job's status, whether the step is recorded). A step recorded before (replayed after
        a worker died) is neither recorded nor counted again."""
        key = step_key(metrics.step)
        async with self.runtime.transaction() as session:
            if key in self.known_keys:
                return str(await repository.status_of(session, self.job.id)), True
            if not await repository.transition(
                session,
                self.job.id,
                [JobStatus.RUNNING],
                steps_trained_tokens=Job.steps_trained_tokens + metrics.tokens,
                estimated_finish=self._estimated_finish(metrics.step),
            ):
                return str(await repository.status_of(session, self.job.id)), False
            event = events.add(
                session, self.job.id, metrics_message(metrics), data=metrics_data(metrics), type="metrics"
            )
            event.upstream_event_id = key
            if checkpoint_name is not None and metrics.step not in self.known_checkpoints:
                session.add(checkpoint_row(self.job.id, metrics.step, checkpoint_name, metrics_data(metrics)))
                await self.prune_checkpoints(session)
        self.known_keys.add(key)
        TRAINED_TOKENS.labels(self.job.base_model).inc(metrics.tokens)
        if checkpoint_name is not None:
            self.known_checkpoints.add(metrics.step)
        self.latest_step = metrics.step
        return JobStatus.RUNNING, True

    async def prune_checkpoints(self, session: AsyncSession) -> None:
        """OpenAI keeps the checkpoints of the last 3 epochs; so do we, rows and adapters."""
        await session.flush()
        kept = await repository.checkpoints(session, self.job.id)
        for old in kept[:-KEPT_CHECKPOINTS]:
            await session.delete(old)
            name = artifacts.checkpoint_name(self.job.id, old.step_number)
            db.after_commit(session, lambda name=name: self.runtime.folders.remove(name))

    def _estimated_finish(self, step: int) -> int | None:
        done = step - self.first_step
        if done <= 0:
            return None
        per_step = (time.monotonic() - self.started_at) / done
        return int(time.time() + per_step * (self.total_steps - step))


async def succeed(recorder: Recorder, model_name: str, trained_tokens: int) -> bool:
    """Record the finished model in one transaction, as OpenAI shows it: the non-final kept
    checkpoints announced, the final checkpoint named after the model, the results file.
    False when the job stopped running meanwhile (a cancel won)."""
    runtime, job = recorder.runtime, recorder.job
    async with runtime.transaction() as session:
        if not await lifecycle.succeed(
            session, job.id, [JobStatus.RUNNING], fine_tuned_model=model_name, trained_tokens=trained_tokens
        ):
            return False
        all_metrics = await repository.metrics_data(session, job.id)
        result_file = await results.store_results(session, runtime.blobs, job, all_metrics)
        await repository.transition(session, job.id, [JobStatus.SUCCEEDED], result_files=[result_file])
        final = all_metrics[-1]
        session.add(checkpoint_row(job.id, int(final["step"]), model_name, final))
        await recorder.prune_checkpoints(session)
        for checkpoint in await repository.checkpoints(session, job.id):
            if checkpoint.fine_tuned_model_checkpoint != model_name:
                events.add(
                    session,
                    job.id,
                    f"Checkpoint created at step {checkpoint.step_number} with Snapshot ID: "
                    f"{checkpoint.fine_tuned_model_checkpoint}",
                )
        events.add(session, job.id, f"{events.MODEL_CREATED_PREFIX}{model_name}")
        events.add(session, job.id, events.SUCCEEDED)
    return True
