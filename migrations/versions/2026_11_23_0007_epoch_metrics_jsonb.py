"""epoch_metrics.metrics as jsonb on PostgreSQL

Reading one metric of every epoch (the series behind downsampled histories and plots) took
PostgreSQL most of its time parsing each row's json text again; jsonb is stored parsed.
The ALTER rewrites the table under an exclusive lock (about a second per 100,000 rows
here). SQLite has no jsonb: nothing changes there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 02:30:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _retype(postgresql.JSON(), postgresql.JSONB(), "jsonb")


def downgrade() -> None:
    _retype(postgresql.JSONB(), postgresql.JSON(), "json")


def _retype(old: postgresql.JSON, new: postgresql.JSON, cast: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "epoch_metrics",
            "metrics",
            type_=new,
            existing_type=old,
            existing_nullable=False,
            postgresql_using=f"metrics::{cast}",
        )
