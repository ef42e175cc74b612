"""jobs: what ftgate knows of an upstream job in its own table, one row per upstream job; files
indexed on their expiry

Every job that an upstream runs (not the local trainer's, not imported history) gets a row with
its columns as they stood. An upstream job still at work that was never scheduled (no look
planned and none seen) is due at once (0), as the due-look query used to take it; finished jobs
keep no next look, so the due looks are read from the index alone. The downgrade puts the
columns back with their values, and an imported job's upstream status back to its status (what
the import wrote there).

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIRRORED = (
    "upstream_status",
    "upstream_submitted_at",
    "upstream_event_cursor",
    "upstream_failures",
    "upstream_looked_at_ms",
    "next_look_at_ms",
)


def upgrade() -> None:
    op.create_table(
        "fine_tuning_job_mirrors",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("upstream_status", sa.String(length=32), nullable=True),
        sa.Column("upstream_submitted_at", sa.Integer(), nullable=True),
        sa.Column("upstream_event_cursor", sa.String(length=128), nullable=True),
        sa.Column("upstream_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("upstream_looked_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("next_look_at_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["fine_tuning_jobs.id"],
            name=op.f("fk_fine_tuning_job_mirrors_job_id_fine_tuning_jobs"),
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_fine_tuning_job_mirrors")),
    )
    op.create_index(
        op.f("ix_fine_tuning_job_mirrors_next_look_at_ms"), "fine_tuning_job_mirrors", ["next_look_at_ms"]
    )
    op.execute(
        "INSERT INTO fine_tuning_job_mirrors (job_id, upstream_status, upstream_submitted_at, "
        "upstream_event_cursor, upstream_failures, upstream_looked_at_ms, next_look_at_ms) "
        "SELECT id, upstream_status, upstream_submitted_at, upstream_event_cursor, upstream_failures, "
        "upstream_looked_at_ms, CASE WHEN next_look_at_ms IS NULL AND upstream_status IS NULL "
        "AND status IN ('queued', 'running', 'paused') THEN 0 ELSE next_look_at_ms END "
        "FROM fine_tuning_jobs WHERE provider != 'local' AND imported_from IS NULL"
    )
    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fine_tuning_jobs_next_look_at_ms"))
        for column in reversed(MIRRORED):
            batch_op.drop_column(column)
    op.create_index(op.f("ix_files_expires_at"), "files", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_files_expires_at"), table_name="files")
    with op.batch_alter_table("fine_tuning_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upstream_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("upstream_submitted_at", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("upstream_event_cursor", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("upstream_failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("upstream_looked_at_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("next_look_at_ms", sa.BigInteger(), nullable=True))
    for column in MIRRORED:
        op.execute(
            f"UPDATE fine_tuning_jobs SET {column} = (SELECT mirror.{column} FROM fine_tuning_job_mirrors "
            "AS mirror WHERE mirror.job_id = fine_tuning_jobs.id) "
            "WHERE id IN (SELECT job_id FROM fine_tuning_job_mirrors)"
        )
    op.execute("UPDATE fine_tuning_jobs SET upstream_status = status WHERE imported_from IS NOT NULL")
    op.create_index("ix_fine_tuning_jobs_next_look_at_ms", "fine_tuning_jobs", ["next_look_at_ms"])
    op.drop_index(op.f("ix_fine_tuning_job_mirrors_next_look_at_ms"), table_name="fine_tuning_job_mirrors")
    op.drop_table("fine_tuning_job_mirrors")
