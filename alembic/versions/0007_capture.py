"""capture: recording a project's chats with an upstream-served model as training examples

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=512), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("sample_rate", sa.Double(), nullable=False),
        sa.Column("held_out_fraction", sa.Double(), nullable=False),
        sa.Column("max_examples", sa.BigInteger(), nullable=False),
        sa.Column("max_bytes", sa.BigInteger(), nullable=False),
        sa.Column("drop_fields", _json(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.Column("training_file_id", sa.String(length=64), nullable=True),
        sa.Column("held_out_file_id", sa.String(length=64), nullable=True),
        sa.Column("training_examples", sa.BigInteger(), nullable=False),
        sa.Column("held_out_examples", sa.BigInteger(), nullable=False),
        sa.Column("training_bytes", sa.BigInteger(), nullable=False),
        sa.Column("held_out_bytes", sa.BigInteger(), nullable=False),
        sa.Column("tally", _json(), nullable=False),
        sa.Column("capped_at", sa.Integer(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_captures_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_captures")),
        sa.UniqueConstraint("id", name=op.f("uq_captures_id")),
        sa.UniqueConstraint("project_id", "model", name=op.f("uq_captures_project_id_model")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("captures")
