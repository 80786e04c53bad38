"""The Celery app's configuration from Settings, and the task names. Keras-free."""

from pathlib import Path
from typing import Any

from celery import Celery

from broker import filesystem
from models.settings import Settings

TRAIN_TASK = "fitq.train"
VALIDATE_TASK = "fitq.validate"

# Without them a Redis that vanished without closing its sockets holds a publish for the
# operating system's TCP timeout (minutes) and a frozen one forever.
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 5}


def send_limits() -> dict[str, Any]:
    """How long a send may take while the broker is down: about a second, then it raises.
    The API has committed the job as queued by then, and the reconciler sends it once the
    broker is back (worker/reconciler.py), so waiting longer would only hold the request.
    Celery's result store subscribes a dry run's answer before its send: by default it
    retries its Redis connection 20 times a second apart (the 19 s a POST once took)."""
    return {
        "task_publish_retry_policy": {
            "max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.25,
        },
        "result_backend_transport_options": {"retry_policy": {"max_retries": 1}},
        "redis_socket_connect_timeout": REDIS_TIMEOUTS["socket_connect_timeout"],
    }  # fmt: skip


def broker_options(settings: Settings) -> dict[str, Any]:
    if settings.uses_filesystem_broker:
        # The embedded broker is kombu's filesystem transport rather than its SQLAlchemy one:
        # a second writer on the app's SQLite file would contend for its single write lock,
        # while plain files in var/broker need no server and can be inspected by hand.
        folder = settings.broker_dir.resolve()
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
        }
    # Redis redelivers an unacknowledged message after the visibility timeout: keep it past
    # the longest job so a long fit is not handed to a second worker while it still runs.
    return {"visibility_timeout": settings.job_time_limit_seconds + 3600} | REDIS_TIMEOUTS


def lifecycle_options(settings: Settings) -> dict[str, Any]:
    """How the embedded broker writes messages, and how long a new pool process may take to
    say it is up before Celery kills it."""
    options: dict[str, Any] = {
        "worker_proc_alive_timeout": settings.worker_proc_alive_timeout_seconds
    }
    if settings.uses_filesystem_broker:
        options["broker_transport"] = filesystem.TRANSPORT  # whole messages only
    return options


def make_celery(settings: Settings) -> Celery:
    if settings.result_backend.startswith("file://"):
        Path(settings.result_backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    app = Celery("fitq", broker=settings.broker_url, include=["worker.tasks"])
    app.conf.update(send_limits())
    app.conf.update(
        result_backend=settings.result_backend or None,
        result_expires=3600,
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.training_queue,
        task_routes={
            TRAIN_TASK: {"queue": settings.training_queue},
            VALIDATE_TASK: {"queue": settings.validate_queue},
        },
        task_serializer="json",
        accept_content=["json"],
        # SQL holds every training outcome; only dry runs return a result (see tasks.py).
        task_ignore_result=True,
        # Acknowledge after the fit, so a worker that dies mid-job does not lose it...
        task_acks_late=True,
        # ...including when the pool child is killed (OOM, SIGKILL).
        task_reject_on_worker_lost=True,
        # A worker holds only the job it runs; queued jobs stay free for idle workers.
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        task_time_limit=settings.job_time_limit_seconds + 300,
        task_soft_time_limit=settings.job_time_limit_seconds,
        worker_hijack_root_logger=False,
        # The filesystem transport has no fan-out: remote control and events need Redis.
        worker_enable_remote_control=not settings.uses_filesystem_broker,
    )
    app.conf.update(lifecycle_options(settings))
    return app
