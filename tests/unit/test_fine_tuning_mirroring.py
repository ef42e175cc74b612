"""A job's status follows its upstream's, and never moves back (gateway/fine_tuning/mirroring.py)."""

from types import SimpleNamespace

import pytest

from gateway.fine_tuning.mirroring import _target_status
from gateway.fine_tuning.status import JobStatus
from gateway.providers.base import UpstreamJob, UpstreamStatus


def target(status: JobStatus, upstream_status: str | None, seen: str) -> JobStatus | None:
    job = SimpleNamespace(status=status, mirror=SimpleNamespace(upstream_status=upstream_status))
    return _target_status(job, UpstreamJob(id="u", status=UpstreamStatus.read(seen)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "before", "seen"),
    [
        (JobStatus.QUEUED, "queued", "validating_files"),  # Fireworks: CREATING, then VALIDATING
        (JobStatus.RUNNING, "running", "validating_files"),
        (JobStatus.RUNNING, "running", "queued"),  # an upstream that restarts a job
        (JobStatus.SUCCEEDED, "succeeded", "running"),
    ],
)
def test_an_upstream_status_never_moves_a_job_back(status: JobStatus, before: str, seen: str):
    assert target(status, before, seen) is None


def test_an_upstream_status_moves_a_job_forward():
    assert target(JobStatus.QUEUED, "validating_files", "running") == JobStatus.RUNNING
    assert target(JobStatus.RUNNING, "running", "succeeded") == JobStatus.SUCCEEDED


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED])
def test_a_state_ftgate_does_not_know_leaves_the_job_as_it_is(status: JobStatus):
    assert UpstreamStatus.read("JOB_STATE_SOMETHING_NEW") == UpstreamStatus.UNKNOWN
    assert target(status, "running", "JOB_STATE_SOMETHING_NEW") is None


def test_an_adapter_names_its_upstreams_own_states():
    names = {"pending": UpstreamStatus.QUEUED, "completed": UpstreamStatus.SUCCEEDED}
    assert UpstreamStatus.read("pending", names) == UpstreamStatus.QUEUED
    assert UpstreamStatus.read("completed", names) == UpstreamStatus.SUCCEEDED
    assert UpstreamStatus.read("running", names) == UpstreamStatus.RUNNING
