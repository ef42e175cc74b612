"""SQL for the import: what of an upstream's history is already here."""

from collections.abc import Collection

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.files.purposes import FINE_TUNE
from gateway.files.service import NO_CONTENT
from gateway.models import Job, JobCheckpoint, StoredFile


async def jobs_by_id(session: AsyncSession, job_ids: Collection[str]) -> dict[str, Job]:
    """The jobs with these ids, in any project."""
    if not job_ids:
        return {}
    return {
        job.id: job for job in (await session.scalars(select(Job).where(Job.id.in_(list(job_ids))))).all()
    }


async def sent_from_here(session: AsyncSession, upstream_ids: Collection[str]) -> dict[str, str]:
    """Of these upstream job ids, those that ftgate's own jobs run: upstream id -> ftgate's job id."""
    if not upstream_ids:
        return {}
    query = select(Job.upstream_id, Job.id).where(
        Job.upstream_id.in_(list(upstream_ids)), Job.imported_from.is_(None)
    )
    return {str(upstream_id): job_id for upstream_id, job_id in (await session.execute(query)).all()}


async def files_by_id(session: AsyncSession, file_ids: Collection[str]) -> dict[str, StoredFile]:
    """The files with these ids, in any project (expired ones too: an id is never reused)."""
    if not file_ids:
        return {}
    query = select(StoredFile).where(StoredFile.id.in_(list(file_ids)))
    return {stored.id: stored for stored in (await session.scalars(query)).all()}


async def checkpoint_ids(session: AsyncSession, job_id: str) -> set[str]:
    query = select(JobCheckpoint.id).where(JobCheckpoint.job_id == job_id)
    return set((await session.scalars(query)).all())


async def files_without_content(session: AsyncSession, project_id: str) -> list[StoredFile]:
    """The project's imported fine-tune files whose content was never supplied, oldest first."""
    query = (
        select(StoredFile)
        .where(
            StoredFile.project_id == project_id,
            StoredFile.imported_from.is_not(None),
            StoredFile.purpose == FINE_TUNE,
            StoredFile.sha256 == NO_CONTENT,
        )
        .order_by(StoredFile.seq)
    )
    return list((await session.scalars(query)).all())


async def attach_content(session: AsyncSession, file_id: str, sha256: str, validation: dict) -> bool:
    """Record a file's content (already in the blob store) unless another import did."""
    result = await session.execute(
        update(StoredFile)
        .where(StoredFile.id == file_id, StoredFile.sha256 == NO_CONTENT)
        .values(sha256=sha256, validation=validation)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
