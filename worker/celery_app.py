"""The worker's Celery app (`celery -A worker.celery_app`): the one the broker door builds
(broker/door.py), with the training and dry-run tasks registered on it (worker/tasks.py)."""

from broker.config import TRAIN_TASK, VALIDATE_TASK
from broker.door import celery_app as _celery_app

celery_app = _celery_app()

__all__ = ["TRAIN_TASK", "VALIDATE_TASK", "celery_app"]
