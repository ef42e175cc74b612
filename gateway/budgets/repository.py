"""SQL for budgets: the project lock that serializes reservations, and what has been used."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ApiKey, ChatUsage, JobCharge, Project, StoredFile


@dataclass(frozen=True)
class Used:
    micros: int
    trained_tokens: int


async def lock_project(session: AsyncSession, project_id: str) -> None:
    """Begin with a write on the project's row: on PostgreSQL it holds the row lock, on SQLite
    the database's write lock, until the transaction ends, so that the reads that follow see
    every reservation committed before and none can slip in until this one commits."""
    await session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(ledger_version=Project.ledger_version + 1)
        .execution_options(synchronize_session=False)
    )


def _scoped(query: Any, table: Any, project_id: str, key_id: str | None) -> Any:
    query = query.where(table.project_id == project_id)
    return query if key_id is None else query.where(table.key_id == key_id)


async def used_since(session: AsyncSession, project_id: str, key_id: str | None, since: int) -> Used:
    """Spend and trained tokens since `since`: running jobs count what they reserved, finished
    ones what they cost; chat adds its cost."""
    unsettled = JobCharge.settled_at.is_(None)
    jobs = _scoped(
        select(
            func.coalesce(
                func.sum(case((unsettled, JobCharge.reserved_micros), else_=JobCharge.settled_micros)), 0
            ),
            func.coalesce(
                func.sum(case((unsettled, JobCharge.reserved_tokens), else_=JobCharge.settled_tokens)), 0
            ),
        ).where(JobCharge.created_at >= since),
        JobCharge,
        project_id,
        key_id,
    )
    micros, tokens = (await session.execute(jobs)).one()
    chat = _scoped(
        select(func.coalesce(func.sum(ChatUsage.cost_micros), 0)).where(ChatUsage.created_at >= since),
        ChatUsage,
        project_id,
        key_id,
    )
    return Used(micros=int(micros) + int(await session.scalar(chat) or 0), trained_tokens=int(tokens))


async def unfinished_jobs(session: AsyncSession, project_id: str, key_id: str | None) -> int:
    query = _scoped(select(func.count()).where(JobCharge.settled_at.is_(None)), JobCharge, project_id, key_id)
    return int(await session.scalar(query) or 0)


async def stored_files(
    session: AsyncSession, project_id: str, key_id: str | None, now: int
) -> tuple[int, int]:
    """Bytes and number of the files kept (expired ones no longer count)."""
    query = _scoped(
        select(func.coalesce(func.sum(StoredFile.bytes), 0), func.count()).where(
            or_(StoredFile.expires_at.is_(None), StoredFile.expires_at > now)
        ),
        StoredFile,
        project_id,
        key_id,
    )
    size, count = (await session.execute(query)).one()
    return int(size), int(count)


async def open_charge(session: AsyncSession, job_id: str) -> JobCharge | None:
    return await session.scalar(
        select(JobCharge).where(JobCharge.job_id == job_id, JobCharge.settled_at.is_(None))
    )


async def stored_limits(
    session: AsyncSession, project_id: str, key_id: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The limits stored on the project and on the key (None for no key), as `limits.parse` reads them."""
    project = await session.scalar(select(Project.limits).where(Project.id == project_id))
    key = None if key_id is None else await session.scalar(select(ApiKey.limits).where(ApiKey.id == key_id))
    return project, key
