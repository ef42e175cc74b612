"""Uploads: a file sent in parts (each streamed to its own blob), then completed into a normal
file, validated exactly as one uploaded to /v1/files.

An upload is pending for an hour after its creation and takes parts, any number at once; its
completion names the parts in order, and the parts' bytes together must be the `bytes` declared
at creation. Completion, cancellation and expiry each end it; its parts are then deleted (at
once, or by the reconciler's sweep). A part's insert and the completion hold the upload's row
in turn, so a part is never added to an upload that has ended.
"""

import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import db, ids
from gateway.budgets import ledger
from gateway.errors import InvalidRequest, NotFound
from gateway.files import purposes
from gateway.files import service as files_service
from gateway.files.upload import ReceivedUpload, store_concatenation
from gateway.models import StoredFile, StoredUpload, StoredUploadPart
from gateway.projects import Caller
from gateway.runtime import Runtime
from gateway.storage.base import BlobStore
from gateway.uploads import repository
from gateway.uploads.schemas import CreateUploadParams, UploadStatus

LIFETIME_SECONDS = 3600
SWEEP_BATCH = 500


def not_found(upload_id: str) -> NotFound:
    return NotFound(f"No such Upload object: {upload_id}", param="upload_id")


def status_of(upload: StoredUpload, now: int) -> UploadStatus:
    """A pending upload past its expiry is expired, whether or not the sweep has been by."""
    if upload.status == repository.PENDING and now >= upload.expires_at:
        return "expired"
    return upload.status  # type: ignore[return-value]


def require_pending(upload: StoredUpload, now: int) -> None:
    status = status_of(upload, now)
    if status == "pending":
        return
    message = {
        "completed": f"Upload {upload.id} is already completed.",
        "cancelled": f"Upload {upload.id} was cancelled.",
        "expired": f"Upload {upload.id} has expired: an upload must be completed within "
        f"{LIFETIME_SECONDS // 60} minutes of its creation.",
    }[status]
    raise InvalidRequest(message, param="upload_id", code=f"upload_{status}")


def file_fields(upload: StoredUpload) -> dict[str, str]:
    """The form fields a /v1/files upload of the same file would have had."""
    fields = {"purpose": upload.purpose}
    if upload.expires_after_seconds is not None:
        fields["expires_after[anchor]"] = "created_at"
        fields["expires_after[seconds]"] = str(upload.expires_after_seconds)
    return fields


def order_parts(
    upload: StoredUpload, part_ids: Sequence[str], found: Sequence[StoredUploadPart]
) -> list[StoredUploadPart]:
    """The parts in the order `part_ids` names them; each once, all of this upload, their bytes
    together the upload's declared `bytes`."""
    if not part_ids:
        raise InvalidRequest("Invalid value for 'part_ids': name at least one part.", param="part_ids")
    repeated = sorted({part_id for part_id in part_ids if part_ids.count(part_id) > 1})
    if repeated:
        raise InvalidRequest(
            f"Invalid value for 'part_ids': each part may be named once; named more than once: "
            f"{', '.join(repeated)}.",
            param="part_ids",
        )
    by_id = {part.id: part for part in found}
    missing = [part_id for part_id in part_ids if part_id not in by_id]
    if missing:
        raise InvalidRequest(
            f"Invalid value for 'part_ids': no such part in upload {upload.id}: {', '.join(missing)}.",
            param="part_ids",
        )
    ordered = [by_id[part_id] for part_id in part_ids]
    total = sum(part.bytes for part in ordered)
    if total != upload.bytes:
        raise InvalidRequest(
            f"The parts named have {total} bytes together, but the upload was created for "
            f"{upload.bytes} bytes.",
            param="part_ids",
        )
    return ordered


def check_md5(expected: str | None, actual: str) -> None:
    if expected is not None and expected.strip().lower() != actual:
        raise InvalidRequest(
            f"The md5 checksum given ({expected}) does not match the uploaded bytes' ({actual}).",
            param="md5",
        )


async def create(
    session: AsyncSession, caller: Caller, params: CreateUploadParams, max_bytes: int
) -> StoredUpload:
    expires_after = params.expires_after.seconds if params.expires_after is not None else None
    upload = StoredUpload(
        id=ids.new_upload_id(),
        project_id=caller.project_id,
        key_id=caller.key_id,
        filename=params.filename,
        purpose=params.purpose,
        bytes=params.bytes,
        mime_type=params.mime_type,
        expires_after_seconds=expires_after,
        status=repository.PENDING,
    )
    try:  # what the file itself would be refused for
        purposes.check_fields(file_fields(upload), upload.filename)
    except InvalidRequest as refusal:
        if refusal.param == "file":  # /v1/files names the file part; here it is named by `filename`
            refusal.param = "filename"
        raise
    if params.bytes > max_bytes:
        raise InvalidRequest(
            f"Invalid value for 'bytes': an upload may have at most {max_bytes} bytes.", param="bytes"
        )
    await ledger.admit_file(session, caller, params.bytes)
    upload.created_at = int(time.time())
    upload.expires_at = upload.created_at + LIFETIME_SECONDS
    session.add(upload)
    return upload


async def retrieve(session: AsyncSession, caller: Caller, upload_id: str) -> StoredUpload:
    upload = await repository.get(session, caller.project_id, upload_id)
    if upload is None:
        raise not_found(upload_id)
    return upload


async def pending(session: AsyncSession, caller: Caller, upload_id: str) -> StoredUpload:
    """The upload, refused unless it still takes parts."""
    upload = await retrieve(session, caller, upload_id)
    require_pending(upload, int(time.time()))
    return upload


async def _hold(session: AsyncSession, upload: StoredUpload, now: int) -> None:
    if not await repository.hold_pending(session, upload.id, now):
        await session.refresh(upload)
        require_pending(upload, now)  # raises: it is no longer pending


async def add_part(
    session: AsyncSession, upload: StoredUpload, part_id: str, size: int, max_bytes: int
) -> StoredUploadPart:
    """Record a part whose bytes are stored (the blob `part_id`), if the upload still takes it."""
    now = int(time.time())
    await _hold(session, upload, now)
    if await repository.parts_bytes(session, upload.id) + size > max_bytes:
        raise InvalidRequest(
            f"Upload {upload.id} would have more than {max_bytes} bytes with this part.", param="data"
        )
    part = StoredUploadPart(id=part_id, upload_id=upload.id, bytes=size, created_at=now)
    session.add(part)
    return part


async def parts_to_complete(
    session: AsyncSession, caller: Caller, upload_id: str, part_ids: Sequence[str]
) -> tuple[StoredUpload, list[StoredUploadPart]]:
    upload = await pending(session, caller, upload_id)
    return upload, order_parts(upload, part_ids, await repository.parts(session, upload.id, part_ids))


async def concatenate(
    runtime: Runtime, upload: StoredUpload, parts: Sequence[StoredUploadPart], file_id: str
) -> tuple[ReceivedUpload, str]:
    """The parts, in order, stored as the file `file_id` (validated as an upload); and its MD5."""
    try:
        return await store_concatenation(
            sources=[(part.id, part.bytes) for part in parts],
            blobs=runtime.blobs,
            blob_key=file_id,
            fields=file_fields(upload),
            filename=upload.filename,
            max_bytes=runtime.settings.max_chunked_upload_bytes,
            validators=runtime.validators,
        )
    except FileNotFoundError:  # the sweep took the parts: the upload ended meanwhile
        async with runtime.transaction() as session:
            current = await repository.get(session, upload.project_id, upload.id)
        if current is not None:
            require_pending(current, int(time.time()))
        raise


async def complete(
    session: AsyncSession,
    caller: Caller,
    blobs: BlobStore,
    upload_id: str,
    file_id: str,
    received: ReceivedUpload,
) -> tuple[StoredUpload, StoredFile]:
    """Record the file made of the parts (its blob `file_id` stored) and end the upload."""
    upload = await retrieve(session, caller, upload_id)
    now = int(time.time())
    await _hold(session, upload, now)
    await ledger.admit_file(session, caller, received.size)
    stored = files_service.add_uploaded(session, caller, file_id=file_id, upload=received)
    await repository.finish(session, upload.id, now, "completed", file_id)
    await _drop_parts(session, blobs, upload.id)
    upload.status, upload.file_id = "completed", file_id
    return upload, stored


async def cancel(session: AsyncSession, caller: Caller, blobs: BlobStore, upload_id: str) -> StoredUpload:
    """A pending upload is cancelled and its parts dropped; a cancelled one stays so."""
    upload = await retrieve(session, caller, upload_id)
    if upload.status == "cancelled":
        return upload
    now = int(time.time())
    await _hold(session, upload, now)
    await repository.finish(session, upload.id, now, "cancelled", None)
    await _drop_parts(session, blobs, upload.id)
    upload.status = "cancelled"
    return upload


async def _drop_parts(session: AsyncSession, blobs: BlobStore, upload_id: str) -> None:
    for part_id in await repository.delete_parts(session, upload_id):
        db.after_commit(session, lambda key=part_id: blobs.delete(key))


async def sweep(session: AsyncSession, blobs: BlobStore, batch: int = SWEEP_BATCH) -> int:
    """Drop the parts of uploads that expired (or ended without their parts dropped); how many."""
    part_ids = await repository.leftover_parts(session, int(time.time()), batch)
    if part_ids:
        await repository.delete_parts_by_id(session, part_ids)
        for part_id in part_ids:
            db.after_commit(session, lambda key=part_id: blobs.delete(key))
    return len(part_ids)
