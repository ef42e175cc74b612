"""The reads clients repeat most (a job polled for its status, a page of jobs, a page of its
events) answered by `hot_reads.lane` straight from the database driver. Each answers exactly
what its route in `router.py` answers for a job the caller's project holds; for anything else
(another project's job, an unknown `after`) its page is None and the route answers instead.

Each read finds the caller of the key (a live key's, looked up by its hash as every request looks
its key up) and the page, which is scoped to that key's project: a `JoinedRead`, one statement on
PostgreSQL. An unknown or revoked key has no caller. Only an empty page asks more (whether its
job and `after` exist).

A page selects only the columns a job or event shows (`COLUMNS` of its schema). A row's wire bytes
are remembered by those columns' raw content, so a page of jobs whose shown content has not changed
is joined from bytes already made, however often a running job's lease or counters move; a row
changed in any shown column is another key."""

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, inspect, select

from gateway.fine_tuning.schemas import FineTuningJob, FineTuningJobEvent
from gateway.hot_reads.lane import CallerAndPage, HotRead, PageParams
from gateway.hot_reads.reader import JoinedRead, Query, Reader
from gateway.models import Job, JobEvent
from gateway.pagination import list_page_json
from gateway.projects import CALLER_OF_KEY_HASH, PROJECT_OF_KEY_HASH, Caller, caller_of_values
from gateway.shown import wire_json

REMEMBERED_ROWS = 4096
SCHEMAS = {Job: FineTuningJob, JobEvent: FineTuningJobEvent}
Model = type[Job] | type[JobEvent]


def _shown(model: Model) -> list[Any]:
    """The columns of `model` that its schema's `of` reads, labelled with their attributes' names
    (`user_metadata`, not `metadata`)."""
    attributes = inspect(model).column_attrs
    return [attributes[name].columns[0].label(name) for name in SCHEMAS[model].COLUMNS]


# A page's rows are those of one project (jobs) or one job (events), newest first: the order of
# the index on (project_id, seq) or (job_id, seq). The one value is asked for as a range, not an
# equality, and the page ordered by both columns: PostgreSQL then reads the page from that index
# whatever it guesses, when it plans, of how many rows match. An equality would let it walk the
# primary key backwards and filter: a quarter of a second for a small project among a million jobs.
NEWEST_FIRST = {
    Job: (Job.project_id.desc(), Job.seq.desc()),
    JobEvent: (JobEvent.job_id.desc(), JobEvent.seq.desc()),
}


def _only(column: Any, value: Any) -> ColumnElement[bool]:
    return column.between(value, value)


def _keyed(name: str, model: Model, *where: ColumnElement[bool], limit: bool = True) -> JoinedRead:
    """The caller of the key, and `seq` and the shown columns of the rows of `model` that match
    `where`, newest first (at most `limit` of them, where `limit`)."""
    rows = select(model.seq, *_shown(model)).where(*where).order_by(*NEWEST_FIRST[model])
    return JoinedRead(name, CALLER_OF_KEY_HASH.statement, rows.limit(bindparam("limit")) if limit else rows)


_IN_KEYS_PROJECT = Job.project_id == PROJECT_OF_KEY_HASH
_JOB_IN_KEYS_PROJECT = (Job.id == bindparam("job_id"), _IN_KEYS_PROJECT)
_KEYS_PROJECTS_JOBS = _only(Job.project_id, PROJECT_OF_KEY_HASH)
_OF_JOB = (_only(JobEvent.job_id, bindparam("job_id")), select(Job.id).where(*_JOB_IN_KEYS_PROJECT).exists())
# An unknown `after` has no seq: the page is then empty, and `_empty_page` tells the two apart.
_AFTER_JOB = select(Job.seq).where(Job.id == bindparam("after"), _IN_KEYS_PROJECT).scalar_subquery()
_AFTER_EVENT = select(JobEvent.seq).where(
    JobEvent.job_id == bindparam("job_id"), JobEvent.id == bindparam("after")
)
_JOB_IN_PROJECT = (Job.id == bindparam("job_id"), Job.project_id == bindparam("project_id"))

JOB = _keyed("CallerAndJob", Job, *_JOB_IN_KEYS_PROJECT, limit=False)
JOBS = _keyed("CallerAndJobs", Job, _KEYS_PROJECTS_JOBS)
JOBS_AFTER = _keyed("CallerAndJobsAfter", Job, _KEYS_PROJECTS_JOBS, Job.seq < _AFTER_JOB)
EVENTS = _keyed("CallerAndEvents", JobEvent, *_OF_JOB)
EVENTS_AFTER = _keyed(
    "CallerAndEventsAfter", JobEvent, *_OF_JOB, JobEvent.seq < _AFTER_EVENT.scalar_subquery()
)
JOB_SEQ = Query("JobSeq", select(Job.seq).where(*_JOB_IN_PROJECT))
EVENT_SEQ = Query("EventSeq", _AFTER_EVENT)

JOB_ROW = Query("JobRow", select(*_shown(Job)))
EVENT_ROW = Query("EventRow", select(*_shown(JobEvent)))


@lru_cache(maxsize=REMEMBERED_ROWS)
def _job_json(values: tuple[Any, ...]) -> bytes:
    return wire_json(FineTuningJob.of(JOB_ROW.row(values)))


@lru_cache(maxsize=REMEMBERED_ROWS)
def _event_json(values: tuple[Any, ...]) -> bytes:
    return wire_json(FineTuningJobEvent.of(EVENT_ROW.row(values)))


async def _read(
    reader: Reader, read: JoinedRead, **params: Any
) -> tuple[Caller, list[tuple[Any, ...]]] | None:
    """The caller of the key and the shown values of each row of the page; None for no live key."""
    found = await reader.joined_rows(read, **params)
    if found is None:
        return None
    caller, rows = found
    return caller_of_values(caller), [values[1:] for values in rows]  # each row after its seq


def _page(rows: Sequence[tuple[Any, ...]], limit: int, shown: Callable[[tuple[Any, ...]], bytes]) -> bytes:
    return list_page_json([shown(values) for values in rows[:limit]], has_more=len(rows) > limit)


async def job(reader: Reader, key_hash: str, path: dict[str, str], _: PageParams) -> CallerAndPage | None:
    found = await _read(reader, JOB, key_hash=key_hash, job_id=path["fine_tuning_job_id"])
    if found is None:
        return None
    caller, rows = found
    return caller, _job_json(rows[0]) if rows else None


async def jobs(reader: Reader, key_hash: str, _: dict[str, str], page: PageParams) -> CallerAndPage | None:
    if page.after is None:
        found = await _read(reader, JOBS, key_hash=key_hash, limit=page.limit + 1)
    else:
        found = await _read(reader, JOBS_AFTER, key_hash=key_hash, after=page.after, limit=page.limit + 1)
    if found is None:
        return None
    caller, rows = found
    if (
        not rows
        and page.after is not None
        and not await reader.raw_rows(JOB_SEQ, job_id=page.after, project_id=caller.project_id)
    ):
        return caller, None
    return caller, _page(rows, page.limit, _job_json)


async def events(
    reader: Reader, key_hash: str, path: dict[str, str], page: PageParams
) -> CallerAndPage | None:
    known = {"key_hash": key_hash, "job_id": path["fine_tuning_job_id"], "limit": page.limit + 1}
    if page.after is None:
        found = await _read(reader, EVENTS, **known)
    else:
        found = await _read(reader, EVENTS_AFTER, **known, after=page.after)
    if found is None:
        return None
    caller, rows = found
    if not rows and not await _empty_page(reader, caller.project_id, known["job_id"], page.after):
        return caller, None
    return caller, _page(rows, page.limit, _event_json)


async def _empty_page(reader: Reader, project_id: str, job_id: str, after: str | None) -> bool:
    """Whether an empty page of events is the answer: the job is the project's, `after` one of its events."""
    if not await reader.raw_rows(JOB_SEQ, job_id=job_id, project_id=project_id):
        return False
    return after is None or bool(await reader.raw_rows(EVENT_SEQ, job_id=job_id, after=after))


READS = [
    HotRead("/v1/fine_tuning/jobs/{fine_tuning_job_id}", job, paged=False),
    HotRead("/v1/fine_tuning/jobs", jobs, paged=True, default_limit=20),
    HotRead("/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", events, paged=True, default_limit=20),
]
