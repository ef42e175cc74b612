"""The SQL of evals, runs and output items. Every read by a caller is scoped to its project."""

import time
from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.evals.status import ACTIVE
from gateway.models import StoredEval, StoredEvalRun, StoredOutputItem


async def get_eval(session: AsyncSession, project_id: str, eval_id: str) -> StoredEval | None:
    query = select(StoredEval).where(StoredEval.id == eval_id, StoredEval.project_id == project_id)
    return await session.scalar(query)


def evals_query(project_id: str) -> Select[Any]:
    return select(StoredEval).where(StoredEval.project_id == project_id)


async def eval_position(
    session: AsyncSession, project_id: str, eval_id: str, columns: tuple[Any, ...]
) -> tuple[Any, ...] | None:
    """The values of `columns` (the list's sort key) for the caller's eval `eval_id`."""
    query = select(*columns).where(StoredEval.id == eval_id, StoredEval.project_id == project_id)
    row = (await session.execute(query)).one_or_none()
    return tuple(row) if row is not None else None


async def delete_eval(session: AsyncSession, eval_id: str) -> None:
    runs = select(StoredEvalRun.id).where(StoredEvalRun.eval_id == eval_id)
    await session.execute(delete(StoredOutputItem).where(StoredOutputItem.run_id.in_(runs)))
    await session.execute(delete(StoredEvalRun).where(StoredEvalRun.eval_id == eval_id))
    await session.execute(delete(StoredEval).where(StoredEval.id == eval_id))


async def get_run(session: AsyncSession, project_id: str, eval_id: str, run_id: str) -> StoredEvalRun | None:
    query = select(StoredEvalRun).where(
        StoredEvalRun.id == run_id, StoredEvalRun.eval_id == eval_id, StoredEvalRun.project_id == project_id
    )
    return await session.scalar(query)


async def get_run_any(session: AsyncSession, run_id: str) -> StoredEvalRun | None:
    return await session.scalar(select(StoredEvalRun).where(StoredEvalRun.id == run_id))


def runs_query(eval_id: str, status: str | None) -> Select[Any]:
    query = select(StoredEvalRun).where(StoredEvalRun.eval_id == eval_id)
    return query.where(StoredEvalRun.status == status) if status else query


def run_seq_query(eval_id: str, run_id: str) -> Select[Any]:
    return select(StoredEvalRun.seq).where(StoredEvalRun.id == run_id, StoredEvalRun.eval_id == eval_id)


async def delete_run(session: AsyncSession, run_id: str) -> None:
    await session.execute(delete(StoredOutputItem).where(StoredOutputItem.run_id == run_id))
    await session.execute(delete(StoredEvalRun).where(StoredEvalRun.id == run_id))


async def set_status(
    session: AsyncSession, run_id: str, from_statuses: Collection[str], **values: Any
) -> bool:
    """Move the run on, only from one of `from_statuses`; whether it moved."""
    result = await session.execute(
        update(StoredEvalRun)
        .where(StoredEvalRun.id == run_id, StoredEvalRun.status.in_(list(from_statuses)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def items_query(run_id: str, status: str | None) -> Select[Any]:
    query = select(StoredOutputItem).where(StoredOutputItem.run_id == run_id)
    return query.where(StoredOutputItem.status == status) if status else query


def item_seq_query(run_id: str, item_id: str) -> Select[Any]:
    return select(StoredOutputItem.seq).where(
        StoredOutputItem.id == item_id, StoredOutputItem.run_id == run_id
    )


async def get_item(session: AsyncSession, run_id: str, item_id: str) -> StoredOutputItem | None:
    query = select(StoredOutputItem).where(StoredOutputItem.id == item_id, StoredOutputItem.run_id == run_id)
    return await session.scalar(query)


async def done_item_ids(session: AsyncSession, run_id: str) -> set[int]:
    query = select(StoredOutputItem.datasource_item_id).where(StoredOutputItem.run_id == run_id)
    return set((await session.scalars(query)).all())


async def lock_active_run(session: AsyncSession, run_id: str, now: int) -> StoredEvalRun | None:
    """The run with its row locked for this transaction, while it is still active. The
    statement writes, so SQLite takes its write lock here too, before anything is read."""
    return await session.scalar(
        update(StoredEvalRun)
        .where(StoredEvalRun.id == run_id, StoredEvalRun.status.in_(list(ACTIVE)))
        .values(updated_at=now)
        .returning(StoredEvalRun)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


def _lease_free(now: int) -> Any:
    return or_(StoredEvalRun.locked_until.is_(None), StoredEvalRun.locked_until <= now)


async def claim(session: AsyncSession, run_id: str, now: int, lease_seconds: int) -> StoredEvalRun | None:
    """The run, when it is active and its lease was free and is now ours; None otherwise."""
    return await session.scalar(
        update(StoredEvalRun)
        .where(StoredEvalRun.id == run_id, StoredEvalRun.status.in_(list(ACTIVE)), _lease_free(now))
        .values(locked_until=now + lease_seconds)
        .returning(StoredEvalRun)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


async def renew_all(session: AsyncSession, run_ids: Collection[str], until: int) -> None:
    await session.execute(
        update(StoredEvalRun)
        .where(StoredEvalRun.id.in_(list(run_ids)), StoredEvalRun.locked_until.is_not(None))
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )


async def release_all(session: AsyncSession, run_ids: Collection[str]) -> None:
    """Free the runs' leases. The release time stays as `locked_until`, so that a run its task
    left unfinished (the task failed) is sent again at the reconciler's next tick."""
    await session.execute(
        update(StoredEvalRun)
        .where(StoredEvalRun.id.in_(list(run_ids)))
        .values(locked_until=int(time.time()))
        .execution_options(synchronize_session=False)
    )


async def take_runs_to_send(session: AsyncSession, now: int, resend_seconds: float) -> list[str]:
    """Active runs that no task holds, and for which no task was sent since one last held them,
    nor in the last `resend_seconds`; marked sent now."""
    query = select(StoredEvalRun.id).where(
        StoredEvalRun.status.in_(list(ACTIVE)),
        _lease_free(now),
        or_(
            StoredEvalRun.sent_at.is_(None),
            StoredEvalRun.sent_at < StoredEvalRun.locked_until,
            StoredEvalRun.sent_at <= now - resend_seconds,
        ),
    )
    run_ids = list((await session.scalars(query)).all())
    if run_ids:
        await session.execute(
            update(StoredEvalRun)
            .where(StoredEvalRun.id.in_(run_ids))
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        )
    return run_ids
