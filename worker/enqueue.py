"""Enqueueing: only ids travel, and only after the row is committed. Keras-free, so the API
and the worker both use it.

A send gives up after about a second while the broker is down (celery_app.send_limits): the
row is committed as queued by then, so the request need not wait, and the reconciler finds
the job missing from the broker and sends it once the broker is back."""

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from models.db import after_commit
from worker.celery_app import TRAIN_TASK, celery_app

log = logging.getLogger(__name__)


def send_training(experiment_id: int) -> None:
    # ignore_result: a fit's outcome lives in SQL. Without it Celery would also subscribe to
    # a result in the result store, which retries its connection for 20 s while Redis is down.
    celery_app.send_task(TRAIN_TASK, args=[experiment_id], ignore_result=True)


def enqueue_training(session: Session, experiment_id: int) -> None:
    enqueue_all(session, [experiment_id])


def enqueue_all(session: Session, experiment_ids: Sequence[int]) -> None:
    """Send each job once the session commits, in order. After a failed send the rest are not
    tried: each would wait out the same broker (a 200-run study, 200 seconds)."""
    ids = list(experiment_ids)

    def send() -> None:
        for done, experiment_id in enumerate(ids):
            try:
                send_training(experiment_id)
            except Exception as exc:
                log.warning(
                    "could not enqueue experiments %s (%s: %s); they stay queued and the "
                    "reconciler sends them once the broker is back",
                    ids[done:], type(exc).__name__, exc,
                )  # fmt: skip
                return

    after_commit(session, send)
