"""Job statuses and the transitions a client may ask for.

`paused` is not in the spec's status enum, but the spec's own pause example returns it.
"""

from enum import StrEnum


class JobStatus(StrEnum):
    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
# A local job's statuses while its trainer has it (or is about to).
TRAINING = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})

CLIENT_ACTIONS: dict[str, tuple[frozenset[JobStatus], JobStatus]] = {
    "cancel": (
        frozenset({JobStatus.VALIDATING_FILES, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED}),
        JobStatus.CANCELLED,
    ),
    "pause": (frozenset({JobStatus.QUEUED, JobStatus.RUNNING}), JobStatus.PAUSED),
    "resume": (frozenset({JobStatus.PAUSED}), JobStatus.QUEUED),
}
