"""Where the local trainer keeps a job's files: resumable training states, checkpoint adapters
and the final adapter. Workers write here and gateways read, so in production it is shared
storage, like the blob folder."""

import shutil
from pathlib import Path


def job_dir(artifacts_dir: Path, job_id: str) -> Path:
    return artifacts_dir / job_id


def model_dir(artifacts_dir: Path, job_id: str) -> Path:
    """The fine-tuned model's adapter (a PEFT folder)."""
    return job_dir(artifacts_dir, job_id) / "model"


def checkpoint_dir(artifacts_dir: Path, job_id: str, step: int) -> Path:
    """A checkpoint's adapter (a PEFT folder), servable like the final model."""
    return job_dir(artifacts_dir, job_id) / "checkpoints" / f"step-{step}"


def states_dir(artifacts_dir: Path, job_id: str) -> Path:
    """Resumable training states, one folder per step: `state-{step}`."""
    return job_dir(artifacts_dir, job_id) / "states"


def remove_states(artifacts_dir: Path, job_id: str) -> None:
    shutil.rmtree(states_dir(artifacts_dir, job_id), ignore_errors=True)


def jobs_with_states(artifacts_dir: Path) -> list[str]:
    return [states.parent.name for states in artifacts_dir.glob("*/states")]
