"""Warm shutdown reaches the running fit: it ends the current epoch, checkpoints and hands the
job back.

Celery's warm shutdown only stops the main process from taking new work and waits for the
running task, which for a long fit can be hours; prefork children also ignore SIGINT. So the
main process forwards the request to its pool children with SIGUSR2 (SIGUSR1 is billiard's
soft time limit), and the epoch callback polls `requested()`. An idle child ignores it
(`ignore_until_listening`) and leaves with the pool's own close: were SIGUSR2 to end it,
the pool would start and warm up a replacement before stopping, which made an idle
`fitq run` take a minute to stop on a busy machine."""

import os
import signal
import threading
from typing import Any

from billiard.process import active_children
from celery.signals import worker_shutting_down

STOP_SIGNAL = signal.SIGUSR2
_stop = threading.Event()


def requested() -> bool:
    return _stop.is_set()


def _mark(*_: Any) -> None:
    _stop.set()


@worker_shutting_down.connect
def _forward_to_children(**_: Any) -> None:
    _stop.set()  # the solo pool runs the task in this process
    for child in active_children():
        if child.pid:
            os.kill(child.pid, STOP_SIGNAL)


def ignore_until_listening() -> None:
    """Called in worker_process_init. billiard replaces any handler there but SIG_IGN."""
    signal.signal(STOP_SIGNAL, signal.SIG_IGN)


def listen() -> None:
    """Called at the start of each job: billiard sets its own handlers for SIGUSR2 and the
    terminating signals after worker_process_init, so installing earlier would be undone."""
    signal.signal(STOP_SIGNAL, _mark)
