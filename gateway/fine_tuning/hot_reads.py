"""The reads clients repeat most (a job polled for its status, a page of jobs, a page of its
events) answered by `hot_reads.lane` straight from the database driver. Each answers exactly what
its route in `router.py` answers for a job the caller's project holds; for anything else
(another project's job, an unknown `after`) it answers None and the route answers instead."""

from typing import Any

from sqlalchemy import bindparam, inspect, select

from gateway.fine_tuning.schemas import FineTuningJob, FineTuningJobEvent
from gateway.hot_reads.lane import HotRead, PageParams
from gateway.hot_reads.reader import Query, Reader
from gateway.models import Job, JobEvent
from gateway.pagination import ListPage
from gateway.projects import Caller
from gateway.shown import wire_json

# Higher than any row's seq: the first page's bound.
FIRST_PAGE = 2**62


def _columns(model: type) -> list[Any]:
    """Every column of `model`, labelled with its attribute's name (`user_metadata`, not `metadata`)."""
    return [prop.columns[0].label(prop.key) for prop in inspect(model).column_attrs]


_IN_PROJECT = (Job.id == bindparam("job_id"), Job.project_id == bindparam("project_id"))
JOB = Query("JobRow", select(*_columns(Job)).where(*_IN_PROJECT))
JOB_SEQ = Query("JobSeq", select(Job.seq).where(*_IN_PROJECT))
JOBS = Query(
    "JobRow",
    select(*_columns(Job))
    .where(Job.project_id == bindparam("project_id"), Job.seq < bindparam("before_seq"))
    .order_by(Job.seq.desc())
    .limit(bindparam("limit")),
)
EVENT_SEQ = Query(
    "EventSeq",
    select(JobEvent.seq).where(JobEvent.job_id == bindparam("job_id"), JobEvent.id == bindparam("event_id")),
)
EVENTS = Query(
    "EventRow",
    select(*_columns(JobEvent))
    .where(JobEvent.job_id == bindparam("job_id"), JobEvent.seq < bindparam("before_seq"))
    .order_by(JobEvent.seq.desc())
    .limit(bindparam("limit")),
)


async def job(reader: Reader, caller: Caller, path: dict[str, str], _: PageParams) -> bytes | None:
    rows = await reader.rows(JOB, job_id=path["fine_tuning_job_id"], project_id=caller.project_id)
    return wire_json(FineTuningJob.of(rows[0])) if rows else None


async def jobs(reader: Reader, caller: Caller, _: dict[str, str], page: PageParams) -> bytes | None:
    before = FIRST_PAGE
    if page.after is not None:
        found = await reader.rows(JOB_SEQ, job_id=page.after, project_id=caller.project_id)
        if not found:
            return None
        before = found[0].seq
    rows = await reader.rows(JOBS, project_id=caller.project_id, before_seq=before, limit=page.limit + 1)
    data = [FineTuningJob.of(row) for row in rows[: page.limit]]
    return wire_json(ListPage(data=data, has_more=len(rows) > page.limit))


async def events(reader: Reader, caller: Caller, path: dict[str, str], page: PageParams) -> bytes | None:
    job_id = path["fine_tuning_job_id"]
    if not await reader.rows(JOB_SEQ, job_id=job_id, project_id=caller.project_id):
        return None
    before = FIRST_PAGE
    if page.after is not None:
        found = await reader.rows(EVENT_SEQ, job_id=job_id, event_id=page.after)
        if not found:
            return None
        before = found[0].seq
    rows = await reader.rows(EVENTS, job_id=job_id, before_seq=before, limit=page.limit + 1)
    data = [FineTuningJobEvent.of(row) for row in rows[: page.limit]]
    return wire_json(ListPage(data=data, has_more=len(rows) > page.limit))


READS = [
    HotRead("/v1/fine_tuning/jobs/{fine_tuning_job_id}", job, paged=False),
    HotRead("/v1/fine_tuning/jobs", jobs, paged=True, default_limit=20),
    HotRead("/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", events, paged=True, default_limit=20),
]
