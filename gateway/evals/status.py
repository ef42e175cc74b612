"""An eval run's statuses (spelt as the spec spells them: `canceled`) and its one-way moves:
queued -> in_progress -> completed | failed, and canceled from either of the first two."""

from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELED = "canceled"
    FAILED = "failed"


ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.IN_PROGRESS})
TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.CANCELED, RunStatus.FAILED})
