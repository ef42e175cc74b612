"""Request dependencies as `Annotated` aliases: the runtime, one transaction, the caller (within
its key's requests-per-minute limit)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import auth
from gateway.projects import Caller
from gateway.ratelimit.admission import admit_request
from gateway.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with runtime.transaction() as session:
        yield session


async def get_caller(request: Request, runtime: RuntimeDep) -> Caller:
    caller = await auth.authenticate(runtime, auth.bearer_secret(request))
    await admit_request(request, runtime.rate_limiter, caller)
    return caller


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
CallerDep = Annotated[Caller, Depends(get_caller)]
