"""A hot read selects exactly the columns that its schema's `of` reads of a row."""

import pytest

from gateway.fine_tuning.hot_reads import SCHEMAS
from gateway.models import Job, JobEvent

HYPERPARAMETERS = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.0}
METHOD = {"type": "supervised", "supervised": {"hyperparameters": HYPERPARAMETERS}}
ROWS = [
    Job(
        id="ftjob-1",
        created_at=1,
        error={"code": "invalid_training_file", "message": "bad", "param": "training_file"},
        fine_tuned_model=None,
        finished_at=2,
        hyperparameters=HYPERPARAMETERS,
        model="tiny-chat",
        organization_id="org-1",
        result_files=[],
        seed=7,
        status="failed",
        trained_tokens=None,
        training_file="file-1",
        validation_file=None,
        integrations=None,
        estimated_finish=None,
        method=METHOD,
        user_metadata={"team": "a"},
        suffix=None,
    ),
    Job(
        id="ftjob-2",
        created_at=1,
        error=None,
        hyperparameters=None,  # shown from the method
        model="tiny-chat",
        organization_id="org-1",
        result_files=["file-2"],
        seed=7,
        status="succeeded",
        training_file="file-1",
        integrations=[{"type": "wandb", "wandb": {"project": "p"}}],
        method=METHOD,
    ),
    JobEvent(id="ftevent-1", created_at=1, level="info", message="Step 1", data={"step": 1}, type="metrics"),
]


class Recording:
    """A row that notes every attribute read of it."""

    def __init__(self, row: object) -> None:
        self._row = row
        self.read: list[str] = []

    def __getattr__(self, name: str) -> object:
        self.read.append(name)
        return getattr(self._row, name)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_of_reads_its_schemas_columns_and_nothing_else(row: Job | JobEvent) -> None:
    schema = SCHEMAS[type(row)]
    recording = Recording(row)
    assert schema.of(recording) == schema.of(row)  # type: ignore[arg-type]
    assert set(recording.read) == set(schema.COLUMNS)
