"""The job's conversation with SQL: claim, epoch writes, cancel flag, final status.
Each function is its own short transaction (session_scope is the edge).

Every write after the claim is fenced by the attempt number the claim returned: a worker
presumed dead (stale heartbeat) whose job was reclaimed finds its writes match no row and
stops, so two workers never both write one job's history."""

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, NamedTuple, TypeVar

from sqlalchemy import (
    Connection,
    Update,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from models.db import get_engine, session_scope, statement_scope
from models.series_chunks import chunk_rows
from models.settings import get_settings
from models.tables import EpochMetric, Experiment, ExperimentStatus, MetricChunk, utcnow
from worker.training import array_writes

log = logging.getLogger(__name__)
RUNNING = ExperimentStatus.RUNNING.value
QUEUED = ExperimentStatus.QUEUED.value
T = TypeVar("T")
# How long an epoch write keeps retrying through a database outage before the job fails.
DB_RETRY_SECONDS = 60.0
EpochState = Literal["ok", "cancelled", "lost"]
EXPERIMENTS_TABLE = Experiment.metadata.tables[Experiment.__tablename__]
EPOCHS_TABLE = EpochMetric.metadata.tables[EpochMetric.__tablename__]
CHUNKS_TABLE = MetricChunk.metadata.tables[MetricChunk.__tablename__]


def retrying(action: Callable[[], T], budget: float = DB_RETRY_SECONDS) -> T:
    """Run `action` (a whole transaction), retrying lost connections with backoff.
    pool_pre_ping replaces dead pooled connections; this covers the outage itself."""
    deadline = time.monotonic() + budget
    delay = 0.25
    while True:
        try:
            return action()
        except (OperationalError, DBAPIError) as exc:
            disconnect = isinstance(exc, OperationalError) or exc.connection_invalidated
            if not disconnect or time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable (%s); retrying in %.1fs", type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)  # back soon after the database is


class Claim(NamedTuple):
    spec: dict[str, Any]
    attempt: int  # the fencing token of every later write
    recorded_epoch: int  # the last epoch in the history: no checkpoint past it is trusted


class EarlyStop(NamedTuple):
    """Early stopping ended the fit: the last epoch that ran (from 1) and why."""

    epoch: int
    reason: str


def claim(experiment_id: int, worker: str) -> Claim | None:
    """queued -> running, or running with a stale heartbeat -> running (a reclaim), with one
    conditional UPDATE that counts the attempt; None when it is not ours to run (finished,
    cancelled, or held by a live worker). Past max_attempts the job fails instead."""
    settings = get_settings()
    now = utcnow()
    stale = now - timedelta(seconds=settings.heartbeat_timeout_seconds)
    with session_scope() as session:
        row = session.execute(
            update(Experiment)
            .where(
                Experiment.id == experiment_id,
                Experiment.cancel_requested.is_(False),
                or_(
                    Experiment.status == QUEUED,
                    and_(Experiment.status == RUNNING, Experiment.heartbeat_at < stale),
                ),
            )
            .values(
                status=RUNNING,
                started_at=func.coalesce(Experiment.started_at, now),
                heartbeat_at=now,
                worker=worker,
                attempts=Experiment.attempts + 1,
            )
            .returning(Experiment.spec, Experiment.attempts, Experiment.current_epoch)
        ).one_or_none()
    if row is None:
        return None
    spec, attempt, recorded_epoch = row
    if attempt > settings.max_attempts:
        finish(
            experiment_id,
            ExperimentStatus.FAILED,
            f"gave up after {attempt - 1} attempts: each time its worker stopped without "
            "finishing it (killed, out of memory, or lost)",
            attempt=attempt,
        )
        return None
    return Claim(spec, attempt, recorded_epoch)


def resume_at(experiment_id: int, epoch: int) -> None:
    """Make the history end at `epoch`, the checkpoint the fit resumes from: rows after it
    (written after the last checkpoint by a worker that died) are removed and rewritten."""

    def action() -> None:
        with session_scope() as session:
            session.execute(
                delete(EpochMetric).where(
                    EpochMetric.experiment_id == experiment_id, EpochMetric.epoch > epoch
                )
            )
            session.execute(
                delete(MetricChunk).where(
                    MetricChunk.experiment_id == experiment_id, MetricChunk.last_epoch > epoch
                )
            )
            session.execute(
                update(Experiment)
                .where(Experiment.id == experiment_id)
                # Also a heartbeat: loading data and building the model took time.
                .values(current_epoch=epoch, heartbeat_at=utcnow())
            )

    retrying(action)


def record_versions(experiment_id: int, attempt: int, versions: dict[str, str]) -> None:
    """What this attempt runs with (fenced: a stale attempt does not overwrite the new one's)."""
    _record(experiment_id, attempt, versions=versions)


def record_trainer(experiment_id: int, attempt: int, trainer: dict[str, Any]) -> None:
    """The trainer this attempt fits with (worker/training/trainers.py), fenced likewise."""
    _record(experiment_id, attempt, trainer=trainer)


def _record(experiment_id: int, attempt: int, **values: Any) -> None:
    def action() -> None:
        with session_scope() as session:
            session.execute(
                update(Experiment)
                .where(Experiment.id == experiment_id, Experiment.attempts == attempt)
                .values(**values)
            )

    retrying(action)


def clean_metrics(logs: Mapping[str, Any]) -> dict[str, float | None]:
    """Keras logs -> JSON-safe floats; a non-finite value becomes None (JSON has no NaN), as
    does None."""
    out: dict[str, float | None] = {}
    for key, value in logs.items():
        number = math.nan if value is None else float(value)
        out[key] = number if math.isfinite(number) else None
    return out


def store_epochs(
    session: Session, experiment_id: int, rows: list[tuple[int, dict]], replace: bool = True
) -> None:
    """One row per (experiment, epoch), and the batch's metric_chunks, unfenced: the caller
    fences the write in the same transaction (write_epochs) or owns the experiment (tests and
    tools). replace: first remove what is stored of these epochs (consecutive, as
    write_epochs takes them), so a retried write never duplicates; without it, an epoch
    already there fails the transaction with an IntegrityError."""
    if replace:
        _delete_epochs(session, experiment_id, rows)
    if array_writes.supported(session.get_bind()):
        array_writes.store(session, experiment_id, rows)
    else:
        _insert_epochs(session, experiment_id, rows)


def _delete_epochs(session: Session, experiment_id: int, rows: list[tuple[int, dict]]) -> None:
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


def _insert_epochs(session: Session, experiment_id: int, rows: list[tuple[int, dict]]) -> None:
    """SQLite (and any other driver): one statement executed for many parameter sets. It
    compiles once and is cached, where a VALUES list would compile anew for every batch
    size (~30 ms for 150 rows)."""
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


def _beat(
    link: Session | Connection, experiment_id: int, attempt: int | None, **values: Any
) -> EpochState:
    statement = _beat_statement(attempt is not None, tuple(sorted(values)))
    given = {f"new_{column}": value for column, value in values.items()}
    cancel = link.execute(
        statement, {"experiment_id": experiment_id, "attempt": attempt, "now": utcnow(), **given}
    ).scalar_one_or_none()
    return _state(cancel)


def _state(cancel: bool | None) -> EpochState:
    """A fenced UPDATE's answer: its row's cancel flag, None when it matched no row."""
    if cancel is None:
        return "lost"
    return "cancelled" if cancel else "ok"


@functools.cache
def _beat_statement(fenced: bool, columns: tuple[str, ...]) -> Update:
    """The heartbeat's UPDATE, built once for each shape: building the expression anew
    took more of the Pulse thread's CPU than running it (~0.9 ms a beat, against ~0.1)."""
    table = EXPERIMENTS_TABLE
    fence = [table.c.attempts == bindparam("attempt")] if fenced else []
    return (
        update(table)
        .where(table.c.id == bindparam("experiment_id"), table.c.status == RUNNING, *fence)
        .values(heartbeat_at=bindparam("now"), **{c: bindparam(f"new_{c}") for c in columns})
        .returning(table.c.cancel_requested)
    )


def record_epoch(experiment_id: int, epoch: int, metrics: dict) -> bool:
    """Unfenced write_epoch (tests and tools); whether cancel was requested."""
    return write_epoch(experiment_id, None, epoch, metrics) == "cancelled"


def write_epoch(experiment_id: int, attempt: int | None, epoch: int, metrics: dict) -> EpochState:
    return write_epochs(experiment_id, attempt, [(epoch, metrics)])


def write_epochs(
    experiment_id: int, attempt: int | None, rows: list[tuple[int, dict]]
) -> EpochState:
    """Write consecutive finished epochs (their metrics numbers, as Keras logs them; a
    non-finite one is stored as null) and the heartbeat in one transaction, retrying through a
    database outage; 'lost' when the job is no longer this attempt's (nothing is written)."""

    def action() -> EpochState:
        # New epochs are the rule: the deletes that make a write replace are two statements
        # of the Pulse thread's CPU a write, so they run only when some of these epochs are
        # there already (a try whose commit was not acknowledged), and the first try, one
        # statement or one transaction, was rolled back whole.
        try:
            return _write(experiment_id, attempt, rows, replace=False)
        except IntegrityError:
            return _write(experiment_id, attempt, rows, replace=True)

    return retrying(action)


def _write(
    experiment_id: int, attempt: int | None, rows: list[tuple[int, dict]], replace: bool
) -> EpochState:
    if array_writes.supported(get_engine()) and not replace:
        return _state(array_writes.write(experiment_id, attempt, rows))
    with session_scope() as session:
        # The fence first: a job taken over since the first try loses nothing to its deletes.
        state = _beat(session, experiment_id, attempt, current_epoch=rows[-1][0])
        if state != "lost":
            store_epochs(session, experiment_id, rows, replace)
        return state


def heartbeat(experiment_id: int, attempt: int | None = None) -> EpochState:
    """Mid-epoch liveness. A failed beat is skipped, not fatal: the next one retries."""
    try:
        # One statement, committed on its own: two round trips with the pool's ping, not
        # four (no BEGIN, no COMMIT; see array_writes), on the Pulse thread every beat.
        with statement_scope() as link:
            return _beat(link, experiment_id, attempt)
    except (OperationalError, DBAPIError) as exc:
        log.warning("heartbeat of experiment %s skipped: %s", experiment_id, type(exc).__name__)
        return "ok"


def finish(
    experiment_id: int,
    status: ExperimentStatus,
    error: str | None = None,
    early_stop: EarlyStop | None = None,
    attempt: int | None = None,
    timings: dict[str, Any] | None = None,
    backend: str | None = None,
) -> None:
    # The stop is written with the final status, so a reader never sees a finished
    # experiment whose early stop is not recorded yet.
    stopped_epoch, stop_reason = early_stop or (None, None)
    fence = [] if attempt is None else [Experiment.attempts == attempt]

    def action() -> None:
        with session_scope() as session:
            session.execute(
                update(Experiment)
                .where(Experiment.id == experiment_id, Experiment.status == RUNNING, *fence)
                .values(
                    status=status.value,
                    error=error,
                    finished_at=utcnow(),
                    stopped_epoch=stopped_epoch,
                    stop_reason=stop_reason,
                    **_given(timings=timings, backend=backend),
                )
            )

    retrying(action)


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def last_epoch(experiment_id: int) -> int:
    with session_scope() as session:
        found = session.scalar(
            select(EpochMetric.epoch)
            .where(EpochMetric.experiment_id == experiment_id)
            .order_by(EpochMetric.epoch.desc())
            .limit(1)
        )
    return found or 0


def requeue(experiment_id: int, attempt: int) -> None:
    """Mark a job interrupted by a warm shutdown queued again (the task gives its message back
    to the broker). Its history and checkpoint stay: the next claim resumes from them. A
    hand-back is not a failed attempt, so it is not counted against max_attempts; heartbeat_at
    becomes the time it was queued again, which the reconciler measures from."""

    def action() -> None:
        with session_scope() as session:
            session.execute(
                update(Experiment)
                .where(
                    Experiment.id == experiment_id,
                    Experiment.status == RUNNING,
                    Experiment.attempts == attempt,
                )
                .values(
                    status=QUEUED,
                    heartbeat_at=utcnow(),
                    worker=None,
                    attempts=Experiment.attempts - 1,
                )
            )

    retrying(action)


def store_test_metrics(experiment_id: int, metrics: dict) -> None:
    with session_scope() as session:
        session.execute(
            update(Experiment).where(Experiment.id == experiment_id).values(test_metrics=metrics)
        )
