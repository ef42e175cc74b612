"""Files: the rules between an upload and its row, listing, deletion and content."""

import time
from functools import partial
from typing import Any, BinaryIO

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import db
from gateway.errors import InvalidRequest, NotFound
from gateway.files import purposes, repository
from gateway.files.upload import ReceivedUpload
from gateway.models import StoredFile
from gateway.pagination import fetch_page, resolve_after
from gateway.projects import Caller
from gateway.storage.base import BlobStore

# The `sha256` of an imported file whose content ftgate does not have yet.
NO_CONTENT = ""


def not_found(file_id: str) -> NotFound:
    return NotFound(f"No such File object: {file_id}", param="id")


def has_content(stored: StoredFile) -> bool:
    return stored.sha256 != NO_CONTENT


def content_missing(stored: StoredFile, param: str) -> InvalidRequest:
    return InvalidRequest(
        f"File {stored.id} was imported from {stored.imported_from} without its content (OpenAI does "
        "not allow downloading fine-tune files). Supply it with `ftgate openai import --training-files DIR`.",
        param=param,
        code="file_content_missing",
    )


def add_uploaded(
    session: AsyncSession, caller: Caller, *, file_id: str, upload: ReceivedUpload
) -> StoredFile:
    purpose, expires_in = purposes.check_fields(upload.fields, upload.filename)
    now = int(time.time())
    report = upload.report if purpose == purposes.FINE_TUNE else None
    stored = StoredFile(
        id=file_id,
        project_id=caller.project_id,
        key_id=caller.key_id,
        filename=upload.filename,
        purpose=purpose,
        bytes=upload.size,
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
        status="processed",
        status_details=None,
        blob_key=file_id,
        sha256=upload.sha256,
        validation=report.to_dict() if report is not None else None,
    )
    session.add(stored)
    return stored


async def retrieve(session: AsyncSession, caller: Caller, file_id: str) -> StoredFile:
    stored = await repository.get(session, caller.project_id, file_id, int(time.time()))
    if stored is None:
        raise not_found(file_id)
    return stored


async def list_files(
    session: AsyncSession,
    caller: Caller,
    *,
    purpose: str | None,
    after: str | None,
    limit: int,
    order: str,
) -> tuple[list[StoredFile], bool]:
    now = int(time.time())
    after_seq = await resolve_after(session, after, partial(repository.seq_query, caller.project_id, now=now))
    return await fetch_page(
        session,
        repository.list_query(caller.project_id, now, purpose),
        StoredFile.seq,
        after_seq=after_seq,
        limit=limit,
        descending=order == "desc",
    )


async def delete(session: AsyncSession, caller: Caller, blobs: BlobStore, file_id: str) -> None:
    stored = await retrieve(session, caller, file_id)
    await session.delete(stored)
    await session.flush()
    db.after_commit(session, lambda: blobs.delete(stored.blob_key))


async def open_content(session: AsyncSession, caller: Caller, blobs: BlobStore, file_id: str) -> BinaryIO:
    stored = await retrieve(session, caller, file_id)
    if not has_content(stored):
        raise content_missing(stored, "file_id")
    try:
        return await anyio.to_thread.run_sync(blobs.open, stored.blob_key)
    except FileNotFoundError:
        raise not_found(file_id) from None


async def delete_expired(session: AsyncSession, blobs: BlobStore, batch: int = 500) -> int:
    expired = await repository.expired(session, int(time.time()), batch)
    for stored in expired:
        await session.delete(stored)
        db.after_commit(session, lambda key=stored.blob_key: blobs.delete(key))
    return len(expired)


async def validation_report(session: AsyncSession, caller: Caller, file_id: str) -> dict[str, Any]:
    stored = await retrieve(session, caller, file_id)
    if stored.validation is None:
        raise InvalidRequest(
            f"File {file_id} has purpose '{stored.purpose}'; only fine-tune files are validated.",
            param="file_id",
        )
    return {"object": "file.validation_report", "file_id": file_id, **stored.validation}
