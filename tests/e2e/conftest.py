from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from api.core.keys import create_key
from models.db import session_scope
from tests.conftest import REDIS_URL, TEST_QUEUE
from tests.e2e.browser import browser_context, page, playwright  # noqa: F401 (fixtures)
from tests.e2e.stack import BIN, Api, Proc, free_port, stack_env


@pytest.fixture(scope="module")
def pg_stack(
    database: str, redis_broker: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """The production shape: API and a Celery worker process on PostgreSQL and Redis."""
    redis.Redis.from_url(REDIS_URL).delete(TEST_QUEUE)
    logs = tmp_path_factory.mktemp("pg-stack")
    port = free_port()
    env = stack_env()
    worker = Proc([str(BIN / "fitq"), "worker", "--concurrency", "1"], env, logs / "worker.log")
    validator = Proc([str(BIN / "fitq"), "worker", "--validate"], env, logs / "validator.log")
    api = Proc(
        [str(BIN / "python"), "-m", "uvicorn", "api.main:app", "--port", str(port)],
        env,
        logs / "api.log",
    )
    with session_scope() as session:  # the test database, as `fitq create-key` would
        token = create_key(session, "e2e")
    client = Api(f"http://127.0.0.1:{port}", token, logs)
    client.proc = api
    try:
        client.wait_healthy()
        yield client
    finally:
        api.stop()
        worker.stop()
        validator.stop()
        print("worker log tail:\n" + worker.tail())


def embedded_env(data_dir: Path) -> dict[str, str]:
    """`make run`'s configuration: SQLite and the filesystem broker under one folder."""
    env = stack_env(FITQ_MODE="embedded", FITQ_DATA_DIR=str(data_dir))
    for name in (
        "FITQ_DATABASE_URL", "FITQ_BROKER_URL", "FITQ_RESULT_BACKEND",
        "FITQ_TRAINING_QUEUE", "FITQ_VALIDATE_QUEUE",
    ):  # fmt: skip
        env.pop(name, None)
    return env
