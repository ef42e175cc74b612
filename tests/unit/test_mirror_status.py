"""A job's status follows its upstream's, and never moves back (workers/upstream/mirror.py)."""

from types import SimpleNamespace

import pytest

from gateway.fine_tuning.status import JobStatus
from gateway.providers.base import UpstreamJob
from workers.upstream.mirror import _target_status


def target(status: JobStatus, upstream_status: str | None, seen: str) -> JobStatus | None:
    job = SimpleNamespace(status=status, upstream_status=upstream_status)
    return _target_status(job, UpstreamJob(id="u", status=seen))  # type: ignore[arg-type]


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
