"""The worker's Celery app (`celery -A worker.celery_app`): the one the broker door builds
(broker/door.py), with the training and dry-run tasks registered on it (worker/tasks.py)."""

import contextlib
import logging
import os
import sys
from typing import Any

from celery.apps import worker as celery_worker
from celery.signals import setup_logging

from broker.config import TRAIN_TASK, VALIDATE_TASK
from broker.door import celery_app as _celery_app
from models import logs
from models.settings import get_settings

celery_app = _celery_app()


def _json_logs(**_: Any) -> None:
    """FITQ_LOG_FORMAT=json. Answered here, Celery sets up no logging of its own: every record
    goes through the one JSON handler."""
    settings = get_settings()
    logs.configure("json", settings.log_level)
    # billiard's logger (a pool process that died) hands its records to no parent: it gets
    # the handler itself, at Celery's own level for it.
    pool = logging.getLogger("multiprocessing")
    pool.handlers = list(logging.getLogger().handlers)
    pool.setLevel(logging.ERROR)
    # Celery's signal handlers write a line straight to a file ("worker: Warm shutdown"),
    # not through logging, which could deadlock there: the same, as a JSON line.
    celery_worker.safe_say = _say_json


def _say_json(msg: str, f: Any = None) -> None:
    record = logging.LogRecord("celery.apps.worker", logging.INFO, "", 0, msg, None, None)
    line = logs.JsonFormatter().format(record) + "\n"
    # As Celery's: losing the line must not stop the shutdown.
    stream = sys.stderr if f is None else f
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.write(stream.fileno(), line.encode())


# Here, in the module `celery -A` imports first: before the worker sets up logging, and
# before its first warning (running as root) is written.
if get_settings().log_format == "json":
    _json_logs()
    setup_logging.connect(_json_logs, weak=False)

__all__ = ["TRAIN_TASK", "VALIDATE_TASK", "celery_app"]
