"""What moves a job on after a change of its status, and how it is woken
(gateway/fine_tuning/handoff.py)."""

from types import SimpleNamespace

import pytest

from gateway.fine_tuning import handoff
from gateway.fine_tuning.status import JobStatus
from gateway.providers.base import Driver
from gateway.providers.config import UpstreamSpec
from gateway.providers.registry import build_providers
from gateway.task_names import SYNC_UPSTREAM_JOB, TRAIN_JOB

NOW = 1_700_000_000.25
MOVES = [JobStatus.QUEUED, JobStatus.PAUSED, JobStatus.CANCELLED]


@pytest.fixture
async def runtime():
    upstream = UpstreamSpec.model_validate({"name": "up", "api_key": "k"})
    providers = build_providers([upstream], [])
    yield SimpleNamespace(providers=providers)
    for provider in providers.values():
        await provider.close()


async def woken(moved: handoff.Handoff, job_id: str = "ftjob-1") -> list[tuple[str, str]]:
    """The tasks a local job's handoff queues (it writes nothing: an upstream's sets the next look
    of the job's mirror, which the contract tests read back)."""
    session = SimpleNamespace(info={})
    await moved.wake(session, job_id)  # type: ignore[arg-type]
    return session.info.get("outbox", [])


async def test_a_local_job_queued_is_sent_to_the_trainer(runtime):
    moved = handoff.for_move(runtime, "local", JobStatus.QUEUED, NOW)
    assert (moved.values, moved.next_look_at_ms) == ({"training_sent_at": 1_700_000_000}, None)
    assert await woken(moved) == [(TRAIN_JOB, "ftjob-1")]


@pytest.mark.parametrize("target", [JobStatus.PAUSED, JobStatus.CANCELLED])
async def test_a_local_job_paused_or_cancelled_wakes_nothing_the_trainer_notices_itself(runtime, target):
    moved = handoff.for_move(runtime, "local", target, NOW)
    assert (moved.values, moved.next_look_at_ms) == ({}, None)
    assert await woken(moved) == []


@pytest.mark.parametrize("target", MOVES)
def test_an_upstream_job_is_looked_at_at_once_after_every_move(runtime, target):
    moved = handoff.for_move(runtime, "up", target, NOW)
    assert (moved.values, moved.next_look_at_ms) == ({}, 1_700_000_000_250)
    assert moved.task == SYNC_UPSTREAM_JOB


@pytest.mark.parametrize("target", MOVES)
def test_a_job_of_an_upstream_not_configured_here_is_still_an_upstream_job(runtime, target):
    assert handoff.driver(runtime, "gone") is Driver.LOOKS
    assert not handoff.trained_here(runtime, "gone")
    moved = handoff.for_move(runtime, "gone", target, NOW)
    assert (moved.values, moved.next_look_at_ms) == ({}, 1_700_000_000_250)
    assert moved.task == SYNC_UPSTREAM_JOB


def test_the_provider_says_what_drives_its_jobs(runtime):
    assert handoff.driver(runtime, "local") is Driver.TRAINER and handoff.trained_here(runtime, "local")
    assert handoff.driver(runtime, "up") is Driver.LOOKS and not handoff.trained_here(runtime, "up")


def test_only_a_job_an_upstream_runs_has_a_mirror(runtime):
    assert handoff.new_mirror(runtime, "local") is None
    assert handoff.new_mirror(runtime, "up") is not None
    assert handoff.new_mirror(runtime, "gone") is not None
