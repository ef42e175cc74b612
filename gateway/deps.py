"""Request dependencies as `Annotated` aliases: the runtime, one transaction (or a session that
only reads), the caller (whom `admission.ProjectRoute` authenticated and rate limited before the
body was read)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import db
from gateway.projects import Caller
from gateway.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with runtime.transaction() as session:
        yield session


async def get_read_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """For routes that only read: never committed (see `db.reading`)."""
    async with db.reading(runtime.sessions) as session:
        yield session


async def get_caller(request: Request) -> Caller:
    return request.state.caller


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
CallerDep = Annotated[Caller, Depends(get_caller)]
