"""artifact_objects and artifact_chunks: the database artifact store

Uploads, checkpoints and final models as chunked rows in the database fitq already uses
(FITQ_ARTIFACT_STORE=database, the production default), so a cluster shares nothing but the
database and the broker. An object's chunks are stored under its version, not its key: a put
writes a new version's chunks and swaps the object row in one transaction. No foreign key
between the two: the store deletes a version's chunks with its row, in the same transaction.
On PostgreSQL the chunks are stored uncompressed, as in 0008: checkpoints and float arrays do
not compress, and PostgreSQL would try on every write.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "artifact_objects",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_artifact_objects")),
        sa.UniqueConstraint("version", name=op.f("uq_artifact_objects_version")),
    )
    op.create_table(
        "artifact_chunks",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("version", "seq", name=op.f("pk_artifact_chunks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("artifact_chunks")
    op.drop_table("artifact_objects")
