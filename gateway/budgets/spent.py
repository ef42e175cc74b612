"""What a project or one of its keys holds against its limits now, counted as the limits count
it when they refuse a job, a chat or a file."""

import time

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.budgets import pricing, repository
from gateway.budgets.limits import Limits


class Spent(BaseModel):
    period_start: int = Field(description="the start of the limits' current period (UTC), Unix seconds")
    spend_usd: float = Field(
        description="training and chat cost this period; running jobs count their reserve"
    )
    trained_tokens: int = Field(description="trained tokens this period; running jobs count their reserve")
    concurrent_jobs: int = Field(description="jobs not yet finished")
    stored_bytes: int
    files: int


async def spent(session: AsyncSession, project_id: str, key_id: str | None, limits: Limits) -> Spent:
    """The project's (`key_id` None) or the key's."""
    now = int(time.time())
    since = limits.period_start(now)
    used = await repository.used_since(session, project_id, key_id, since)
    stored_bytes, files = await repository.stored_files(session, project_id, key_id, now)
    return Spent(
        period_start=since,
        spend_usd=pricing.micros_to_usd(used.micros),
        trained_tokens=used.trained_tokens,
        concurrent_jobs=await repository.unfinished_jobs(session, project_id, key_id),
        stored_bytes=stored_bytes,
        files=files,
    )
