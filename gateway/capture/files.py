"""The capture's two files, normal ftgate files (a StoredFile row and a blob) that grow one line
at a time. An append writes a new blob, the old content plus the line, under a key of its own
(`{file id}.{lines}`), and points the row at it in the caller's transaction: a reader sees the
file before or after the line, never part of it. The blob before the previous one is deleted
after the commit, so that a reader that has just read the row still finds its blob."""

import hashlib
import time
from dataclasses import dataclass

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import db, ids
from gateway.files import repository as files_repository
from gateway.files.purposes import FINE_TUNE
from gateway.models import Capture, StoredFile, UpstreamFile
from gateway.storage.base import BlobStore

EVALS = "evals"
COPY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """Which of the capture's files a line goes to."""

    held_out: bool

    def file_id(self, capture: Capture) -> str | None:
        return capture.held_out_file_id if self.held_out else capture.training_file_id

    def lines(self, capture: Capture) -> int:
        return capture.held_out_examples if self.held_out else capture.training_examples

    @property
    def purpose(self) -> str:
        return EVALS if self.held_out else FINE_TUNE

    def filename(self, model: str) -> str:
        name = "capture-" + model.replace("/", "_")
        return f"{name}-held-out.jsonl" if self.held_out else f"{name}.jsonl"


async def current(session: AsyncSession, capture: Capture, target: Target) -> StoredFile | None:
    """The file the capture grows, unless it was never made or has been deleted since."""
    file_id = target.file_id(capture)
    if file_id is None:
        return None
    return await files_repository.get(session, capture.project_id, file_id, int(time.time()))


def new_file(session: AsyncSession, capture: Capture, target: Target) -> StoredFile:
    stored = StoredFile(
        id=ids.new_file_id(),
        project_id=capture.project_id,
        key_id=None,
        filename=target.filename(capture.model),
        purpose=target.purpose,
        bytes=0,
        created_at=int(time.time()),
        expires_at=None,
        status="processed",
        status_details=None,
        blob_key="",
        sha256=hashlib.sha256().hexdigest(),
        validation=None,
    )
    session.add(stored)
    return stored


async def append(
    session: AsyncSession, blobs: BlobStore, stored: StoredFile, line: bytes, lines_after: int
) -> None:
    """Add `line` to the file, which then has `lines_after` lines."""
    old_key = stored.blob_key or None
    new_key = f"{stored.id}.{lines_after}"
    size, sha256 = await anyio.to_thread.run_sync(_write, blobs, old_key, new_key, line)
    stored.blob_key, stored.bytes, stored.sha256 = new_key, size, sha256
    # Its copies at upstreams hold the old content.
    await session.execute(UpstreamFile.__table__.delete().where(UpstreamFile.file_id == stored.id))
    if lines_after > 2:
        db.after_commit(session, lambda: blobs.delete(f"{stored.id}.{lines_after - 2}"))


def _write(blobs: BlobStore, old_key: str | None, new_key: str, line: bytes) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    writer = blobs.writer(new_key)
    try:
        if old_key is not None:
            with blobs.open(old_key) as old:
                while chunk := old.read(COPY_BYTES):
                    writer.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        writer.write(line)
        digest.update(line)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return size + len(line), digest.hexdigest()
