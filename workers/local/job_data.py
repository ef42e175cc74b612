"""What the local trainer needs from a job: its examples and its training configuration."""

import json
import time
from pathlib import Path
from typing import Any

import anyio

from gateway.catalog import BaseModelSpec
from gateway.files import repository as files_repository
from gateway.fine_tuning.hyperparameters import method_hyperparameters
from gateway.models import Job
from gateway.runtime import Runtime
from gateway.storage.base import BlobStore
from training.trainer import TrainingConfig


class MissingTrainingFile(Exception):
    def __init__(self, kind: str, file_id: str) -> None:
        super().__init__(f"The job failed because the {kind} file {file_id} no longer exists.")
        self.kind = kind


async def read_examples(runtime: Runtime, job: Job, file_id: str, kind: str) -> list[dict[str, Any]]:
    async with runtime.sessions() as session:
        stored = await files_repository.get(session, job.project_id, file_id, int(time.time()))
    if stored is None:
        raise MissingTrainingFile(kind, file_id)
    try:
        # Files run to hundreds of MB: parse them off the event loop.
        return await anyio.to_thread.run_sync(_parse_lines, runtime.blobs, stored.blob_key)
    except FileNotFoundError as missing:
        raise MissingTrainingFile(kind, file_id) from missing


def _parse_lines(blobs: BlobStore, key: str) -> list[dict[str, Any]]:
    with blobs.open(key) as content:
        return [json.loads(line) for line in content if line.strip()]


def training_config(
    job: Job, spec: BaseModelSpec, device: str, init_adapter: Path | None, *, liger: bool = False
) -> TrainingConfig:
    assert spec.path is not None
    values = method_hyperparameters(job.method)
    return TrainingConfig(
        model_dir=Path(spec.path),
        method=job.method["type"],
        n_epochs=int(values["n_epochs"]),
        batch_size=int(values["batch_size"]),
        learning_rate=spec.learning_rate * float(values["learning_rate_multiplier"]),
        seed=job.seed,
        beta=float(values.get("beta", 0.1)),
        device=device,
        init_adapter=init_adapter,
        liger=liger,
    )
