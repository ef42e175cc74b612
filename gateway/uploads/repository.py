"""SQL for uploads and their parts. Every query a project reaches is scoped to it."""

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import StoredUpload, StoredUploadPart

PENDING = "pending"


async def get(session: AsyncSession, project_id: str, upload_id: str) -> StoredUpload | None:
    return await session.scalar(
        select(StoredUpload).where(StoredUpload.project_id == project_id, StoredUpload.id == upload_id)
    )


async def hold_pending(session: AsyncSession, upload_id: str, now: int) -> bool:
    """Whether the upload is still pending and unexpired; if so it is held (a no-op write: a row
    lock on PostgreSQL, the write lock on SQLite) until the transaction ends, so that its parts
    and its completion take turns."""
    result = await session.execute(
        update(StoredUpload)
        .where(StoredUpload.id == upload_id, StoredUpload.status == PENDING, StoredUpload.expires_at > now)
        .values(status=StoredUpload.status)
    )
    return result.rowcount == 1


async def finish(session: AsyncSession, upload_id: str, now: int, status: str, file_id: str | None) -> bool:
    """Move a pending, unexpired upload to `status`; False when it was not pending any more."""
    result = await session.execute(
        update(StoredUpload)
        .where(StoredUpload.id == upload_id, StoredUpload.status == PENDING, StoredUpload.expires_at > now)
        .values(status=status, file_id=file_id)
    )
    return result.rowcount == 1


async def parts_bytes(session: AsyncSession, upload_id: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(StoredUploadPart.bytes), 0)).where(
            StoredUploadPart.upload_id == upload_id
        )
    )
    return int(total or 0)


async def parts(session: AsyncSession, upload_id: str, part_ids: Sequence[str]) -> list[StoredUploadPart]:
    """The parts among `part_ids` that belong to `upload_id`."""
    query = select(StoredUploadPart).where(
        StoredUploadPart.upload_id == upload_id, StoredUploadPart.id.in_(list(part_ids))
    )
    return list((await session.scalars(query)).all())


async def delete_parts(session: AsyncSession, upload_id: str) -> list[str]:
    """Delete every part of the upload; their ids (their blobs' keys)."""
    removed = await session.scalars(
        delete(StoredUploadPart).where(StoredUploadPart.upload_id == upload_id).returning(StoredUploadPart.id)
    )
    return list(removed.all())


async def leftover_parts(session: AsyncSession, now: int, limit: int) -> list[str]:
    """Parts whose upload is no longer pending (a removal that did not follow its commit) or is
    past its expiry."""
    query = (
        select(StoredUploadPart.id)
        .join(StoredUpload, StoredUpload.id == StoredUploadPart.upload_id)
        .where(or_(StoredUpload.status != PENDING, StoredUpload.expires_at <= now))
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def delete_parts_by_id(session: AsyncSession, part_ids: Sequence[str]) -> None:
    await session.execute(delete(StoredUploadPart).where(StoredUploadPart.id.in_(list(part_ids))))
