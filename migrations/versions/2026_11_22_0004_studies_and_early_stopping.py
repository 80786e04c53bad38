"""studies, study runs and early stopping

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("study_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("repeat", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("grid_values", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("stopped_epoch", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_experiments_study_id_studies"),
            "studies",
            ["study_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_experiments_study_id"), ["study_id"])


def downgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.drop_index(op.f("ix_experiments_study_id"))
        batch.drop_constraint(op.f("fk_experiments_study_id_studies"), type_="foreignkey")
        for column in ("stop_reason", "stopped_epoch", "grid_values", "repeat", "variant", "study_id"):
            batch.drop_column(column)
    op.drop_table("studies")
