"""The epochs of a running job: written in batches with the heartbeat, in one transaction
fenced by the attempt (a job taken over by another attempt writes nothing and hears "lost"),
and read back for the cancel flag. How depends on the engine, chosen once per engine
(`engine_store`): on PostgreSQL a batch is one statement (its epochs as one JSON document, its
chunks as arrays, unpacked by the server; docs: per-epoch overhead); elsewhere (SQLite) it is
SQLAlchemy Core statements in a session. A retried write replaces, never duplicates."""

import functools
import logging
import math
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Engine, Update, bindparam, delete, insert, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from models.db import get_engine, session_scope, statement_scope
from models.series_chunks import chunk_rows
from models.tables import EpochMetric, Experiment, ExperimentStatus, MetricChunk, utcnow
from worker import metrics
from worker.training.db_retry import retrying

log = logging.getLogger(__name__)
Rows = list[tuple[int, dict]]  # (epoch from 1, Keras's logs): consecutive epochs


class EpochState(StrEnum):
    """What a write or a beat hears back: go on, the job was cancelled, or it is no longer
    this attempt's."""

    OK = "ok"
    CANCELLED = "cancelled"
    LOST = "lost"


EXPERIMENTS_TABLE = Experiment.metadata.tables[Experiment.__tablename__]
EPOCHS_TABLE = EpochMetric.metadata.tables[EpochMetric.__tablename__]
CHUNKS_TABLE = MetricChunk.metadata.tables[MetricChunk.__tablename__]
# The attempt fence, the one clause every write and beat of both engines carries: the job
# still runs and is still this attempt's (:attempt NULL: an unfenced write, tests and tools).
FENCE = (
    f"status = '{ExperimentStatus.RUNNING.value}'"
    " AND (CAST(:attempt AS INTEGER) IS NULL OR attempts = :attempt)"
)


def clean_metrics(logs: Mapping[str, Any]) -> dict[str, float | None]:
    """Keras logs -> JSON-safe floats; a non-finite value becomes None (JSON has no NaN), as
    does None."""
    out: dict[str, float | None] = {}
    for key, value in logs.items():
        number = math.nan if value is None else float(value)
        out[key] = number if math.isfinite(number) else None
    return out


class EngineStore(Protocol):
    """How one engine stores epochs: `write` is the fenced write with the heartbeat as one
    transaction (None: it matched no row, the job is not this attempt's); `insert` adds the
    epochs and chunks alone, in the caller's transaction."""

    def write(self, experiment_id: int, attempt: int | None, rows: Rows) -> bool | None: ...

    def insert(self, session: Session, experiment_id: int, rows: Rows) -> None: ...


# The rows as one JSON document, [[epoch, {metrics}], ...]: one orjson call packs it, where
# psycopg dumped an array's elements one by one in Python (~1 us each).
_PG_EPOCHS = (
    "INSERT INTO epoch_metrics (experiment_id, epoch, metrics, recorded_at)"
    " SELECT :experiment_id, CAST(r.value ->> 0 AS int4), r.value -> 1, :now"
    " FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r"
)
_PG_CHUNKS = (
    "INSERT INTO metric_chunks (experiment_id, metric, first_epoch, last_epoch, packed)"
    " SELECT :experiment_id, c.metric, :first, :last, c.packed"
    " FROM unnest(CAST(:metric_names AS text[]), CAST(:packed AS bytea[])) AS c(metric, packed)"
)


class PostgresStore:
    """One statement a batch, committed on its own: two round trips (the pool's ping, the
    statement) where a session took eight, and the Pulse thread hands the interpreter's lock
    back and forth with the fit at every one. Its data-modifying parts commit or fail
    together, so the fence holds: the epochs and chunks are inserted only where the beat's
    UPDATE found the row still this attempt's (and locked it until the commit, see the delete
    trigger in migration 0009)."""

    EPOCHS, CHUNKS = text(_PG_EPOCHS), text(_PG_CHUNKS)
    FENCED_WRITE = text(
        "WITH beat AS (UPDATE experiments SET heartbeat_at = :now, current_epoch = :last"
        f" WHERE id = :experiment_id AND {FENCE} RETURNING cancel_requested),"
        f" epochs AS ({_PG_EPOCHS} WHERE EXISTS (SELECT FROM beat)),"
        f" chunks AS ({_PG_CHUNKS} WHERE EXISTS (SELECT FROM beat))"
        " SELECT cancel_requested FROM beat"
    )

    def write(self, experiment_id: int, attempt: int | None, rows: Rows) -> bool | None:
        parameters = _pg_parameters(experiment_id, rows, attempt=attempt)
        with statement_scope() as link:
            cancel = link.execute(self.FENCED_WRITE, parameters).scalar_one_or_none()
        return None if cancel is None else bool(cancel)

    def insert(self, session: Session, experiment_id: int, rows: Rows) -> None:
        parameters = _pg_parameters(experiment_id, rows)
        session.execute(self.EPOCHS, parameters)
        session.execute(self.CHUNKS, parameters)


def _pg_parameters(experiment_id: int, rows: Rows, **more: Any) -> dict:
    """rows' metrics are numbers as Keras logs them: orjson writes a non-finite one as null,
    the chunks hold it as NaN (as clean_metrics does)."""
    chunks = chunk_rows(experiment_id, rows)
    return {
        "experiment_id": experiment_id,
        "now": utcnow(),
        "first": rows[0][0],
        "last": rows[-1][0],
        "rows": orjson.dumps(rows, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
        "metric_names": [chunk["metric"] for chunk in chunks],
        "packed": [chunk["packed"] for chunk in chunks],
        **more,
    }


class SqlStore:
    """SQLite (and any other driver): SQLAlchemy Core in a session."""

    def write(self, experiment_id: int, attempt: int | None, rows: Rows) -> bool | None:
        with session_scope() as session:
            cancel = _beat_cancel(session, experiment_id, attempt, current_epoch=rows[-1][0])
            if cancel is not None:
                self.insert(session, experiment_id, rows)
            return cancel

    def insert(self, session: Session, experiment_id: int, rows: Rows) -> None:
        """One statement executed for many parameter sets: it compiles once and is cached,
        where a VALUES list would compile anew for every batch size (~30 ms for 150 rows)."""
        now = utcnow()
        session.execute(
            insert(EPOCHS_TABLE),  # Core: the ORM bulk path costs ~2x per row
            [
                {
                    "experiment_id": experiment_id,
                    "epoch": epoch,
                    "metrics": clean_metrics(metrics),  # JSON has no NaN
                    "recorded_at": now,
                }
                for epoch, metrics in rows
            ],
        )
        chunks = chunk_rows(experiment_id, rows)
        if chunks:
            session.execute(insert(CHUNKS_TABLE), chunks)


@functools.cache
def engine_store(dialect: str) -> EngineStore:
    """The store for an engine's dialect, chosen once."""
    return PostgresStore() if dialect == "postgresql" else SqlStore()


def _store(bind: Engine | Connection) -> EngineStore:
    return engine_store(bind.dialect.name)


def store_epochs(session: Session, experiment_id: int, rows: Rows, replace: bool = True) -> None:
    """The epochs and their chunks, unfenced: the caller fences the write in the same
    transaction (write_epochs) or owns the experiment (tests and tools). replace: first remove
    what is stored of these epochs, so a retried write never duplicates; without it, an
    epoch already there fails the transaction with an IntegrityError."""
    if replace:
        _delete_epochs(session, experiment_id, rows)
    _store(session.get_bind()).insert(session, experiment_id, rows)


def _delete_epochs(session: Session, experiment_id: int, rows: Rows) -> None:
    first, last = rows[0][0], rows[-1][0]
    session.execute(
        delete(EpochMetric).where(
            EpochMetric.experiment_id == experiment_id, EpochMetric.epoch.between(first, last)
        )
    )
    session.execute(
        delete(MetricChunk).where(
            MetricChunk.experiment_id == experiment_id,
            MetricChunk.last_epoch >= first,
            MetricChunk.first_epoch <= last,
        )
    )


def write_epochs(experiment_id: int, attempt: int | None, rows: Rows) -> EpochState:
    """Write consecutive finished epochs (their metrics numbers, as Keras logs them; a
    non-finite one is stored as null) and the heartbeat in one transaction, retrying through a
    database outage; LOST when the job is no longer this attempt's (nothing is written)."""

    def action() -> EpochState:
        # New epochs are the rule: the deletes that make a write replace run only when some
        # of these epochs are there already (a try whose commit was not acknowledged), and
        # the first try, one statement or one transaction, was rolled back whole.
        try:
            return _state(_store(get_engine()).write(experiment_id, attempt, rows))
        except IntegrityError:
            return _replace(experiment_id, attempt, rows)

    started = time.perf_counter()
    state = retrying(action)
    if state != EpochState.LOST:
        metrics.epochs_written(len(rows), time.perf_counter() - started)
    return state


def _replace(experiment_id: int, attempt: int | None, rows: Rows) -> EpochState:
    with session_scope() as session:
        # The fence first: a job taken over since the first try loses nothing to its deletes.
        cancel = _beat_cancel(session, experiment_id, attempt, current_epoch=rows[-1][0])
        if cancel is not None:
            store_epochs(session, experiment_id, rows, replace=True)
        return _state(cancel)


def write_epoch(experiment_id: int, attempt: int | None, epoch: int, metrics: dict) -> EpochState:
    return write_epochs(experiment_id, attempt, [(epoch, metrics)])


def record_epoch(experiment_id: int, epoch: int, metrics: dict) -> bool:
    """Unfenced write_epoch (tests and tools); whether cancel was requested."""
    return write_epoch(experiment_id, None, epoch, metrics) == EpochState.CANCELLED


def heartbeat(experiment_id: int, attempt: int | None = None) -> EpochState:
    """Liveness while epochs run. A failed beat is skipped, not fatal: the next one retries."""
    try:
        # One statement, committed on its own: two round trips with the pool's ping, not
        # four (no BEGIN, no COMMIT), on the Pulse thread every beat.
        with statement_scope() as link:
            return _state(_beat_cancel(link, experiment_id, attempt))
    except (OperationalError, DBAPIError) as exc:
        log.warning("heartbeat of experiment %s skipped: %s", experiment_id, type(exc).__name__)
        return EpochState.OK


def _beat_cancel(
    link: Session | Connection, experiment_id: int, attempt: int | None, **values: Any
) -> bool | None:
    """The fenced heartbeat (with `values` set too): the cancel flag, None when it matched no
    row."""
    statement = _beat_statement(tuple(sorted(values)))
    given = {f"new_{column}": value for column, value in values.items()}
    parameters = {"experiment_id": experiment_id, "attempt": attempt, "now": utcnow(), **given}
    cancel = link.execute(statement, parameters).scalar_one_or_none()
    return None if cancel is None else bool(cancel)


def _state(cancel: bool | None) -> EpochState:
    if cancel is None:
        return EpochState.LOST
    return EpochState.CANCELLED if cancel else EpochState.OK


@functools.cache
def _beat_statement(columns: tuple[str, ...]) -> Update:
    """The heartbeat's UPDATE, built once for each shape: building the expression anew
    took more of the Pulse thread's CPU than running it (~0.9 ms a beat, against ~0.1)."""
    table = EXPERIMENTS_TABLE
    return (
        update(table)
        .where(table.c.id == bindparam("experiment_id"), text(FENCE))
        .values(heartbeat_at=bindparam("now"), **{c: bindparam(f"new_{c}") for c in columns})
        .returning(table.c.cancel_requested)
    )
