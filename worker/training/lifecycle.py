"""A job's life in SQL: claim, resume, the records of what runs it, requeue on a warm
shutdown, finish. Each function is its own short transaction (session_scope is the edge),
fenced by the attempt number the claim returned: a worker presumed dead (stale heartbeat)
whose job was reclaimed finds its writes match no row. The epochs themselves go through
epoch_store.py."""

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, func, or_, select, update

from models.db import session_scope
from models.settings import get_settings
from models.tables import EpochMetric, Experiment, ExperimentStatus, MetricChunk, utcnow
from worker.training.db_retry import retrying

RUNNING = ExperimentStatus.RUNNING.value
QUEUED = ExperimentStatus.QUEUED.value


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
            .values(**claimed_values(worker, now))
            .returning(Experiment.spec, Experiment.attempts, Experiment.current_epoch)
        ).one_or_none()
    if row is None:
        return None
    spec, attempt, recorded_epoch = row
    if gave_up(experiment_id, attempt):
        return None
    return Claim(spec, attempt, recorded_epoch)


def claimed_values(worker: str, now: datetime) -> dict[str, Any]:
    """What a claim sets: running, by `worker`, one more attempt (also packed_claim.py's)."""
    return {
        "status": RUNNING,
        "started_at": func.coalesce(Experiment.started_at, now),
        "heartbeat_at": now,
        "worker": worker,
        "attempts": Experiment.attempts + 1,
    }


def gave_up(experiment_id: int, attempt: int) -> bool:
    """Past max_attempts a claimed job fails instead of running: whether this one did."""
    if attempt <= get_settings().max_attempts:
        return False
    finish(
        experiment_id,
        ExperimentStatus.FAILED,
        f"gave up after {attempt - 1} attempts: each time its worker stopped without "
        "finishing it (killed, out of memory, or lost)",
        attempt=attempt,
    )
    return True


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
