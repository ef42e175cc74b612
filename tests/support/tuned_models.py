"""A finished local fine-tuning job written straight into the database, with LoRA adapters made
on the spot where the local trainer saves them (`gateway.artifacts`). No training runs, so no
background trainer can race the test: the job is born `succeeded`."""

import time
from dataclasses import dataclass
from pathlib import Path

from gateway import artifacts, ids
from gateway.fine_tuning.status import JobStatus
from gateway.models import Job, JobCheckpoint
from gateway.projects import find_caller, hash_key
from gateway.runtime import build_runtime
from gateway.settings import Settings
from tests.support.blocking import wait_for


@dataclass(frozen=True)
class TunedModel:
    job_id: str
    name: str
    checkpoints: dict[int, str]  # step -> checkpoint model name


def make_adapter(base: Path, dest: Path, seed: int) -> Path:
    """A LoRA adapter with random (not zero) B matrices, so that it changes the base's answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(dest)
    return dest


def seed_tuned_model(
    settings: Settings,
    api_key: str,
    base: str,
    base_path: Path | None,
    steps: list[int],
    suffix: str = "chat",
    provider: str = "local",
) -> TunedModel:
    """A succeeded job of the key's project on `base`, its final adapter and one per step; an
    upstream's job (`provider`, `base_path` None) has its weights at the upstream, none here."""
    job_id = ids.new_job_id()
    name = f"ft:{base}:seeded:{suffix}:{ids.random_base62(8)}"
    checkpoints = {step: f"{name}:ckpt-step-{step}" for step in steps}
    wait_for(_insert(settings, api_key, job_id, base, name, checkpoints, provider))
    assert settings.artifacts_dir is not None
    if base_path is None:
        return TunedModel(job_id=job_id, name=name, checkpoints=checkpoints)
    make_adapter(base_path, artifacts.model_dir(settings.artifacts_dir, job_id), seed=1)
    for step in steps:
        make_adapter(
            base_path, artifacts.checkpoint_dir(settings.artifacts_dir, job_id, step), seed=100 + step
        )
    return TunedModel(job_id=job_id, name=name, checkpoints=checkpoints)


async def _insert(
    settings: Settings,
    api_key: str,
    job_id: str,
    base: str,
    name: str,
    checkpoints: dict[int, str],
    provider: str,
) -> None:
    runtime = build_runtime(settings, lambda *_: None)
    now = int(time.time())
    try:
        async with runtime.transaction() as session:
            caller = await find_caller(session, hash_key(api_key))
            assert caller is not None, "unknown api key"
            session.add(
                Job(
                    id=job_id,
                    project_id=caller.project_id,
                    organization_id=caller.organization_id,
                    model=base,
                    base_model=base,
                    training_file="file-" + ids.random_base62(22),
                    validation_file=None,
                    status=JobStatus.SUCCEEDED,
                    created_at=now,
                    updated_at=now,
                    finished_at=now,
                    estimated_finish=None,
                    fine_tuned_model=name,
                    fine_tuned_model_deleted_at=None,
                    trained_tokens=1234,
                    error=None,
                    method={
                        "type": "supervised",
                        "supervised": {
                            "hyperparameters": {
                                "batch_size": 1,
                                "learning_rate_multiplier": 1.0,
                                "n_epochs": 1,
                            }
                        },
                    },
                    seed=42,
                    suffix=None,
                    integrations=[],
                    user_metadata=None,
                    result_files=[],
                    provider=provider,
                    upstream_id=None if provider == "local" else "ftjob-upstream" + ids.random_base62(8),
                )
            )
            await session.flush()
            for step, checkpoint in checkpoints.items():
                session.add(
                    JobCheckpoint(
                        id=ids.new_checkpoint_id(),
                        job_id=job_id,
                        created_at=now,
                        fine_tuned_model_checkpoint=checkpoint,
                        step_number=step,
                        metrics={"step": float(step), "train_loss": 1.0 / step},
                    )
                )
    finally:
        await runtime.close()
