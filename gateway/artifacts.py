"""Where the local trainer keeps a job's files: resumable training states, checkpoint adapters
and the final adapter, each a folder named by its path under the artifacts folder. Workers write
here and gateways read: through a shared folder, or published to the bucket and fetched into a
local cache (`runtime.folders`, `gateway.storage.folders`)."""

import shutil
from pathlib import Path

from gateway.storage.folders import FolderStore

# The training state published for another node to resume from (S3 storage).
PUBLISHED_STATE = "states/latest"


def job_dir(artifacts_dir: Path, job_id: str) -> Path:
    return artifacts_dir / job_id


def model_name(job_id: str) -> str:
    """The fine-tuned model's adapter (a PEFT folder)."""
    return f"{job_id}/model"


def checkpoint_name(job_id: str, step: int) -> str:
    """A checkpoint's adapter (a PEFT folder), servable like the final model."""
    return f"{job_id}/checkpoints/step-{step}"


def published_state_name(job_id: str) -> str:
    return f"{job_id}/{PUBLISHED_STATE}"


def model_dir(artifacts_dir: Path, job_id: str) -> Path:
    return artifacts_dir / model_name(job_id)


def checkpoint_dir(artifacts_dir: Path, job_id: str, step: int) -> Path:
    return artifacts_dir / checkpoint_name(job_id, step)


def states_dir(artifacts_dir: Path, job_id: str) -> Path:
    """Resumable training states, one folder per step: `state-{step}`."""
    return job_dir(artifacts_dir, job_id) / "states"


def remove_states(artifacts_dir: Path, folders: FolderStore, job_id: str) -> None:
    """The job's training states, here and where they were published."""
    shutil.rmtree(states_dir(artifacts_dir, job_id), ignore_errors=True)
    folders.remove(published_state_name(job_id))


def jobs_with_states(artifacts_dir: Path, folders: FolderStore) -> list[str]:
    """The jobs with a training state, here or published."""
    here = (states.parent.name for states in artifacts_dir.glob("*/states"))
    published = (name.split("/")[0] for name in folders.published("/" + PUBLISHED_STATE))
    return sorted({*here, *published})
