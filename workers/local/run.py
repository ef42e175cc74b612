"""The `local` provider's task: train a queued job on this worker, record its progress, and
leave it succeeded, failed, paused (state saved) or cancelled (device freed). A job whose
worker died resumes from its last saved state."""

import dataclasses
import json
import logging
import re
import shutil
from pathlib import Path

import anyio

from gateway import artifacts, ids
from gateway.catalog import resolve_base_model
from gateway.fine_tuning import handoff, repository
from gateway.fine_tuning.job_error import JobError
from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.runtime import Runtime
from gateway.storage.base import StoreUnavailable
from training.trainer import StepMetrics, TrainingDataError
from workers.lease import HANDOFF_SECONDS, hold_lease
from workers.local import progress
from workers.local.job_data import MissingTrainingFile, read_examples, training_config
from workers.local.launch import Trainer, TrainingProcessesLost, open_trainer

log = logging.getLogger(__name__)

STATE_NAME = re.compile(r"state-(\d+)")
UNRECORDED_FILE = "unrecorded-step.json"


async def train_job(runtime: Runtime, job_id: str) -> None:
    async with runtime.sessions() as session:
        job = await repository.get_any(session, job_id)
    # Only a queued job is worth waiting for; a running one has its trainer, and a duplicate
    # message for it (the reconciler's) leaves at once.
    wait = HANDOFF_SECONDS if job is not None and job.status == JobStatus.QUEUED else 0.0
    async with hold_lease(runtime, job_id, wait_seconds=wait) as held:
        if not held:
            log.info("train_job: %s is unknown or another task holds it", job_id)
            return
        async with runtime.training_slots:
            await _train(runtime, job_id)


def latest_state(states: Path) -> tuple[int, Path] | None:
    found = [
        (int(m.group(1)), path) for path in states.glob("state-*") if (m := STATE_NAME.fullmatch(path.name))
    ]
    return max(found, default=None)


async def _train(runtime: Runtime, job_id: str) -> None:
    async with runtime.sessions() as session:
        job = await repository.get_any(session, job_id)
        if (
            job is None
            or not handoff.trained_here(runtime, job.provider)
            or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING)
        ):
            return
        slug = await progress.org_slug(session, job)
        known_keys = await repository.event_keys(session, job_id)
        # Tuning a fine-tuned model continues from its adapter.
        parent = await repository.by_fine_tuned_model(session, job.project_id, job.model)
    init_adapter = (
        await anyio.to_thread.run_sync(runtime.folders.fetch, artifacts.model_name(parent.id))
        if parent
        else None
    )
    spec = resolve_base_model(runtime.catalog, job.base_model)
    if spec is None or spec.path is None or (job.model != job.base_model and init_adapter is None):
        await progress.fail(
            runtime,
            job_id,
            JobError(
                "model_not_available", f"Model {job.model} is no longer available for fine-tuning.", "model"
            ),
        )
        return
    try:
        training = await read_examples(runtime, job, job.training_file, "training")
        validation = (
            await read_examples(runtime, job, job.validation_file, "validation")
            if job.validation_file
            else None
        )
        settings = runtime.settings
        config = training_config(
            job, spec, settings.training_device, init_adapter, liger=settings.training_liger
        )
        trainer = await anyio.to_thread.run_sync(
            open_trainer, config, training, validation, spec.devices_per_job, spec.sharding
        )
    except MissingTrainingFile as missing:
        await progress.fail(
            runtime, job_id, JobError(f"invalid_{missing.kind}_file", str(missing), f"{missing.kind}_file")
        )
        return
    except TrainingDataError as bad:
        message = f"The job failed due to an invalid training file. {bad}"
        await progress.fail(runtime, job_id, JobError("invalid_training_file", message, "training_file"))
        return
    except StoreUnavailable:
        raise  # not the job's fault: it waits, and the reconciler sends it again
    except Exception as error:
        log.exception("could not start training %s", job_id)
        await progress.fail(
            runtime, job_id, JobError("training_failed", f"Training could not start: {error}")
        )
        return
    try:
        await _run(runtime, job, trainer, slug, known_keys)
    except StoreUnavailable:
        raise  # resumed from its last published state once the store is back
    except TrainingProcessesLost as lost:
        # Left running, the job goes back to the reconciler and resumes like a dead worker's.
        log.warning("training %s stopped: %s", job_id, lost)
    except Exception as error:
        log.exception("training %s failed", job_id)
        await progress.fail(runtime, job_id, JobError("training_failed", f"Training failed: {error}"))
    finally:
        await anyio.to_thread.run_sync(trainer.close)


async def _run(runtime, job, trainer: Trainer, slug: str, known_keys: set[str]) -> None:
    root = runtime.settings.artifacts_dir
    states = artifacts.states_dir(root, job.id)
    saved = latest_state(states)
    # A state saved on another node (S3 storage) when this one has none.
    state = (
        saved[1]
        if saved
        else await anyio.to_thread.run_sync(runtime.folders.fetch, artifacts.published_state_name(job.id))
    )
    unrecorded = None
    if state is not None:
        await anyio.to_thread.run_sync(trainer.load_state, state)
        unrecorded = _unrecorded_step(state)
    if not await progress.start(runtime, job.id, trainer.completed_steps if state else None):
        return
    recorder = await progress.Recorder.open(
        runtime, job, trainer.total_steps, known_keys, trainer.completed_steps
    )
    while unrecorded is not None or trainer.completed_steps < trainer.total_steps:
        if unrecorded is not None:  # trained after a pause, before the trainer saw it: recorded now
            metrics, unrecorded = unrecorded, None
        else:
            metrics = await anyio.to_thread.run_sync(trainer.step)
            if metrics.epoch_end:
                # The adapter and the checkpoint's row first, the state to resume from last: a
                # crash in between replays the epoch, whose steps and checkpoint are recorded once.
                folder = artifacts.checkpoint_dir(root, job.id, metrics.step)
                await anyio.to_thread.run_sync(trainer.save_adapter, folder)
                await anyio.to_thread.run_sync(
                    runtime.folders.publish, artifacts.checkpoint_name(job.id, metrics.step), folder
                )
        checkpoint = (
            _checkpoint_name(job, slug, metrics.step)
            if metrics.epoch_end and metrics.step < trainer.total_steps
            else None
        )
        status, recorded = await recorder.record(metrics, checkpoint)
        if status in TERMINAL:  # cancelled (or failed): this step, if it was not recorded, is not billed
            await anyio.to_thread.run_sync(artifacts.remove_states, root, runtime.folders, job.id)
            return
        if status != JobStatus.RUNNING:
            # Paused (or paused and already resumed): the next task continues from this state and
            # records first the step trained after the pause, if any.
            await anyio.to_thread.run_sync(
                _save_state, runtime, job.id, trainer, metrics.step, None if recorded else metrics
            )
            return
        if metrics.epoch_end:
            await anyio.to_thread.run_sync(_save_state, runtime, job.id, trainer, metrics.step, None)
    model_name = ids.fine_tuned_model_name(job.base_model, slug, job.suffix)
    model = artifacts.model_dir(root, job.id)
    await anyio.to_thread.run_sync(trainer.save_adapter, model)
    await anyio.to_thread.run_sync(runtime.folders.publish, artifacts.model_name(job.id), model)
    if await progress.succeed(recorder, model_name, trainer.trained_tokens):
        await anyio.to_thread.run_sync(artifacts.remove_states, root, runtime.folders, job.id)


def _save_state(
    runtime: Runtime, job_id: str, trainer: Trainer, step: int, unrecorded: StepMetrics | None
) -> None:
    """Write the new state beside the old ones, then drop the old: a crash mid-write leaves the
    previous state intact; then publish it. `unrecorded`: the step the state includes but the
    job's record does not."""
    states = artifacts.states_dir(runtime.settings.artifacts_dir, job_id)
    target = states / f"state-{step}"
    partial = states / f".partial-{step}"
    shutil.rmtree(partial, ignore_errors=True)
    trainer.save_state(partial)
    if unrecorded is not None:
        (partial / UNRECORDED_FILE).write_text(json.dumps(dataclasses.asdict(unrecorded)))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    for other in states.glob("state-*"):
        if other != target:
            shutil.rmtree(other, ignore_errors=True)
    runtime.folders.publish(artifacts.published_state_name(job_id), target)


def _unrecorded_step(state: Path) -> StepMetrics | None:
    saved = state / UNRECORDED_FILE
    return StepMetrics(**json.loads(saved.read_text())) if saved.is_file() else None


def _checkpoint_name(job, slug: str, step: int) -> str:
    return f"{ids.fine_tuned_model_name(job.base_model, slug, job.suffix)}:ckpt-step-{step}"
