"""The budgets and limits an operator sets on a project or on one of its keys. A field left
unset means no limit; a key is held to its own limits and to its project's."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.catalog import BaseModelSpec


class Limits(BaseModel):
    """Strict: `"files": false` or `"spend_usd": "5"` is refused, never read as 0 or 5."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    period: Literal["day", "month"] = Field(
        default="month", description="the window of `spend_usd` and `trained_tokens` (UTC)"
    )
    spend_usd: float | None = Field(default=None, ge=0, description="training and chat cost per period")
    trained_tokens: int | None = Field(default=None, ge=0, description="trained tokens per period")
    concurrent_jobs: int | None = Field(default=None, ge=0, description="jobs not yet finished")
    stored_bytes: int | None = Field(default=None, ge=0, description="bytes of files kept")
    files: int | None = Field(default=None, ge=0, description="files kept")
    models: list[str] | None = Field(default=None, description="base models allowed (ids or aliases)")
    requests_per_minute: int | None = Field(default=None, gt=0)
    chat_tokens_per_minute: int | None = Field(default=None, gt=0)

    def period_start(self, now: int) -> int:
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        start = today if self.period == "day" else today.replace(day=1)
        return int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())

    def allows(self, spec: BaseModelSpec) -> bool:
        return self.models is None or any(name in self.models for name in (spec.id, *spec.aliases))


NO_LIMITS = Limits()


def parse(stored: dict | None) -> Limits:
    return Limits.model_validate(stored) if stored else NO_LIMITS
