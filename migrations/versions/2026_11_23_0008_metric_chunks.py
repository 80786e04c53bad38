"""metric_chunks: each metric of each epoch write, packed

The series behind downsampled histories and plots is read from these instead of from every
epoch's jsonb. Experiments recorded before this migration have no chunks and are read from
epoch_metrics as before. On PostgreSQL the packed column is stored uncompressed: float64
noise does not compress, and PostgreSQL would try on every write and read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_chunks",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("first_epoch", sa.Integer(), nullable=False),
        sa.Column("last_epoch", sa.Integer(), nullable=False),
        sa.Column("packed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_metric_chunks_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "experiment_id", "metric", "first_epoch", name=op.f("pk_metric_chunks")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE metric_chunks ALTER COLUMN packed SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("metric_chunks")
