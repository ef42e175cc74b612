"""jobs: one job per upstream job, (provider, upstream_id) unique

A webhook finds its job by the upstream's id, which was a scan of every job; and two jobs can no
longer claim one upstream job. Jobs without one (local, not yet sent) keep a null upstream id,
which the index allows any number of times.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ux_fine_tuning_jobs_provider_upstream_id"


def upgrade() -> None:
    op.create_index(INDEX, "fine_tuning_jobs", ["provider", "upstream_id"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="fine_tuning_jobs")
