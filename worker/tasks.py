"""Thin Celery tasks: take an id, call training, nothing else."""

import contextlib
import gc
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from celery.exceptions import Reject
from celery.signals import (
    celeryd_init,
    worker_process_init,
    worker_ready,
    worker_shutting_down,
)

import worker.metrics_server  # noqa: F401 (its signal handlers: serving, pool restarts)
from models.settings import get_settings
from worker import backend, metrics, node, shutdown
from worker.celery_app import TRAIN_TASK, VALIDATE_TASK, celery_app

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) is noise in a worker's log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Celery imports this module in the main process, before the pool forks: the children inherit
# KERAS_BACKEND and import Keras with it in _warm_keras.
backend.select(get_settings())

log = logging.getLogger(__name__)


@celeryd_init.connect
def _remember_node(sender: str, **_: Any) -> None:
    node.remember(sender)  # the node name, %h expanded; the pool processes inherit it


_warm_up: threading.Thread | None = None


@worker_process_init.connect
def _start_warm_up(**_: Any) -> None:
    # Celery kills a replacement pool process that has not said UP within
    # worker_proc_alive_timeout, and it says UP only once this handler returns: the import,
    # seconds on a busy machine, runs beside it, so a killed process is replaced instead of
    # the replacement being killed in turn, forever. The first task waits for it (_warmed).
    global _warm_up
    shutdown.ignore_until_listening()
    _warm_up = threading.Thread(target=_warm_keras, name="fitq-warm-up", daemon=True)
    _warm_up.start()


def _warmed() -> None:
    """Wait for this pool process's warm-up; at once where none runs (solo or threads pool)."""
    if _warm_up is not None:
        _warm_up.join()


def _warm_keras() -> None:
    # Import Keras and its backend once per pool process, after the fork: TensorFlow is not
    # fork-safe, and a warm process starts each job without the multi-second import.
    started = time.perf_counter()
    try:
        with _native_stderr_at_debug():
            import keras

            import worker.training.run  # noqa: F401
            from worker.training import checkpoint, word_kernels
            from worker.training.sparse_input import WORD_INDEX_BACKENDS

            checkpoint.warm_up()
            if keras.backend.backend() in WORD_INDEX_BACKENDS:
                word_kernels.warm_up()
    except Exception:
        # The first job imports what it needs itself, and fails with the cause if it must.
        log.exception("pool process %d could not warm Keras up", os.getpid())
        return
    # The ~600,000 objects of the imports live as long as the process: moved out of the
    # collector's sight, the oldest-generation collections a fit triggers no longer walk
    # them. On torch, whose steps make garbage fast, this made the circles fit 4-5% faster.
    gc.freeze()
    log.info(
        "pool process %d imported Keras %s with the %s backend and warmed it up in %.1f s",
        os.getpid(),
        keras.__version__,
        keras.backend.backend(),
        time.perf_counter() - started,
    )


@contextlib.contextmanager
def _native_stderr_at_debug() -> Iterator[None]:
    """TensorFlow's and absl's start-up notices (oneDNN, "All log messages before
    absl::InitializeLog()") are written by C++ straight to file descriptor 2, whatever
    TF_CPP_MIN_LOG_LEVEL says: what the process writes there meanwhile goes to the debug log.
    Only the warm-up runs then; the process takes its first task after it."""
    with tempfile.TemporaryFile() as caught:
        saved = os.dup(2)
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines():
                if line.strip():
                    log.debug("warm-up: %s", line)


_reconcilers: list[Any] = []


@worker_ready.connect
def _start_reconciler(sender: Any, **_: Any) -> None:
    """Every training worker runs the reconciler (see worker/reconciler.py); dry-run workers
    do not consume the training queue and skip it."""
    from worker.reconciler import Reconciler

    settings = get_settings()
    if settings.training_queue not in sender.app.amqp.queues.consume_from:
        return
    reconciler = Reconciler(settings)
    reconciler.start()
    _reconcilers.append(reconciler)


@worker_shutting_down.connect
def _stop_reconciler(**_: Any) -> None:
    for reconciler in _reconcilers:
        reconciler.stopped.set()


@celery_app.task(name=TRAIN_TASK)
def train(experiment_id: int) -> None:
    shutdown.listen()  # first: a warm shutdown during the wait below hands the job back
    _warmed()
    from worker.training.run import Outcome, run_experiment

    if shutdown.requested():
        raise Reject("worker shutting down", requeue=True)  # as below, before any start
    with metrics.job_running():
        outcome = run_experiment(experiment_id)
    metrics.job_ended(outcome.value)
    if outcome == Outcome.HANDED_BACK:
        # The worker is going down: give the message back to the broker (acks_late makes
        # this a requeue, not a loss) so the next worker runs the job.
        raise Reject("worker shutting down", requeue=True)


@celery_app.task(name=VALIDATE_TASK, ignore_result=False, acks_late=False)
def validate(spec: dict[str, Any], input_shape: list[int]) -> dict[str, Any]:
    """A dry run: build the model and describe it. It takes the spec itself, not an id,
    because nothing is stored; it is quick, so it is acknowledged on receipt."""
    _warmed()
    from worker.training.summary import summarize

    return summarize(spec, tuple(input_shape))
