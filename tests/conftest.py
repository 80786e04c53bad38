"""Test configuration. Each run gets its own PostgreSQL database (created and dropped) and its
own Redis queue name; FITQ_* variables are set here, before any fitq module reads them."""

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

RUN_ID = uuid.uuid4().hex[:10]
PG_ADMIN_URL = os.environ.get(
    "FITQ_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FITQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_DB = f"fitq_test_{RUN_ID}"
TEST_DB_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{TEST_DB}"
TEST_QUEUE = f"fitq_test_{RUN_ID}"
VALIDATE_QUEUE = f"fitq_test_validate_{RUN_ID}"
DATA_DIR = Path(tempfile.mkdtemp(prefix=f"fitq-test-{RUN_ID}-"))

os.environ.update(
    FITQ_MODE="production",
    FITQ_DATABASE_URL=TEST_DB_URL,
    FITQ_BROKER_URL=REDIS_URL,
    FITQ_TRAINING_QUEUE=TEST_QUEUE,
    FITQ_VALIDATE_QUEUE=VALIDATE_QUEUE,
    FITQ_DATA_DIR=str(DATA_DIR),
    FITQ_CANCEL_CHECK_SECONDS="0.5",
    # No network here: keras datasets come from stand-in files written by the tests.
    FITQ_KERAS_DATASETS_DIR=str(DATA_DIR / "keras-datasets"),
    FITQ_DATASET_DOWNLOADS="false",
    # The stacks' workers serve no metrics unless a test gives one a free port: concurrent
    # runs on one machine would contend for the default 9808.
    FITQ_WORKER_METRICS_PORT="0",
    TF_CPP_MIN_LOG_LEVEL="2",
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """With CI=true a missing server fails the test; elsewhere it skips it."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port} (run ./scripts/services.sh)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """A fresh PostgreSQL database at the newest migration, dropped after the run."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    from sqlalchemy import create_engine, text

    from tests.helpers import migrate

    # pool_pre_ping: the fault tests restart PostgreSQL under this pooled connection.
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{TEST_DB}"'))
    try:
        migrate(TEST_DB_URL)
        yield TEST_DB_URL
    finally:
        from models.db import get_engine

        get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_broker() -> Iterator[str]:
    require_server("Redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    yield REDIS_URL
    client.delete(TEST_QUEUE, VALIDATE_QUEUE)
    client.close()
