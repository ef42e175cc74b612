"""A job's result files: stored like uploads, with purpose `fine-tune-results`."""

import hashlib
import time

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ids
from gateway.models import StoredFile
from gateway.storage.base import BlobStore

RESULTS_PURPOSE = "fine-tune-results"


async def store(
    session: AsyncSession,
    blobs: BlobStore,
    project_id: str,
    filename: str,
    body: bytes,
    *,
    file_id: str | None = None,
    created_at: int | None = None,
    imported_from: str | None = None,
) -> str:
    """Write the blob now (in a worker thread) and add its row to the session; returns the
    file's id (a new one unless `file_id` is given: an imported file keeps the upstream's)."""
    file_id = file_id or ids.new_file_id()
    await anyio.to_thread.run_sync(_write, blobs, file_id, body)
    session.add(
        StoredFile(
            id=file_id,
            project_id=project_id,
            filename=filename,
            purpose=RESULTS_PURPOSE,
            bytes=len(body),
            created_at=created_at if created_at is not None else int(time.time()),
            expires_at=None,
            status="processed",
            status_details=None,
            blob_key=file_id,
            sha256=hashlib.sha256(body).hexdigest(),
            validation=None,
            imported_from=imported_from,
        )
    )
    return file_id


def _write(blobs: BlobStore, key: str, body: bytes) -> None:
    writer = blobs.writer(key)
    try:
        writer.write(body)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
