"""The name a worker records on each job it claims (experiments.worker): its Celery node name,
such as train-gpu0@host under `fitq worker --gpus`, so an operator can tell which worker, and
so which GPU, ran a job; the host's name where no Celery worker runs (a script, a test)."""

import socket

_name: str | None = None


def remember(name: str) -> None:
    """Called once in the worker's main process, before its pool processes fork."""
    global _name
    _name = name


def name() -> str:
    return _name or socket.gethostname()
