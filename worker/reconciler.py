"""The reconciler: finds jobs the broker lost and jobs whose worker died, and enqueues them again;
it also deletes expired Idempotency-Keys.

It is a loop thread in every training worker's main process rather than a Celery beat
schedule: beat is one more process that must run exactly once per deployment (two beats send
everything twice, none sends nothing), and `fitq run`, compose and every operator would have
to start it. A thread lives wherever training workers live, needs no schedule file, and keeps
reading SQL while the broker is down. Its every step is a conditional UPDATE, so any number of
workers may run it at once: each stale row is taken by exactly one of them, and a duplicate
message is harmless because only one claim of a job wins (see lifecycle.claim).

Keras-free: it runs in the worker's main process, which never trains."""

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import and_, delete, func, select, sql, update
from sqlalchemy.orm import Session, sessionmaker

from broker.door import send_training
from models.db import make_engine
from models.settings import Settings
from models.tables import Experiment, ExperimentStatus, IdempotencyKey, utcnow
from worker.broker_queue import jobs_in_broker

log = logging.getLogger(__name__)
RUNNING = ExperimentStatus.RUNNING.value
QUEUED = ExperimentStatus.QUEUED.value


class Reconciled(NamedTuple):
    requeued: list[int]  # running with a stale heartbeat: queued again, resumed by the claim
    resent: list[int]  # queued, and the broker had no message for it at two passes
    cancelled: list[int]  # stale and cancel-requested: cancelled, never resumed
    # Queued, and the broker had no message for it at this pass: re-sent if the next pass
    # (given these as `missing_before`) finds none either.
    missing: frozenset[int] = frozenset()


def reconcile_once(
    session: Session,
    settings: Settings,
    send: Callable[[int], None],
    reclaim: bool = True,
    missing_before: frozenset[int] = frozenset(),
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
    resent, missing = _resend_lost(session, settings, missing_before)
    for experiment_id in sorted({*requeued, *resent}):
        send(experiment_id)
    return Reconciled(list(requeued), resent, list(cancelled), missing)


def _resend_lost(
    session: Session, settings: Settings, missing_before: frozenset[int]
) -> tuple[list[int], frozenset[int]]:
    """Mark for re-sending the queued jobs whose message is lost, and name those that may be.

    A job counts once its last send is a reconcile interval old: the API's send after its
    commit, or another worker's re-send, has reached the broker by then. Its message is lost
    if the broker holds none at this pass and held none at the last: one look could fall
    between a worker's taking it and its claim. Where the broker cannot be looked into, a
    job queued FITQ_QUEUED_TIMEOUT_SECONDS is taken for lost."""
    now = utcnow()
    last_sent = func.coalesce(Experiment.heartbeat_at, Experiment.created_at)
    queued = and_(
        Experiment.status == QUEUED,
        Experiment.cancel_requested.is_(False),
        last_sent < now - timedelta(seconds=settings.reconcile_interval_seconds),
    )
    candidates = set(session.scalars(select(Experiment.id).where(queued)))
    if not candidates:
        return [], frozenset()
    held = jobs_in_broker(settings, delivered_since=time.time() - settings.queued_timeout_seconds)
    if held is None:
        lost = last_sent < now - timedelta(seconds=settings.queued_timeout_seconds)
        missing: frozenset[int] = frozenset()
    else:
        missing = frozenset(candidates - held)
        lost = Experiment.id.in_(missing & missing_before)
    resent = session.scalars(
        update(Experiment).where(queued, lost).values(heartbeat_at=now).returning(Experiment.id)
    ).all()
    return sorted(resent), missing - set(resent)


def forget_idempotency_keys(session: Session, settings: Settings) -> int:
    """Delete the Idempotency-Keys older than FITQ_IDEMPOTENCY_KEY_HOURS (see
    api/core/idempotency.py): without it the table would keep every key ever sent."""
    expired = IdempotencyKey.expired_before(settings.idempotency_key_hours)
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < expired))
    return int(result.rowcount)  # type: ignore[attr-defined]


class Reconciler(threading.Thread):
    def __init__(self, settings: Settings) -> None:
        super().__init__(name="fitq-reconciler", daemon=True)
        self.settings = settings
        self.stopped = threading.Event()
        # Its own engine: the main process must not share pooled connections with the pool
        # children it forks.
        self.sessions = sessionmaker(bind=make_engine(settings.database_url))
        self._reclaim_after = 0.0  # monotonic time before which stale jobs are not reclaimed
        self._missing: frozenset[int] = frozenset()  # jobs the last pass found no message for

    def run(self) -> None:
        while True:
            self.tick()
            if self.stopped.wait(self.settings.reconcile_interval_seconds):
                return

    def tick(self) -> None:
        try:
            with self.sessions.begin() as session:
                reclaim = time.monotonic() >= self._reclaim_after
                done = reconcile_once(session, self.settings, send_training, reclaim, self._missing)
                forgotten = forget_idempotency_keys(session, self.settings)
        except Exception as exc:  # a database or broker outage: try again next tick
            log.warning("reconcile pass failed: %s: %s", type(exc).__name__, exc)
            # Heartbeats could not be written during a database outage either: stale ones say
            # nothing until live workers have had a full timeout to write again.
            self._reclaim_after = time.monotonic() + self.settings.heartbeat_timeout_seconds
            return
        self._missing = done.missing
        if forgotten:
            log.info(
                "forgot %d idempotency keys older than %g h",
                forgotten,
                self.settings.idempotency_key_hours,
            )
        if done.requeued or done.resent or done.cancelled:
            log.info(
                "reconciled: requeued %s (stale heartbeat), resent %s (message lost), cancelled %s",
                done.requeued,
                done.resent,
                done.cancelled,
            )
