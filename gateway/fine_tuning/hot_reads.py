"""The reads clients repeat most (a job polled for its status, a page of jobs, a page of its
events) answered by `hot_reads.lane` straight from the database driver, each page in one
statement. Each answers exactly what its route in `router.py` answers for a job the caller's
project holds; for anything else (another project's job, an unknown `after`) it answers None and
the route answers instead.

A row's wire bytes are remembered by the row's whole raw content, so a page of jobs that have not
changed is joined from bytes already made; a row changed in any column is another key."""

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, inspect, select

from gateway.fine_tuning.schemas import FineTuningJob, FineTuningJobEvent
from gateway.hot_reads.lane import HotRead, PageParams
from gateway.hot_reads.reader import Query, Reader
from gateway.models import Job, JobEvent
from gateway.pagination import list_page_json
from gateway.projects import Caller
from gateway.shown import wire_json

REMEMBERED_ROWS = 4096


def _columns(model: type) -> list[Any]:
    """Every column of `model`, labelled with its attribute's name (`user_metadata`, not `metadata`)."""
    return [prop.columns[0].label(prop.key) for prop in inspect(model).column_attrs]


def _newest_first(model: type[Job] | type[JobEvent], *where: ColumnElement[bool]) -> Query:
    """`limit` rows of `model`, newest first."""
    statement = select(*_columns(model)).where(*where).order_by(model.seq.desc()).limit(bindparam("limit"))
    return Query(f"{model.__name__}Row", statement)


_IN_PROJECT = Job.project_id == bindparam("project_id")
_JOB_IN_PROJECT = (Job.id == bindparam("job_id"), _IN_PROJECT)
_OF_JOB = (JobEvent.job_id == bindparam("job_id"), select(Job.id).where(*_JOB_IN_PROJECT).exists())
# An unknown `after` has no seq: the page is then empty, and `_empty_page` tells the two apart.
_AFTER_JOB = select(Job.seq).where(Job.id == bindparam("after"), _IN_PROJECT).scalar_subquery()
_AFTER_EVENT = select(JobEvent.seq).where(
    JobEvent.job_id == bindparam("job_id"), JobEvent.id == bindparam("after")
)

JOB = Query("JobRow", select(*_columns(Job)).where(*_JOB_IN_PROJECT))
JOB_SEQ = Query("JobSeq", select(Job.seq).where(*_JOB_IN_PROJECT))
EVENT_SEQ = Query("EventSeq", _AFTER_EVENT)
JOBS = _newest_first(Job, _IN_PROJECT)
JOBS_AFTER = _newest_first(Job, _IN_PROJECT, Job.seq < _AFTER_JOB)
EVENTS = _newest_first(JobEvent, *_OF_JOB)
EVENTS_AFTER = _newest_first(JobEvent, *_OF_JOB, JobEvent.seq < _AFTER_EVENT.scalar_subquery())


@lru_cache(maxsize=REMEMBERED_ROWS)
def _job_json(values: tuple[Any, ...]) -> bytes:
    return wire_json(FineTuningJob.of(JOB.row(values)))  # JOB, JOBS and JOBS_AFTER share their columns


@lru_cache(maxsize=REMEMBERED_ROWS)
def _event_json(values: tuple[Any, ...]) -> bytes:
    return wire_json(FineTuningJobEvent.of(EVENTS.row(values)))


def _page(rows: list[tuple[Any, ...]], limit: int, shown: Callable[[tuple[Any, ...]], bytes]) -> bytes:
    return list_page_json([shown(values) for values in rows[:limit]], has_more=len(rows) > limit)


async def job(reader: Reader, caller: Caller, path: dict[str, str], _: PageParams) -> bytes | None:
    rows = await reader.raw_rows(JOB, job_id=path["fine_tuning_job_id"], project_id=caller.project_id)
    return _job_json(rows[0]) if rows else None


async def jobs(reader: Reader, caller: Caller, _: dict[str, str], page: PageParams) -> bytes | None:
    known = {"project_id": caller.project_id}
    if page.after is None:
        rows = await reader.raw_rows(JOBS, **known, limit=page.limit + 1)
    else:
        rows = await reader.raw_rows(JOBS_AFTER, **known, after=page.after, limit=page.limit + 1)
        if not rows and not await reader.raw_rows(JOB_SEQ, **known, job_id=page.after):
            return None
    return _page(rows, page.limit, _job_json)


async def events(reader: Reader, caller: Caller, path: dict[str, str], page: PageParams) -> bytes | None:
    job_id = path["fine_tuning_job_id"]
    known = {"job_id": job_id, "project_id": caller.project_id}
    if page.after is None:
        rows = await reader.raw_rows(EVENTS, **known, limit=page.limit + 1)
    else:
        rows = await reader.raw_rows(EVENTS_AFTER, **known, after=page.after, limit=page.limit + 1)
    if not rows and not await _empty_page(reader, known, page.after):
        return None
    return _page(rows, page.limit, _event_json)


async def _empty_page(reader: Reader, known: dict[str, str], after: str | None) -> bool:
    """Whether an empty page of events is the answer: the job is the caller's, `after` one of its events."""
    if not await reader.raw_rows(JOB_SEQ, **known):
        return False
    return after is None or bool(await reader.raw_rows(EVENT_SEQ, job_id=known["job_id"], after=after))


READS = [
    HotRead("/v1/fine_tuning/jobs/{fine_tuning_job_id}", job, paged=False),
    HotRead("/v1/fine_tuning/jobs", jobs, paged=True, default_limit=20),
    HotRead("/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", events, paged=True, default_limit=20),
]
