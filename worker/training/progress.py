"""The job's conversation with SQL: claim, epoch writes, cancel flag, final status.
Each function is its own short transaction (session_scope is the edge)."""

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.db import session_scope
from models.tables import EpochMetric, Experiment, ExperimentStatus, utcnow

RUNNING = ExperimentStatus.RUNNING.value


class EarlyStop(NamedTuple):
    """Early stopping ended the fit: the last epoch that ran (from 1) and why."""

    epoch: int
    reason: str


def claim(experiment_id: int, worker: str) -> dict[str, Any] | None:
    """queued -> running with a conditional UPDATE; None when it is not ours to run."""
    now = utcnow()
    with session_scope() as session:
        spec = session.execute(
            update(Experiment)
            .where(
                Experiment.id == experiment_id,
                Experiment.status == ExperimentStatus.QUEUED.value,
                Experiment.cancel_requested.is_(False),
            )
            .values(status=RUNNING, started_at=now, heartbeat_at=now, worker=worker)
            .returning(Experiment.spec)
        ).scalar_one_or_none()
    return spec


def clean_metrics(logs: Mapping[str, Any]) -> dict[str, float | None]:
    """Keras logs -> JSON-safe floats; a non-finite value becomes None (JSON has no NaN)."""
    out: dict[str, float | None] = {}
    for key, value in logs.items():
        number = float(value)
        out[key] = number if math.isfinite(number) else None
    return out


def upsert_epoch(session: Session, experiment_id: int, epoch: int, metrics: dict) -> None:
    """One row per (experiment, epoch): a retried write replaces, never duplicates."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(EpochMetric).values(
        experiment_id=experiment_id, epoch=epoch, metrics=metrics, recorded_at=utcnow()
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["experiment_id", "epoch"],
            set_={"metrics": stmt.excluded.metrics, "recorded_at": stmt.excluded.recorded_at},
        )
    )


def record_epoch(experiment_id: int, epoch: int, metrics: dict) -> bool:
    """Write one epoch's metrics and the heartbeat; return whether cancel was requested."""
    with session_scope() as session:
        upsert_epoch(session, experiment_id, epoch, metrics)
        return bool(
            session.execute(
                update(Experiment)
                .where(Experiment.id == experiment_id)
                .values(current_epoch=epoch, heartbeat_at=utcnow())
                .returning(Experiment.cancel_requested)
            ).scalar_one()
        )


def heartbeat(experiment_id: int) -> bool:
    """Mid-epoch liveness; return whether cancel was requested."""
    with session_scope() as session:
        return bool(
            session.execute(
                update(Experiment)
                .where(Experiment.id == experiment_id)
                .values(heartbeat_at=utcnow())
                .returning(Experiment.cancel_requested)
            ).scalar_one()
        )


def finish(
    experiment_id: int,
    status: ExperimentStatus,
    error: str | None = None,
    early_stop: EarlyStop | None = None,
) -> None:
    # The stop is written with the final status, so a reader never sees a finished
    # experiment whose early stop is not recorded yet.
    stopped_epoch, stop_reason = early_stop or (None, None)
    with session_scope() as session:
        session.execute(
            update(Experiment)
            .where(Experiment.id == experiment_id, Experiment.status == RUNNING)
            .values(
                status=status.value,
                error=error,
                finished_at=utcnow(),
                stopped_epoch=stopped_epoch,
                stop_reason=stop_reason,
            )
        )


def last_epoch(experiment_id: int) -> int:
    with session_scope() as session:
        found = session.scalar(
            select(EpochMetric.epoch)
            .where(EpochMetric.experiment_id == experiment_id)
            .order_by(EpochMetric.epoch.desc())
            .limit(1)
        )
    return found or 0


def requeue(experiment_id: int) -> None:
    """Mark a job interrupted by a warm shutdown queued again (the task gives its message back
    to the broker). Without checkpoints it starts over, so its partial history is removed
    rather than left to be overwritten."""
    with session_scope() as session:
        session.execute(delete(EpochMetric).where(EpochMetric.experiment_id == experiment_id))
        session.execute(
            update(Experiment)
            .where(Experiment.id == experiment_id, Experiment.status == RUNNING)
            .values(
                status=ExperimentStatus.QUEUED.value,
                current_epoch=0,
                started_at=None,
                heartbeat_at=None,
                worker=None,
            )
        )


def store_test_metrics(experiment_id: int, metrics: dict) -> None:
    with session_scope() as session:
        session.execute(
            update(Experiment).where(Experiment.id == experiment_id).values(test_metrics=metrics)
        )
