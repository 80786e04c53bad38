"""experiment trainer: the compiled trainer or model.fit, its compile time, why it fell back

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A plain ALTER, as in 0010: a batch would copy the table on SQLite and lose 0009's trigger.


def upgrade() -> None:
    op.add_column("experiments", sa.Column("trainer", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("experiments", "trainer")
