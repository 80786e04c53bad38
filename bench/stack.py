"""A real fitq stack on this machine's PostgreSQL and Redis: a temporary database (dropped at
the end), a unique training queue, the API (uvicorn) and one training worker at a time. Each
process runs in its own process group, stopped the way an orchestrator would (SIGTERM, then
SIGKILL after a grace period)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy import create_engine, text

from tests.e2e.stack import BIN, Proc, free_port

ROOT = Path(__file__).resolve().parents[1]


def stop_on_sigterm() -> None:
    """`kill` on a benchmark cleans up as Ctrl-C does: its stack's context managers stop the
    processes and drop the database."""
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


def _sigterm_as_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@dataclass(frozen=True)
class StackConfig:
    pg_admin_url: str
    redis_url: str
    work_dir: Path  # data, artifacts and the keras cache, removed at the end
    logs_dir: Path  # kept
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def database(self) -> str:
        return f"fitq_bench_{self.run_id}"

    @property
    def database_url(self) -> str:
        return self.pg_admin_url.rsplit("/", 1)[0] + f"/{self.database}"

    @property
    def queue(self) -> str:
        return f"fitq_bench_{self.run_id}"

    @property
    def keras_home(self) -> Path:
        return self.work_dir / "keras"

    @property
    def keras_datasets(self) -> Path:
        return self.keras_home / "datasets"


def child_env(config: StackConfig, **extra: str) -> dict[str, str]:
    """The environment of every process the harness starts: this checkout's code first, and
    Keras's cache in the work folder (so the bare scripts and the worker read the same files
    and no one's ~/.keras/keras.json changes the backend)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(PYTHONUNBUFFERED="1", KERAS_HOME=str(config.keras_home), **extra)
    return env


def fitq_env(config: StackConfig, **extra: str) -> dict[str, str]:
    return child_env(
        config,
        FITQ_MODE="production",
        FITQ_DATABASE_URL=config.database_url,
        FITQ_BROKER_URL=config.redis_url,
        FITQ_TRAINING_QUEUE=config.queue,
        FITQ_VALIDATE_QUEUE=f"{config.queue}_validate",
        FITQ_DATA_DIR=str(config.work_dir / "data"),
        FITQ_KERAS_DATASETS_DIR=str(config.keras_datasets),
        FITQ_DATASET_DOWNLOADS="false",
        # A throw-away stack on this machine only, with one user: no API keys.
        FITQ_AUTH="disabled",
        **extra,
    )


@contextmanager
def temporary_database(config: StackConfig) -> Iterator[str]:
    """fitq_bench_<id>, migrated with `fitq migrate` (alembic upgrade head), then dropped.
    Yields the PostgreSQL server's version."""
    admin = create_engine(config.pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{config.database}"'))
        version = str(conn.execute(text("SHOW server_version")).scalar())
    try:
        log = config.logs_dir / "migrate.log"
        with log.open("wb") as out:
            subprocess.run(
                [str(BIN / "fitq"), "migrate"], cwd=ROOT, env=fitq_env(config),
                stdout=out, stderr=subprocess.STDOUT, check=True, timeout=300,
            )  # fmt: skip
        yield version
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)'))
        admin.dispose()


def forget_queues(config: StackConfig) -> None:
    drop_queues(config.redis_url, config.queue, f"{config.queue}_validate")


def drop_queues(redis_url: str, *names: str) -> None:
    """Delete the queues' messages and kombu's binding tables for them (each queue's exchange
    has its name)."""
    import redis  # Celery's own client library

    client = redis.Redis.from_url(redis_url)
    bindings = [
        f"_kombu.{kind}.{name}" for kind in ("binding", "binding_permanent") for name in names
    ]
    try:
        client.delete(*names, *bindings)
    finally:
        client.close()


@contextmanager
def api_process(config: StackConfig) -> Iterator[str]:
    """The API on a free port; yields its base URL once /healthz answers 200."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--no-access-log"]
    proc = Proc(argv, fitq_env(config), config.logs_dir / "api.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, proc)
        yield base_url
    finally:
        proc.stop(timeout=20)


def wait_healthy(base_url: str, proc: Proc, timeout: float = 90.0) -> None:
    """Poll /healthz until it answers 200; fail at the deadline or when the API exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"the API exited at start:\n{proc.tail()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API was not healthy after {timeout:.0f} s:\n{proc.tail()}")


@contextmanager
def worker_process(config: StackConfig, backend: str, trainer: str | None = None) -> Iterator[Proc]:
    """`fitq worker` with this Keras backend (FITQ_KERAS_BACKEND for fitq's own setting,
    KERAS_BACKEND because Keras reads it when imported) and, when given, this FITQ_TRAINER
    (`fit`: Keras's model.fit on every backend)."""
    extra = {} if trainer is None else {"FITQ_TRAINER": trainer}
    env = fitq_env(config, FITQ_KERAS_BACKEND=backend, KERAS_BACKEND=backend, **extra)
    suffix = "" if trainer is None else f"-trainer-{trainer}"
    log = config.logs_dir / f"worker-{backend}{suffix}.log"
    proc = Proc([str(BIN / "fitq"), "worker"], env, log)
    try:
        yield proc
    finally:
        proc.stop()
