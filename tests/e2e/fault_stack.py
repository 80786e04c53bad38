"""A stack for fault tests: the API and Celery workers started and killed one by one, with
short thresholds so a lost worker is noticed in seconds."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from api.core.keys import create_key
from models.db import session_scope
from tests.conftest import REDIS_URL, TEST_QUEUE
from tests.e2e.stack import BIN, Api, Proc, free_port, stack_env
from tests.helpers import poll

FAULT_QUEUE = f"{TEST_QUEUE}_faults"
# Short thresholds so a lost worker is noticed in seconds (production: 60 s and 30 s).
FAULT_ENV = {
    "FITQ_TRAINING_QUEUE": FAULT_QUEUE,
    "FITQ_HEARTBEAT_TIMEOUT_SECONDS": "8",
    "FITQ_RECONCILE_INTERVAL_SECONDS": "1",
    "FITQ_QUEUED_TIMEOUT_SECONDS": "5",
    "FITQ_CHECKPOINT_EVERY_SECONDS": "1",
    "FITQ_CANCEL_CHECK_SECONDS": "0.5",
    # TensorFlow's ~100 ms circles epochs leave time to strike mid-fit (JAX's take ~7 ms), and
    # these workers are the suite's TensorFlow coverage end to end.
    "FITQ_KERAS_BACKEND": "tensorflow",
}
FINAL = {"succeeded", "failed", "cancelled"}


class FaultStack:
    def __init__(self, logs: Path, **settings: str) -> None:
        """`settings`: FITQ_DATABASE_URL and broker settings of private servers, if any, and
        any FAULT_ENV setting to change (FITQ_KERAS_BACKEND)."""
        self.logs = logs
        self.env = stack_env(**(FAULT_ENV | settings))
        port = free_port()
        self.api_proc = Proc(
            [str(BIN / "python"), "-m", "uvicorn", "api.main:app", "--port", str(port)],
            self.env,
            logs / "api.log",
        )
        self.api = Api(f"http://127.0.0.1:{port}", _key(settings.get("FITQ_DATABASE_URL")))
        self.workers: list[Proc] = []

    def start_worker(self, **settings: str) -> Proc:
        """`settings`: FITQ_* variables of this worker only (its own FITQ_DATA_DIR)."""
        log = self.logs / f"worker-{len(self.workers) + 1}.log"
        env = self.env | settings
        worker = Proc([str(BIN / "fitq"), "worker", "--concurrency", "1"], env, log)
        self.workers.append(worker)
        poll(lambda: log.read_text(errors="replace"), lambda text: " ready." in text, 120)
        return worker

    def stop(self) -> None:
        for proc in [*self.workers, self.api_proc]:
            proc.stop()


@contextmanager
def fault_stack(logs: Path, **settings: str) -> Iterator[FaultStack]:
    """A FaultStack on the test run's database and Redis, its queue emptied before and after."""
    redis.Redis.from_url(REDIS_URL).delete(FAULT_QUEUE)
    stack = FaultStack(logs, **settings)
    try:
        stack.api.wait_healthy()
        yield stack
    finally:
        stack.stop()
        for worker in stack.workers:
            print(f"{worker.log.name} tail:\n" + worker.tail(2000))
        redis.Redis.from_url(REDIS_URL).delete(FAULT_QUEUE)


def epochs_of(api: Api, experiment_id: int) -> list[int]:
    return [row["epoch"] for row in api.history(experiment_id)]


def _key(database_url: str | None) -> str:
    """An API key in the stack's database, as `fitq create-key` would make it."""
    if database_url is None:
        with session_scope() as session:  # the test run's database
            return create_key(session, "faults")
    engine = create_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            return create_key(session, "faults")
    finally:
        engine.dispose()
