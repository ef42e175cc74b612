"""SQL for captures, one row per (project, model)."""

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Capture


async def get(session: AsyncSession, project_id: str, model: str) -> Capture | None:
    return await session.scalar(
        select(Capture).where(Capture.project_id == project_id, Capture.model == model)
    )


async def of_file(session: AsyncSession, project_id: str, file_id: str) -> Capture | None:
    """The capture whose training or held-out file `file_id` is."""
    return await session.scalar(
        select(Capture).where(
            Capture.project_id == project_id,
            or_(Capture.training_file_id == file_id, Capture.held_out_file_id == file_id),
        )
    )


async def of_project(session: AsyncSession, project_id: str) -> list[Capture]:
    query = select(Capture).where(Capture.project_id == project_id).order_by(Capture.seq)
    return list((await session.scalars(query)).all())


async def lock(session: AsyncSession, capture_id: str) -> Capture | None:
    """The capture, locked for this transaction: the write comes first, so that on SQLite too
    (where it takes the database's write lock) two recorders never read the same totals."""
    await session.execute(update(Capture).where(Capture.id == capture_id).values(version=Capture.version + 1))
    query = select(Capture).where(Capture.id == capture_id).execution_options(populate_existing=True)
    return await session.scalar(query)
