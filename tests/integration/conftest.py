from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.core.keys import create_key
from api.main import create_app
from models.db import get_engine, session_scope
from tests.conftest import REDIS_URL, TEST_QUEUE, VALIDATE_QUEUE


@pytest.fixture
def redis_client(redis_broker: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(TEST_QUEUE, VALIDATE_QUEUE)
    yield client
    client.delete(TEST_QUEUE, VALIDATE_QUEUE)
    client.close()


# The default caller of the `client` fixture; test_isolation.py adds a second owner.
OWNER = "alice"


def new_token(owner: str) -> str:
    """A key made the way `fitq create-key` makes it."""
    with session_scope() as session:
        return create_key(session, owner)


def empty_tables() -> None:
    # Ids keep counting, as in production: a worker's dataset cache is keyed by dataset id.
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "TRUNCATE studies, experiments, epoch_metrics, datasets, idempotency_keys,"
                " api_keys CASCADE"
            )
        )


@pytest.fixture
def client(database: str, redis_client: redis.Redis) -> Iterator[TestClient]:
    """The real app on the run's PostgreSQL database and Redis, calling as OWNER with a
    bearer key; tables emptied per test (before, too: the end-to-end tests share the
    database and leave their rows)."""
    empty_tables()
    headers = {"Authorization": f"Bearer {new_token(OWNER)}"}
    with TestClient(create_app(), headers=headers) as test_client:
        yield test_client
    empty_tables()
