"""Mirroring an upstream job: what a look saw (an `Observation`) written in the caller's transaction:
new events once each and in order, checkpoints, the status the upstream's implies (never back),
and on success the model, trained tokens and result files, as OpenAI sets them; the upstream's
estimate of the job's cost, where it shows one, raises its reservation."""

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.budgets import ledger
from gateway.fine_tuning import events, lifecycle, polling, repository, result_files, scheduling
from gateway.fine_tuning.checkpoints import checkpoint_row
from gateway.fine_tuning.job_error import JobError
from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.models import Job, JobCheckpoint
from gateway.providers.base import (
    Action,
    UpstreamCheckpoint,
    UpstreamEvent,
    UpstreamFile,
    UpstreamJob,
    UpstreamStatus,
)
from gateway.runtime import Runtime
from gateway.settings import Settings

# ftgate writes these itself, about its own job and files: the upstream's copies would repeat them.
OWN_TEXTS = ("Created fine-tuning job", "Validating training file", events.FILES_VALIDATED)
OWN_MESSAGES = frozenset({events.CANCELLED, events.PAUSED, events.RESUMED})

STATUS_FROM_UPSTREAM = {
    UpstreamStatus.VALIDATING_FILES: JobStatus.QUEUED,
    UpstreamStatus.QUEUED: JobStatus.QUEUED,
    UpstreamStatus.RUNNING: JobStatus.RUNNING,
    UpstreamStatus.PAUSED: JobStatus.PAUSED,
    UpstreamStatus.SUCCEEDED: JobStatus.SUCCEEDED,
    UpstreamStatus.FAILED: JobStatus.FAILED,
    UpstreamStatus.CANCELLED: JobStatus.CANCELLED,
}


@dataclass
class Observation:
    events: dict[str, UpstreamEvent] = field(default_factory=dict)
    # Where each event was read: (reading, place in it). Every reading starts at the newest
    # event, so a later reading's events are newer, and within one the first are the newest.
    places: dict[str, tuple[int, int]] = field(default_factory=dict)
    readings: int = 0
    looked_at: float = field(default_factory=time.time)
    newest_event: str | None = None
    job: UpstreamJob | None = None
    checkpoints: list[UpstreamCheckpoint] | None = None
    results: list[UpstreamFile] = field(default_factory=list)

    def add_event(self, event: UpstreamEvent) -> None:
        if event.id not in self.events:
            self.events[event.id] = event
            self.places[event.id] = (self.readings, len(self.places))

    def new_events(self) -> list[UpstreamEvent]:
        """Oldest first: by the upstream's clock, then by where the event was read."""

        def age(event: UpstreamEvent) -> tuple[int, int, int]:
            reading, place = self.places[event.id]
            return event.created_at, reading, -place

        return sorted(self.events.values(), key=age)


async def record(session: AsyncSession, runtime: Runtime, looks: list[tuple[Job, Observation]]) -> None:
    """Write what was seen of each job (as its lease was taken), its next look and its lease's
    release, in the caller's transaction, with a few statements for all the jobs. A job the client
    moved meanwhile is only let go: the client asked for a look at it at once."""
    if not looks:
        return
    statuses = await scheduling.release_all(session, [job.id for job, _ in looks])
    looks = [(job, seen) for job, seen in looks if statuses.get(job.id) == job.status]
    known = await repository.known_event_keys(session, {job.id: list(seen.events) for job, seen in looks})
    targets = {job.id: _target_status(job, seen.job) for job, seen in looks if seen.job is not None}
    await repository.update_mirrors(
        session, [_mirror_changes(runtime.settings, job, seen, targets.get(job.id)) for job, seen in looks]
    )
    await repository.update_all(
        session, [changes for job, seen in looks if (changes := _job_changes(job, seen))]
    )
    kept = await repository.checkpoints_of(
        session, [job.id for job, seen in looks if seen.checkpoints is not None]
    )
    for job, seen in looks:
        target = targets.get(job.id)
        new = seen.new_events()
        if target == JobStatus.RUNNING:
            await _announce_start(session, job, new)
        _add_events(session, job, new, known[job.id])
        if seen.checkpoints is not None:
            await _sync_checkpoints(session, job, seen.checkpoints, kept[job.id])
        if target is not None and seen.job is not None:
            await _record_status_change(session, runtime, job, target, seen.job, seen.results, new)
        if seen.job is not None and seen.job.estimated_cost_micros is not None:
            await ledger.hold_upstream_estimate(session, job.id, seen.job.estimated_cost_micros)


async def record_carried_action(session: AsyncSession, job: Job, upstream: UpstreamJob) -> None:
    """The upstream carried out the client's action: its state as it answered."""
    await repository.update_mirror_if_status(session, job.id, [job.status], upstream_status=upstream.status)


async def record_refused_action(
    session: AsyncSession, job: Job, action: Action, upstream: UpstreamJob, reason: str
) -> None:
    """The upstream refused the client's `action` (say, it cannot pause this kind of job) and
    keeps its state: ftgate's job goes back to what the upstream's implies (a cancel stands),
    with the reason as a warning."""
    restored = STATUS_FROM_UPSTREAM.get(upstream.status)
    if action != "cancel" and restored is not None and restored not in TERMINAL:
        moved = await lifecycle.follow_upstream(session, job.id, [job.status], restored)
        if moved:
            await repository.update_mirror(session, job.id, upstream_status=upstream.status)
    else:
        moved = await repository.update_mirror_if_status(
            session, job.id, [job.status], upstream_status=upstream.status
        )
    if moved:
        events.add(session, job.id, f"The upstream did not {action} the job: {reason}", level="warn")


def _mirror_changes(
    settings: Settings, job: Job, seen: Observation, target: JobStatus | None
) -> dict[str, Any]:
    """The job's mirror after the look: its `job_id` and the values to set."""
    assert job.mirror is not None
    values: dict[str, Any] = {"upstream_event_cursor": seen.newest_event or job.mirror.upstream_event_cursor}
    if seen.job is not None:
        values |= {"upstream_status": seen.job.status, "upstream_looked_at_ms": now_ms()}
    next_ms = polling.next_look_at(
        settings,
        target or job.status,
        values.get("upstream_status", job.mirror.upstream_status),
        job.updated_at if target is None else int(time.time()),
        since=seen.looked_at,
    )
    return {"job_id": job.id, "next_look_at_ms": next_ms, "upstream_failures": 0} | values


def _job_changes(job: Job, seen: Observation) -> dict[str, Any] | None:
    """The job's row after the look, but for a change of status: its `seq` and the values to set,
    or None when the look changes nothing there."""
    if job.status == JobStatus.RUNNING and seen.job is not None and seen.job.estimated_finish is not None:
        return {"seq": job.seq, "estimated_finish": seen.job.estimated_finish}
    return None


async def _record_status_change(
    session: AsyncSession,
    runtime: Runtime,
    job: Job,
    target: JobStatus,
    upstream: UpstreamJob,
    results: list[UpstreamFile],
    seen_events: list[UpstreamEvent],
) -> None:
    """The job's move to the status the upstream's implies, with its outcome (on success the
    model, trained tokens and result files) and the events of the change."""
    if target == JobStatus.SUCCEEDED:
        await lifecycle.succeed(
            session,
            job.id,
            [job.status],
            fine_tuned_model=upstream.fine_tuned_model,
            trained_tokens=upstream.trained_tokens,
            finished_at=upstream.finished_at,
            result_files=[
                await result_files.store(session, runtime.blobs, job.project_id, item.filename, item.content)
                for item in results
            ],
        )
    elif target == JobStatus.FAILED:
        # The upstream's own error event, if it wrote one, was mirrored with this look or before.
        told = any(event.level == "error" for event in seen_events)
        await lifecycle.fail(
            session,
            job.id,
            [job.status],
            JobError.from_upstream(upstream.error),
            finished_at=upstream.finished_at,
            error_event=not told,
        )
    elif target == JobStatus.CANCELLED:
        await lifecycle.cancel(session, job.id, [job.status], finished_at=upstream.finished_at)
    else:
        await lifecycle.follow_upstream(session, job.id, [job.status], target)
    _announce(session, job, target, upstream, seen_events)


def _target_status(job: Job, upstream: UpstreamJob) -> JobStatus | None:
    """The status the upstream's implies for ftgate's job, unless the client's own word stands or
    it would move back: a terminal status never changes, a running job is not queued again, and
    a pause or resume not yet carried out upstream holds until the upstream ends the job."""
    mapped = STATUS_FROM_UPSTREAM.get(upstream.status)
    if mapped is None or mapped == job.status or job.status in TERMINAL:
        return None
    if job.status == JobStatus.PAUSED and mapped not in TERMINAL:
        return None
    if job.status == JobStatus.RUNNING and mapped == JobStatus.QUEUED:
        return None  # never back: an upstream that restarts a job queues it again (Together)
    if (
        job.status == JobStatus.QUEUED
        and job.mirror is not None
        and job.mirror.upstream_status == UpstreamStatus.PAUSED
        and mapped == JobStatus.PAUSED
    ):
        return None
    return mapped


def _add_events(session: AsyncSession, job: Job, found: list[UpstreamEvent], stored: set[str]) -> None:
    for item in found:
        if item.id in stored or item.message.startswith(OWN_TEXTS) or item.message in OWN_MESSAGES:
            continue
        event = events.add(session, job.id, item.message, level=item.level, data=item.data, type=item.type)
        event.upstream_event_id = item.id
        event.created_at = item.created_at


async def _sync_checkpoints(
    session: AsyncSession, job: Job, upstream: list[UpstreamCheckpoint], kept: list[JobCheckpoint]
) -> None:
    """Checkpoints as the upstream lists them now: new ones added, pruned ones gone."""
    by_step = {
        checkpoint.step_number: checkpoint for checkpoint in sorted(upstream, key=lambda c: c.step_number)
    }
    for checkpoint in kept:
        if checkpoint.step_number not in by_step:
            await session.delete(checkpoint)
        else:
            del by_step[checkpoint.step_number]
    for checkpoint in by_step.values():
        session.add(
            checkpoint_row(
                job.id, checkpoint.step_number, checkpoint.name, checkpoint.metrics, checkpoint.created_at
            )
        )


async def _announce_start(session: AsyncSession, job: Job, new: list[UpstreamEvent]) -> None:
    """A start the upstream did not tell of, placed before the steps that came with it."""
    told = any(event.message == events.STARTED for event in new)
    if not told and await repository.count_events(session, job.id, events.STARTED) == 0:
        events.add(session, job.id, events.STARTED)


def _announce(
    session: AsyncSession, job: Job, target: JobStatus, upstream: UpstreamJob, seen: list[UpstreamEvent]
) -> None:
    """Events for a status change the upstream made without telling (or that ftgate keeps to
    itself, like pause and resume; a failure's is `lifecycle.fail`'s). `seen` are the upstream's
    events of this look, stored now or at an earlier one: a job's end is read with all its events."""
    messages = {event.message for event in seen}
    if target == JobStatus.PAUSED:
        events.add(session, job.id, events.PAUSED)
    elif target == JobStatus.QUEUED and job.status == JobStatus.PAUSED:
        events.add(session, job.id, events.RESUMED)
    elif target == JobStatus.CANCELLED:
        events.add(session, job.id, events.CANCELLED, level="warn")
    elif target == JobStatus.SUCCEEDED:
        if not any(message.startswith(events.MODEL_CREATED_PREFIX) for message in messages):
            events.add(session, job.id, f"{events.MODEL_CREATED_PREFIX}{upstream.fine_tuned_model}")
        if events.SUCCEEDED not in messages:
            events.add(session, job.id, events.SUCCEEDED)


def now_ms() -> int:
    return int(time.time() * 1000)
