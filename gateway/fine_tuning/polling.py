"""When to look at an upstream job again: soon while it runs or has just changed, rarely while
it waits or is paused, never once both sides are done."""

import time

from gateway.fine_tuning.status import TERMINAL, JobStatus
from gateway.models import Job
from gateway.providers.base import UPSTREAM_TERMINAL, UpstreamStatus
from gateway.settings import Settings


def next_look_ms(settings: Settings, job: Job) -> int | None:
    """The moment (ms) of the next look at `job` (an upstream's) as it now stands, or None."""
    assert job.mirror is not None
    return next_look_at(settings, job.status, job.mirror.upstream_status, job.updated_at)


def next_look_at(
    settings: Settings, status: str, upstream_status: str | None, updated_at: int, since: float | None = None
) -> int | None:
    """The moment (ms) of the next look, counted from `since` (the last look's start) or now."""
    delay = _delay(settings, status, upstream_status, updated_at)
    return None if delay is None else at_ms(delay, since)


def at_ms(delay_seconds: float, since: float | None = None) -> int:
    return int(((time.time() if since is None else since) + delay_seconds) * 1000)


def _delay(settings: Settings, status: str, upstream_status: str | None, updated_at: int) -> float | None:
    if status in TERMINAL and (upstream_status is None or upstream_status in UPSTREAM_TERMINAL):
        return None
    if (
        upstream_status == UpstreamStatus.RUNNING
        or time.time() - updated_at < settings.upstream_poll_recent_seconds
    ):
        return settings.upstream_poll_running_seconds
    if status == JobStatus.PAUSED or upstream_status == UpstreamStatus.PAUSED:
        return settings.upstream_poll_paused_seconds
    return settings.upstream_poll_waiting_seconds
