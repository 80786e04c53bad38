"""Thin Celery tasks: take an id, call training, nothing else."""

import logging
from typing import Any

from celery.signals import worker_process_init

from worker.celery_app import TRAIN_TASK, celery_app

log = logging.getLogger(__name__)


@worker_process_init.connect
def _warm_keras(**_: Any) -> None:
    # Import Keras and its backend once per pool process, after the fork: TensorFlow is not
    # fork-safe, and a warm process starts each job without the multi-second import.
    import worker.training.run  # noqa: F401


@celery_app.task(name=TRAIN_TASK)
def train(experiment_id: int) -> None:
    from worker.training.run import run_experiment

    run_experiment(experiment_id)
