"""model aliases: a project's old model ids answered by replacements; longer audit object ids

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_aliases",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("replacement", sa.String(length=512), nullable=False),
        sa.Column("active_from", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_model_aliases_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_model_aliases")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_model_aliases_project_id_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.create_index("ix_model_aliases_project_seq", ["project_id", "seq"], unique=False)

    # An alias's name (an old fine-tuned model id) is the audit entries' object id.
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column(
            "object_id",
            existing_type=sa.String(length=128),
            type_=sa.String(length=512),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column(
            "object_id",
            existing_type=sa.String(length=512),
            type_=sa.String(length=128),
            existing_nullable=True,
        )

    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.drop_index("ix_model_aliases_project_seq")

    op.drop_table("model_aliases")
