"""Usage per project, key, model and day (any of them): jobs, trained tokens, chat tokens and
cost. Jobs count from the day they were created, billed on what they trained once finished;
unfinished ones show what they hold in reserve."""

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any, Literal, cast

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.budgets import pricing
from gateway.errors import InvalidRequest
from gateway.models import ChatUsage, JobCharge
from gateway.time_window import within

Grouping = Literal["project", "key", "model", "day"]
GROUPINGS: tuple[Grouping, ...] = ("project", "key", "model", "day")
SECONDS_PER_DAY = 86400


class UsageRow(BaseModel):
    object: Literal["admin.usage"] = "admin.usage"
    project_id: str | None = None
    key_id: str | None = None
    model: str | None = None
    day: str | None = None
    jobs: int = 0
    trained_tokens: int = 0
    reserved_usd: float = 0.0
    chat_requests: int = 0
    chat_prompt_tokens: int = 0
    chat_completion_tokens: int = 0
    cost_usd: float = 0.0


def parse_groups(text: str) -> list[Grouping]:
    """`"project,day"` → ["project", "day"]."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if any(name not in GROUPINGS for name in names) or len(set(names)) != len(names):
        raise InvalidRequest(
            f"group_by takes distinct names among {', '.join(GROUPINGS)}; got {text!r}.", param="group_by"
        )
    return [cast(Grouping, name) for name in names]


def _columns(table: Any, model_column: Any, group_by: Sequence[Grouping]) -> list[Any]:
    by_name = {
        "project": table.project_id,
        "key": table.key_id,
        "model": model_column,
        "day": table.created_at // SECONDS_PER_DAY,
    }
    return [by_name[name] for name in group_by]


def _window(query: Any, table: Any, project_id: str | None, start: int | None, end: int | None) -> Any:
    if project_id is not None:
        query = query.where(table.project_id == project_id)
    return within(query, table.created_at, start, end)


async def report(
    session: AsyncSession,
    group_by: Sequence[Grouping],
    *,
    project_id: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> list[UsageRow]:
    rows: dict[tuple[Any, ...], dict[str, int]] = {}
    job_groups = _columns(JobCharge, JobCharge.base_model, group_by)
    unsettled = JobCharge.settled_at.is_(None)
    jobs = select(
        *job_groups,
        func.count(),
        func.coalesce(func.sum(JobCharge.settled_tokens), 0),
        func.coalesce(func.sum(JobCharge.settled_micros), 0),
        func.coalesce(func.sum(JobCharge.reserved_micros).filter(unsettled), 0),
    )
    jobs = _window(jobs, JobCharge, project_id, start, end).group_by(*job_groups)
    for *group, count, tokens, micros, reserved in (await session.execute(jobs)).all():
        totals = rows.setdefault(tuple(group), {})
        totals.update(jobs=count, trained_tokens=int(tokens), micros=int(micros), reserved=int(reserved))
    chat_groups = _columns(ChatUsage, ChatUsage.model, group_by)
    chats = select(
        *chat_groups,
        func.count(),
        func.coalesce(func.sum(ChatUsage.prompt_tokens), 0),
        func.coalesce(func.sum(ChatUsage.completion_tokens), 0),
        func.coalesce(func.sum(ChatUsage.cost_micros), 0),
    )
    chats = _window(chats, ChatUsage, project_id, start, end).group_by(*chat_groups)
    for *group, count, prompt, completion, micros in (await session.execute(chats)).all():
        totals = rows.setdefault(tuple(group), {})
        totals.update(chat_requests=count, prompt=int(prompt), completion=int(completion))
        totals["micros"] = totals.get("micros", 0) + int(micros)
    return [_row(group_by, group, totals) for group, totals in sorted(rows.items(), key=_sort_key)]


def _sort_key(item: tuple[tuple[Any, ...], dict[str, int]]) -> tuple[str, ...]:
    return tuple(
        "" if value is None else f"{value:012d}" if isinstance(value, int) else value for value in item[0]
    )


def _row(group_by: Sequence[Grouping], group: tuple[Any, ...], totals: dict[str, int]) -> UsageRow:
    labels = dict(zip(group_by, group, strict=True))
    return UsageRow(
        project_id=labels.get("project"),
        key_id=labels.get("key"),
        model=labels.get("model"),
        day=_day(labels["day"]) if "day" in labels else None,
        jobs=totals.get("jobs", 0),
        trained_tokens=totals.get("trained_tokens", 0),
        reserved_usd=pricing.micros_to_usd(totals.get("reserved", 0)),
        chat_requests=totals.get("chat_requests", 0),
        chat_prompt_tokens=totals.get("prompt", 0),
        chat_completion_tokens=totals.get("completion", 0),
        cost_usd=pricing.micros_to_usd(totals.get("micros", 0)),
    )


def _day(day_number: int) -> str:
    return dt.datetime.fromtimestamp(int(day_number) * SECONDS_PER_DAY, dt.UTC).date().isoformat()


def as_csv(rows: list[UsageRow]) -> str:
    fields = [name for name in UsageRow.model_fields if name != "object"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.model_dump(include=set(fields)))
    return out.getvalue()
