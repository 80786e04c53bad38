from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.main import create_app
from models.db import get_engine
from tests.conftest import REDIS_URL, TEST_QUEUE, VALIDATE_QUEUE


@pytest.fixture
def redis_client(redis_broker: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(TEST_QUEUE, VALIDATE_QUEUE)
    yield client
    client.delete(TEST_QUEUE, VALIDATE_QUEUE)
    client.close()


def empty_tables() -> None:
    # Ids keep counting, as in production: a worker's dataset cache is keyed by dataset id.
    with get_engine().begin() as conn:
        conn.execute(
            text("TRUNCATE studies, experiments, epoch_metrics, datasets, idempotency_keys CASCADE")
        )


@pytest.fixture
def client(database: str, redis_client: redis.Redis) -> Iterator[TestClient]:
    """The real app on the run's PostgreSQL database and Redis; tables emptied per test
    (before, too: the end-to-end tests share the database and leave their rows)."""
    empty_tables()
    with TestClient(create_app()) as test_client:
        yield test_client
    empty_tables()
