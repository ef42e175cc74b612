"""The job's `step_metrics.csv` result file: OpenAI's columns, served base64-encoded like OpenAI's."""

import base64
import csv
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.fine_tuning import result_files
from gateway.models import Job
from gateway.storage.base import BlobStore

COLUMNS = ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")
SOURCE_KEYS = ("step", "train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy")


def step_metrics_csv(metrics: list[dict[str, Any]]) -> bytes:
    """One row per step, numbers rounded to 5 decimals, empty cells where nothing was measured."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for data in sorted(metrics, key=lambda item: item["step"]):
        writer.writerow([_cell(data.get(key)) for key in SOURCE_KEYS])
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{round(float(value), 5)}"


async def store_results(
    session: AsyncSession, blobs: BlobStore, job: Job, metrics: list[dict[str, Any]]
) -> str:
    body = base64.b64encode(step_metrics_csv(metrics))
    return await result_files.store(session, blobs, job.project_id, "step_metrics.csv", body)
