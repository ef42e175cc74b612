"""The SQL of model aliases. Every query is scoped to one project."""

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ModelAlias


async def get(session: AsyncSession, project_id: str, name: str) -> ModelAlias | None:
    return await session.scalar(
        select(ModelAlias).where(ModelAlias.project_id == project_id, ModelAlias.name == name)
    )


async def list_for_project(session: AsyncSession, project_id: str) -> list[ModelAlias]:
    query = select(ModelAlias).where(ModelAlias.project_id == project_id).order_by(ModelAlias.seq)
    return list((await session.scalars(query)).all())


async def active(session: AsyncSession, project_id: str, now: int) -> list[ModelAlias]:
    """The project's aliases in force at `now`."""
    query = (
        select(ModelAlias).where(ModelAlias.project_id == project_id, _in_force(now)).order_by(ModelAlias.seq)
    )
    return list((await session.scalars(query)).all())


async def active_replacement(session: AsyncSession, project_id: str, name: str, now: int) -> str | None:
    """What answers for `name` at `now`, when the project has an alias of that name in force."""
    return await session.scalar(
        select(ModelAlias.replacement).where(
            ModelAlias.project_id == project_id, ModelAlias.name == name, _in_force(now)
        )
    )


async def replaced_by(session: AsyncSession, project_id: str, replacement: str) -> str | None:
    """The name of an alias of the project that points at `replacement`, if one does."""
    return await session.scalar(
        select(ModelAlias.name)
        .where(ModelAlias.project_id == project_id, ModelAlias.replacement == replacement)
        .limit(1)
    )


def _in_force(now: int) -> ColumnElement[bool]:
    return or_(ModelAlias.active_from.is_(None), ModelAlias.active_from <= now)
