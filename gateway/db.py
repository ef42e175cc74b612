"""Engine, sessions and the after-commit outbox.

One transaction per request and per task; a request that only reads uses a session it never
commits. Services never commit: they `enqueue` work on the session, and `transaction()` hands
it to the queue only after the commit succeeded, so a rollback never leaves a task pointing at
a row that does not exist.
"""

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from sqlalchemy import JSON, BigInteger, Integer, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONValue = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
Sequence = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # A session class of its own: events listened for on it concern this engine's sessions only.
    own_session = type("EngineSession", (Session,), {})
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=own_session)


Dispatch = Callable[[str, str], None]


def enqueue(session: AsyncSession, task_name: str, object_id: str) -> None:
    """Ask for `task_name(object_id)` to run once this session's transaction commits."""
    session.info.setdefault("outbox", []).append((task_name, object_id))


def after_commit(session: AsyncSession | Session, action: Callable[[], Awaitable[None] | None]) -> None:
    """Run `action` once this session's transaction has committed: a coroutine function is
    awaited, anything else (dropping a blob, a folder) runs in a worker thread."""
    session.info.setdefault("after_commit", []).append(action)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession], dispatch: Dispatch
) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            session.info.clear()
            raise
        actions = session.info.pop("after_commit", [])
        blocking = [action for action in actions if not inspect.iscoroutinefunction(action)]
        if blocking:
            # Dropping blobs and folders may wait on the disk or the object store.
            await anyio.to_thread.run_sync(_run_all, blocking)
        for action in actions:
            if inspect.iscoroutinefunction(action):
                await action()
        outbox = session.info.pop("outbox", [])
        if outbox:
            # Sending may block on the broker; keep it off the event loop.
            await anyio.to_thread.run_sync(_send_all, dispatch, outbox)


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for requests that only read: nothing to commit, no outbox, no after-commit
    actions; its transaction is rolled back when the session closes."""
    async with sessions() as session:
        yield session


def _run_all(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        action()


def _send_all(dispatch: Dispatch, outbox: list[tuple[str, str]]) -> None:
    for task_name, object_id in outbox:
        dispatch(task_name, object_id)
