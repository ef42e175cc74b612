"""openai import: jobs and files imported as history, and the upstream's own hyperparameters

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_from", sa.String(length=512), nullable=True))

    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_from", sa.String(length=512), nullable=True))
        batch_op.add_column(
            sa.Column(
                "hyperparameters",
                sa.JSON(none_as_null=True).with_variant(
                    postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
                ),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.drop_column("hyperparameters")
        batch_op.drop_column("imported_from")

    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("imported_from")
