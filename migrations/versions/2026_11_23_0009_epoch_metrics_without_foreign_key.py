"""epoch_metrics without a foreign key: its experiment's delete removes its rows by trigger

PostgreSQL checked the foreign key once for every inserted epoch, a query of its own: about
two thirds of the server's CPU for an epoch write (13 of 20 ms for 1,000 rows on the 2-core
test machine; BENCHMARKS.md, "Per-epoch overhead"). Every write already proves the
experiment there: it is fenced by an UPDATE of the experiment's row in the same transaction,
which writes nothing when the row is gone and locks it until the commit. What the key still
did, deleting an experiment's epochs with it (directly or through its study), a trigger on
experiments now does, once per DELETE statement on PostgreSQL. SQLite never enforced the key
(fitq does not turn on its foreign_keys pragma); the trigger now removes the rows there too.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_epoch_metrics_experiment_id_experiments"
# A statement-level trigger sees all the statement's deleted experiments at once (a study's
# cascade deletes them in one statement). Its DELETE runs after the experiments' rows are
# gone, so a write fenced on one of them can no longer commit new epochs behind it.
POSTGRES_FUNCTION = """
CREATE FUNCTION delete_epoch_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM epoch_metrics AS e USING deleted AS d WHERE e.experiment_id = d.id;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER experiments_delete_epoch_metrics AFTER DELETE ON experiments
REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION delete_epoch_metrics()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER experiments_delete_epoch_metrics AFTER DELETE ON experiments FOR EACH ROW
BEGIN DELETE FROM epoch_metrics WHERE experiment_id = OLD.id; END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "epoch_metrics", type_="foreignkey")
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        with op.batch_alter_table("epoch_metrics") as batch:
            batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER experiments_delete_epoch_metrics ON experiments")
        op.execute("DROP FUNCTION delete_epoch_metrics()")
    else:
        op.execute("DROP TRIGGER experiments_delete_epoch_metrics")
    # Rows the key would not have allowed (none, unless written by hand) go first.
    op.execute(
        "DELETE FROM epoch_metrics WHERE experiment_id NOT IN (SELECT id FROM experiments)"
    )
    with op.batch_alter_table("epoch_metrics") as batch:
        batch.create_foreign_key(
            FOREIGN_KEY, "experiments", ["experiment_id"], ["id"], ondelete="CASCADE"
        )
