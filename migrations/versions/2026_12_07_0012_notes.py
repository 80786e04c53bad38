"""notes on experiments and studies: free text a user keeps with a run (PATCH)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, as in 0010: a batch would copy the table on SQLite and lose 0009's trigger.


def upgrade() -> None:
    op.add_column("experiments", sa.Column("notes", sa.Text(), nullable=True))
    op.add_column("studies", sa.Column("notes", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("studies", "notes")
    op.drop_column("experiments", "notes")
