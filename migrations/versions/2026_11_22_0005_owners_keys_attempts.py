"""owners, api keys, idempotency keys and delivery attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNED = ("experiments", "studies", "datasets")


def upgrade() -> None:
    # Rows made before owners existed belong to the embedded single user, "local".
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("owner", sa.String(length=100), nullable=False, server_default="local")
            )
            batch.create_index(op.f(f"ix_{table}_owner"), ["owner"])
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("datasets") as batch:
        batch.drop_constraint("uq_datasets_sha256", type_="unique")
        batch.create_unique_constraint("uq_datasets_owner_sha256", ["owner", "sha256"])
    # The default served the backfill only; the application always sets the owner.
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("owner", server_default=None)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_owner"), "api_keys", ["owner"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("owner", "key", name="uq_idempotency_keys_owner_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_api_keys_owner"), table_name="api_keys")
    op.drop_table("api_keys")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_constraint("uq_datasets_owner_sha256", type_="unique")
        batch.create_unique_constraint("uq_datasets_sha256", ["sha256"])
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("attempts")
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_owner"))
            batch.drop_column("owner")
