"""SQL for stored files. Every query is scoped to a project; expired files do not exist."""

from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import StoredFile, UpstreamFile


def _live(query: Select[Any], project_id: str, now: int) -> Select[Any]:
    return query.where(
        StoredFile.project_id == project_id,
        or_(StoredFile.expires_at.is_(None), StoredFile.expires_at > now),
    )


async def get(session: AsyncSession, project_id: str, file_id: str, now: int) -> StoredFile | None:
    return await session.scalar(_live(select(StoredFile), project_id, now).where(StoredFile.id == file_id))


def list_query(project_id: str, now: int, purpose: str | None) -> Select[Any]:
    query = _live(select(StoredFile), project_id, now)
    return query if purpose is None else query.where(StoredFile.purpose == purpose)


def seq_query(project_id: str, file_id: str, *, now: int) -> Select[Any]:
    return _live(select(StoredFile.seq), project_id, now).where(StoredFile.id == file_id)


async def expired(session: AsyncSession, now: int, limit: int) -> list[StoredFile]:
    query = select(StoredFile).where(StoredFile.expires_at <= now).limit(limit)
    return list((await session.scalars(query)).all())


async def upstream_copy(session: AsyncSession, file_id: str, upstream: str) -> UpstreamFile | None:
    return await session.scalar(
        select(UpstreamFile).where(UpstreamFile.file_id == file_id, UpstreamFile.upstream == upstream)
    )


async def lock_upstream_copy(session: AsyncSession, file_id: str, upstream: str) -> None:
    """Hold the file's upstream copy until the transaction ends (a no-op write: a row lock on
    PostgreSQL, the write lock on SQLite), so that the jobs sent with it record one at a time."""
    await session.execute(
        update(UpstreamFile)
        .where(UpstreamFile.file_id == file_id, UpstreamFile.upstream == upstream)
        .values(created_at=UpstreamFile.created_at)
    )


async def forget_upstream_copy(
    session: AsyncSession, file_id: str, upstream: str, upstream_file_id: str
) -> None:
    """Drop the cached copy of `file_id` at `upstream` if it is still `upstream_file_id`."""
    await session.execute(
        delete(UpstreamFile).where(
            UpstreamFile.file_id == file_id,
            UpstreamFile.upstream == upstream,
            UpstreamFile.upstream_file_id == upstream_file_id,
        )
    )
