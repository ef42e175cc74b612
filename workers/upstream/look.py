"""A look at an upstream job: what happened there since the last look, read over HTTP only, as an
`Observation` that `fine_tuning.mirroring` then records."""

import asyncio
import logging

from gateway.fine_tuning.mirroring import Observation, now_ms
from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.models import Job
from gateway.providers.base import (
    UPSTREAM_TERMINAL,
    Provider,
    UpstreamCheckpoint,
    UpstreamJob,
    UpstreamStatus,
)
from gateway.runtime import Runtime
from gateway.settings import Settings

log = logging.getLogger(__name__)

# A look usually finds a few new events: the first page is small, the ones after it large.
FIRST_PAGE = 10
PAGE = 100
MAX_PAGES = 1000


async def look(
    runtime: Runtime, provider: Provider, job: Job, upstream: UpstreamJob | None = None
) -> Observation:
    """Read what changed upstream. The job itself is read when it may have changed (it is not
    running, a message event arrived, or the last read is older than the refresh period)."""
    assert job.upstream_id is not None
    seen = Observation(job=upstream)
    await _collect_events(provider, job, seen, full=False)
    if seen.job is None and _job_may_have_changed(runtime.settings, job, seen):
        seen.job = await provider.get_job(job.upstream_id)
    if seen.job is not None:
        await _read_what_came_with(provider, job, seen.job, seen)
    return seen


async def _read_what_came_with(
    provider: Provider, job: Job, upstream: UpstreamJob, seen: Observation
) -> None:
    """What goes with the upstream job's state, read at once: events again when its status
    changed (those written between the two reads belong with the status; at the end, all of
    them once more, so that an event a shuffled page hid is not lost), its checkpoints while it
    runs or as it ends, and its result files when it succeeded."""
    assert job.upstream_id is not None
    upstream_id = job.upstream_id

    async def checkpoints() -> None:
        seen.checkpoints = await _all_checkpoints(provider, upstream_id)

    async def results() -> None:
        seen.results = [await provider.fetch_file(file_id) for file_id in upstream.result_files]

    reads = []
    if upstream.status != job.mirror.upstream_status:
        reads.append(_collect_events(provider, job, seen, full=upstream.status in UPSTREAM_TERMINAL))
    if upstream.status == UpstreamStatus.RUNNING or (
        upstream.status in UPSTREAM_TERMINAL and job.status not in TERMINAL
    ):
        reads.append(checkpoints())
    if upstream.status == UpstreamStatus.SUCCEEDED and job.status != JobStatus.SUCCEEDED:
        reads.append(results())
    for outcome in await asyncio.gather(*reads, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


def _job_may_have_changed(settings: Settings, job: Job, seen: Observation) -> bool:
    if job.mirror.upstream_status != UpstreamStatus.RUNNING or job.mirror.upstream_looked_at_ms is None:
        return True
    if any(event.type != "metrics" for event in seen.events.values()):
        return True
    return now_ms() - job.mirror.upstream_looked_at_ms >= settings.upstream_job_refresh_seconds * 1000


async def _collect_events(provider: Provider, job: Job, seen: Observation, full: bool) -> None:
    """Page back from the newest event to the one on top at the last look (all pages if `full`).
    Events already stored are dropped when written."""
    assert job.upstream_id is not None
    seen.readings += 1
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = await provider.events(job.upstream_id, after, PAGE if after or full else FIRST_PAGE)
        if not page.items:
            return
        ids = [event.id for event in page.items]
        if after is None and seen.newest_event is None:
            seen.newest_event = ids[0]
        reached = job.mirror.upstream_event_cursor in ids or any(i in seen.events for i in ids)
        for event in page.items:
            seen.add_event(event)
        if (reached and not full) or not page.has_more:
            return
        after = ids[-1]
    log.warning("job %s: stopped reading upstream events after %d pages", job.id, MAX_PAGES)


async def _all_checkpoints(provider: Provider, upstream_id: str) -> list[UpstreamCheckpoint]:
    found: dict[str, UpstreamCheckpoint] = {}
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = await provider.checkpoints(upstream_id, after, PAGE)
        for checkpoint in page.items:
            found.setdefault(checkpoint.id, checkpoint)
        if not page.items or not page.has_more:
            break
        after = page.items[-1].id
    return list(found.values())
