"""upstream jobs: submission, mirroring and polling state; files uploaded to upstreams

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upstream_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("upstream_submitted_at", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("upstream_event_cursor", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("upstream_failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("upstream_polled_at_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("next_poll_at_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_fine_tuning_jobs_next_poll_at_ms"), ["next_poll_at_ms"], unique=False
        )
    op.create_table(
        "upstream_files",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("upstream", sa.String(length=64), nullable=False),
        sa.Column("upstream_file_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_upstream_files")),
        sa.UniqueConstraint("file_id", "upstream", name=op.f("uq_upstream_files_file_id_upstream")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("upstream_files")
    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fine_tuning_jobs_next_poll_at_ms"))
        for column in (
            "next_poll_at_ms",
            "upstream_polled_at_ms",
            "upstream_failures",
            "upstream_event_cursor",
            "upstream_submitted_at",
            "upstream_status",
        ):
            batch_op.drop_column(column)
