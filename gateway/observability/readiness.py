"""Whether this gateway can serve: the database answers `SELECT 1`, Redis answers PING (where the
install uses Redis) and the blob store can be written, each within a short timeout."""

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from gateway.observability import backends
from gateway.runtime import Runtime

CHECK_TIMEOUT_SECONDS = 2.0
OK = "ok"

Check = Callable[[Runtime], Awaitable[None]]


async def _database(runtime: Runtime) -> None:
    async with runtime.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _redis(runtime: Runtime) -> None:
    async with backends.redis_client(runtime.settings, CHECK_TIMEOUT_SECONDS) as client:
        await client.ping()


async def _blob_store(runtime: Runtime) -> None:
    await runtime.blobs.check()


def checks_for(runtime: Runtime) -> dict[str, Check]:
    checks: dict[str, Check] = {"database": _database}
    if backends.uses_redis(runtime.settings):
        checks["redis"] = _redis
    checks["blob_store"] = _blob_store
    return checks


async def _outcome(check: Check, runtime: Runtime) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await check(runtime)
    except TimeoutError:
        return f"unreachable: no answer within {CHECK_TIMEOUT_SECONDS:g} seconds"
    except Exception as error:  # whatever a dependency raises, readiness reports it
        return f"unreachable: {type(error).__name__}: {str(error)[:200]}"
    return OK


async def readiness(runtime: Runtime) -> dict[str, str]:
    """Each dependency's state: `ok`, or why it cannot be reached."""
    checks = checks_for(runtime)
    outcomes = await asyncio.gather(*(_outcome(check, runtime) for check in checks.values()))
    return dict(zip(checks, outcomes, strict=True))
