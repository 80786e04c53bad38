"""Enqueueing: only ids travel, and only after the row is committed. Keras-free, so the API
and the worker both use it."""

import logging

from sqlalchemy.orm import Session

from models.db import after_commit
from worker.celery_app import TRAIN_TASK, celery_app

log = logging.getLogger(__name__)


def enqueue_training(session: Session, experiment_id: int) -> None:
    def send() -> None:
        try:
            celery_app.send_task(TRAIN_TASK, args=[experiment_id])
        except Exception:
            # The row is committed as queued, so nothing is lost; it waits for the broker.
            log.exception("could not enqueue experiment %s; it stays queued", experiment_id)

    after_commit(session, send)
