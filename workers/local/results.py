"""The job's `step_metrics.csv` result file: OpenAI's columns, served base64-encoded like OpenAI's."""

import base64
import csv
import hashlib
import io
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ids
from gateway.models import Job, StoredFile
from gateway.storage.base import BlobStore

COLUMNS = ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")
SOURCE_KEYS = ("step", "train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy")
RESULTS_PURPOSE = "fine-tune-results"


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


def store_results(session: AsyncSession, blobs: BlobStore, job: Job, metrics: list[dict[str, Any]]) -> str:
    body = base64.b64encode(step_metrics_csv(metrics))
    file_id = ids.new_file_id()
    writer = blobs.writer(file_id)
    writer.write(body)
    writer.commit()
    session.add(
        StoredFile(
            id=file_id,
            project_id=job.project_id,
            filename="step_metrics.csv",
            purpose=RESULTS_PURPOSE,
            bytes=len(body),
            created_at=int(time.time()),
            expires_at=None,
            status="processed",
            status_details=None,
            blob_key=file_id,
            sha256=hashlib.sha256(body).hexdigest(),
            validation=None,
        )
    )
    return file_id
