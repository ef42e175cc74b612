"""home adapters: upstream jobs' adapters downloaded and served by ftgate's own engine

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "home_adapters",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("base_model", sa.String(length=256), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["fine_tuning_jobs.id"], name=op.f("fk_home_adapters_job_id_fine_tuning_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_home_adapters")),
    )


def downgrade() -> None:
    op.drop_table("home_adapters")
