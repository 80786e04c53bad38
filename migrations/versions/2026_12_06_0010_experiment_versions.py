"""experiment versions: fitq, Keras, the backend, numpy and Python that ran it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, not a batch: SQLite (3.35+) adds and drops a column in place, where a batch
# would copy the table and lose 0009's trigger on it.


def upgrade() -> None:
    op.add_column("experiments", sa.Column("versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("experiments", "versions")
