"""Checkpoint rows, whoever made the checkpoint (the local trainer or an upstream)."""

import time
from typing import Any

from gateway import ids
from gateway.models import JobCheckpoint


def checkpoint_metrics(data: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in data.items() if key != "total_steps" and value is not None}


def checkpoint_row(
    job_id: str, step: int, name: str, data: dict[str, Any], created_at: int | None = None
) -> JobCheckpoint:
    return JobCheckpoint(
        id=ids.new_checkpoint_id(),
        job_id=job_id,
        created_at=created_at if created_at is not None else int(time.time()),
        fine_tuned_model_checkpoint=name,
        step_number=step,
        metrics=checkpoint_metrics(data),
    )
