"""The budgets and limits an operator sets on a project or on one of its keys. A field left
unset means no limit; a key is held to its own limits and to its project's. Counts are integers
and never booleans (`true` is no count of files), amounts finite numbers."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from gateway.catalog import BaseModelSpec
from gateway.text import StoredText

# Strict: an integer counts, a float (even 1.0) or a boolean does not.
Count = Annotated[StrictInt, Field(ge=0)]
PerMinute = Annotated[StrictInt, Field(gt=0)]
# Strict: integers are taken, booleans and numeric strings are not; JSON has no infinity.
Amount = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]


class Limits(BaseModel):
    """Strict: `"files": false` or `"spend_usd": "5"` is refused, never read as 0 or 5."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    period: Literal["day", "month"] = Field(
        default="month", description="the window of `spend_usd` and `trained_tokens` (UTC)"
    )
    spend_usd: Amount | None = Field(default=None, description="training and chat cost per period")
    trained_tokens: Count | None = Field(default=None, description="trained tokens per period")
    concurrent_jobs: Count | None = Field(default=None, description="jobs not yet finished")
    stored_bytes: Count | None = Field(default=None, description="bytes of files kept")
    files: Count | None = Field(default=None, description="files kept")
    models: list[StoredText] | None = Field(default=None, description="base models allowed (ids or aliases)")
    requests_per_minute: PerMinute | None = None
    chat_tokens_per_minute: PerMinute | None = None

    def period_start(self, now: int) -> int:
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        start = today if self.period == "day" else today.replace(day=1)
        return int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())

    def allows(self, spec: BaseModelSpec) -> bool:
        return self.models is None or any(name in self.models for name in (spec.id, *spec.aliases))


NO_LIMITS = Limits()


def parse(stored: dict | None) -> Limits:
    return Limits.model_validate(stored) if stored else NO_LIMITS
