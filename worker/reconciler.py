"""The reconciler: finds jobs the broker lost and jobs whose worker died, and enqueues them again;
it also deletes expired Idempotency-Keys.

It is a loop thread in every training worker's main process rather than a Celery beat
schedule: beat is one more process that must run exactly once per deployment (two beats send
everything twice, none sends nothing), and `fitq run`, compose and every operator would have
to start it. A thread lives wherever training workers live, needs no schedule file, and keeps
reading SQL while the broker is down. Its every step is a conditional UPDATE, so any number of
workers may run it at once: each stale row is taken by exactly one of them, and a duplicate
message is harmless because only one claim of a job wins (see progress.claim).

Keras-free: it runs in the worker's main process, which never trains."""

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import and_, delete, func, sql, update
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine
from models.settings import Settings
from models.tables import Experiment, ExperimentStatus, IdempotencyKey, utcnow
from worker.celery_app import TRAIN_TASK, celery_app

log = logging.getLogger(__name__)
RUNNING = ExperimentStatus.RUNNING.value
QUEUED = ExperimentStatus.QUEUED.value


class Reconciled(NamedTuple):
    requeued: list[int]  # running with a stale heartbeat: queued again, resumed by the claim
    resent: list[int]  # queued past queued_timeout_seconds: enqueued again
    cancelled: list[int]  # stale and cancel-requested: cancelled, never resumed


def reconcile_once(
    session: Session, settings: Settings, send: Callable[[int], None], reclaim: bool = True
) -> Reconciled:
    """One pass in the caller's transaction. Messages are sent before the commit: if the broker
    is down the pass rolls back and the next one tries again. With `reclaim` False running jobs
    are left alone (see Reconciler.tick)."""
    now = utcnow()
    stale = and_(
        Experiment.status == RUNNING,
        Experiment.heartbeat_at < now - timedelta(seconds=settings.heartbeat_timeout_seconds),
        sql.true() if reclaim else sql.false(),
    )
    cancelled = session.scalars(
        update(Experiment)
        .where(stale, Experiment.cancel_requested.is_(True))
        .values(status=ExperimentStatus.CANCELLED.value, finished_at=now)
        .returning(Experiment.id)
    ).all()
    # heartbeat_at of a queued job is when it was last (re-)enqueued.
    requeued = session.scalars(
        update(Experiment)
        .where(stale, Experiment.cancel_requested.is_(False))
        .values(status=QUEUED, heartbeat_at=now, worker=None)
        .returning(Experiment.id)
    ).all()
    waited = now - timedelta(seconds=settings.queued_timeout_seconds)
    resent = session.scalars(
        update(Experiment)
        .where(
            Experiment.status == QUEUED,
            Experiment.cancel_requested.is_(False),
            func.coalesce(Experiment.heartbeat_at, Experiment.created_at) < waited,
        )
        .values(heartbeat_at=now)
        .returning(Experiment.id)
    ).all()
    for experiment_id in sorted({*requeued, *resent}):
        send(experiment_id)
    return Reconciled(list(requeued), list(resent), list(cancelled))


def forget_idempotency_keys(session: Session, settings: Settings) -> int:
    """Delete the Idempotency-Keys older than FITQ_IDEMPOTENCY_KEY_HOURS (see
    api/idempotency.py): without it the table would keep every key ever sent."""
    expired = IdempotencyKey.expired_before(settings.idempotency_key_hours)
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < expired))
    return int(result.rowcount)  # type: ignore[attr-defined]


def send_training(experiment_id: int) -> None:
    celery_app.send_task(TRAIN_TASK, args=[experiment_id])


class Reconciler(threading.Thread):
    def __init__(self, settings: Settings) -> None:
        super().__init__(name="fitq-reconciler", daemon=True)
        self.settings = settings
        self.stopped = threading.Event()
        # Its own engine: the main process must not share pooled connections with the pool
        # children it forks.
        self.sessions = sessionmaker(bind=make_engine(settings.database_url))
        self._reclaim_after = 0.0  # monotonic time before which stale jobs are not reclaimed

    def run(self) -> None:
        while True:
            self.tick()
            if self.stopped.wait(self.settings.reconcile_interval_seconds):
                return

    def tick(self) -> None:
        try:
            with self.sessions.begin() as session:
                reclaim = time.monotonic() >= self._reclaim_after
                done = reconcile_once(session, self.settings, send_training, reclaim)
                forgotten = forget_idempotency_keys(session, self.settings)
        except Exception as exc:  # a database or broker outage: try again next tick
            log.warning("reconcile pass failed: %s: %s", type(exc).__name__, exc)
            # Heartbeats could not be written during a database outage either: stale ones say
            # nothing until live workers have had a full timeout to write again.
            self._reclaim_after = time.monotonic() + self.settings.heartbeat_timeout_seconds
            return
        if forgotten:
            log.info(
                "forgot %d idempotency keys older than %g h",
                forgotten,
                self.settings.idempotency_key_hours,
            )
        if any(done):
            log.info(
                "reconciled: requeued %s (stale heartbeat), resent %s (queued too long), "
                "cancelled %s",
                done.requeued,
                done.resent,
                done.cancelled,
            )
