"""What moves a job on after a change of its status, and how it is woken: the one place that
decides between the local trainer (the job's `training_sent_at`, a train task) and an upstream
(the job's next look, a sync task) for a job that was just queued, paused, resumed or cancelled.

A caller asks `for_move` for the job's `Handoff` before the move, sets its `values` with the move
(`lifecycle.move` and its kin), and calls `wake` once the move took effect, in the same
transaction: an upstream job's next look is set there."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import db
from gateway.fine_tuning import scheduling
from gateway.fine_tuning.status import JobStatus
from gateway.models import JobMirror
from gateway.providers.base import Driver
from gateway.runtime import Runtime
from gateway.task_names import SYNC_UPSTREAM_JOB, TRAIN_JOB


def driver(runtime: Runtime, provider_name: str) -> Driver:
    """What moves on the jobs of `provider_name`. An upstream that is not configured here is
    still an upstream: its jobs are looked at, and the look waits for it to come back."""
    provider = runtime.providers.get(provider_name)
    return provider.driver if provider is not None else Driver.LOOKS


def trained_here(runtime: Runtime, provider_name: str) -> bool:
    """Whether ftgate's own trainer moves on the jobs of `provider_name` (else an upstream does)."""
    return driver(runtime, provider_name) is Driver.TRAINER


def trainers(runtime: Runtime) -> list[str]:
    """The providers whose jobs ftgate's own trainer moves on."""
    return [name for name, provider in runtime.providers.items() if provider.driver is Driver.TRAINER]


def new_mirror(runtime: Runtime, provider_name: str) -> JobMirror | None:
    """The mirror of a new job of `provider_name`: one for a job an upstream runs, none for the
    trainer's."""
    return None if trained_here(runtime, provider_name) else JobMirror()


@dataclass(frozen=True)
class Handoff:
    # The job's columns to set with the move, and an upstream job's next look (ms) to set once it
    # took effect, so that the reconciler or the upstream polling takes the job up should the task
    # below be lost.
    values: dict[str, int]
    next_look_at_ms: int | None
    # The task to send once the move commits, if any.
    task: str | None

    async def wake(self, session: AsyncSession, job_id: str) -> None:
        """Set the next look, and queue the task on the session's outbox: it leaves if and only
        if the move commits."""
        if self.next_look_at_ms is not None:
            await scheduling.look_at(session, job_id, self.next_look_at_ms)
        if self.task is not None:
            db.enqueue(session, self.task, job_id)


def for_move(runtime: Runtime, provider_name: str, target: JobStatus, now: float) -> Handoff:
    """For a job of `provider_name` moving to `target` at `now` (Unix seconds): the local trainer
    is woken only for a job to train (`queued`: it notices a pause or a cancel itself); an
    upstream is looked at at once after every move, which carries a client's action to it."""
    if trained_here(runtime, provider_name):
        if target != JobStatus.QUEUED:
            return Handoff({}, None, None)
        return Handoff({"training_sent_at": int(now)}, None, TRAIN_JOB)
    return Handoff({}, int(now * 1000), SYNC_UPSTREAM_JOB)
