"""A training worker's metrics on FITQ_WORKER_METRICS_PORT, served by the Celery main process
from its pool processes' files once the worker is ready (dry-run workers serve none), and the
count of pool processes started to replace one that died.

Several Celery workers of one process group (`fitq worker --gpus`: one a GPU) share one
metrics folder (models/metrics_dir.py): the first to lock it serves them all, on one port; a
lock dies with its holder, whose restart takes it again. A port already taken otherwise (a
second worker group on this host with the same setting) is logged and the worker runs on."""

import fcntl
import logging
import os
from typing import Any

from celery.signals import worker_process_init, worker_ready

from models.settings import get_settings
from worker import metrics

log = logging.getLogger(__name__)
# Set in the main process once its first pool processes run; a pool process forked later
# inherits it, and so knows it replaces one.
_pool_up = [False]
_lock: list[int] = []  # the serving lock's file, open for as long as this process lives


@worker_ready.connect
def _serve(sender: Any, **_: Any) -> None:
    _pool_up[0] = True
    settings = get_settings()
    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    if port == 0 or settings.training_queue not in sender.app.amqp.queues.consume_from:
        return
    folder = metrics.folder()
    if not _take_serving(folder):
        log.info("worker metrics: another worker of this process group serves %s", folder)
        return
    from worker.metrics_exposition import serve  # after folder(): see worker/metrics.py

    try:
        serve(folder, host, port)
    except OSError as exc:
        log.warning(
            "worker metrics not served on %s:%d (%s); give each worker on a host its own "
            "FITQ_WORKER_METRICS_PORT", host, port, exc,
        )  # fmt: skip
        return
    log.info("worker metrics on http://%s:%d/metrics", host, port)


def _take_serving(folder: str) -> bool:
    """Whether this process serves the folder: a POSIX lock on a file in it, which pool
    processes (forked) do not inherit and which ends with this process."""
    fd = os.open(os.path.join(folder, "serving.lock"), os.O_CREAT | os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _lock.append(fd)
    return True


@worker_process_init.connect
def _count_replacement(**_: Any) -> None:
    if _pool_up[0]:
        metrics.pool_process_replaced()
