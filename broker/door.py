"""What the API (and the worker's reconciler) do with the queue: only ids travel, and only
after the row is committed. A send gives up after about a second while the broker is down
(config.send_limits): the row is committed as queued by then, so the request need not wait,
and the reconciler sends the job once the broker is back. The Celery app is built on first
use, so importing this module creates no folder and opens no connection."""

import logging
from collections.abc import Sequence
from functools import cache
from typing import Any

from celery import Celery
from celery.result import AsyncResult
from sqlalchemy.orm import Session

from broker.config import TRAIN_TASK, VALIDATE_TASK, make_celery
from models.db import after_commit
from models.settings import get_settings

log = logging.getLogger(__name__)


@cache
def celery_app() -> Celery:
    return make_celery(get_settings())


def send_training(experiment_id: int) -> None:
    # ignore_result: a fit's outcome lives in SQL. Without it Celery would also subscribe to
    # a result in the result store, which retries its connection for 20 s while Redis is down.
    celery_app().send_task(TRAIN_TASK, args=[experiment_id], ignore_result=True)


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


def send_dry_run(spec: dict[str, Any], input_shape: list[int]) -> AsyncResult:
    """Ask a worker on the validate queue to build the model; its answer comes back through
    the result store."""
    return celery_app().send_task(VALIDATE_TASK, args=[spec, input_shape])


def broker_error() -> str | None:
    """Why the broker cannot be reached (within about two seconds), or None when it can."""
    try:
        with celery_app().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        return type(exc).__name__ + ": " + str(exc)[:200]
    return None
