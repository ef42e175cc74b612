"""jobs: the columns of an upstream job's looks named for the look (the last one, and the next)

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fine_tuning_jobs_next_poll_at_ms"))
        batch_op.alter_column("next_poll_at_ms", new_column_name="next_look_at_ms")
        batch_op.alter_column("upstream_polled_at_ms", new_column_name="upstream_looked_at_ms")
    op.create_index("ix_fine_tuning_jobs_next_look_at_ms", "fine_tuning_jobs", ["next_look_at_ms"])


def downgrade() -> None:
    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fine_tuning_jobs_next_look_at_ms"))
        batch_op.alter_column("next_look_at_ms", new_column_name="next_poll_at_ms")
        batch_op.alter_column("upstream_looked_at_ms", new_column_name="upstream_polled_at_ms")
    op.create_index("ix_fine_tuning_jobs_next_poll_at_ms", "fine_tuning_jobs", ["next_poll_at_ms"])
