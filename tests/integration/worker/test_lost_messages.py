"""The reconciler re-sends a queued job only when the broker lost its message: jobs waiting
behind busy (or absent) workers, however long, are not sent twice (item 8e of issue 16: 69 of
101 were). Real Redis, real kombu consumer, the reconciler's own pass (Reconciler.tick)."""

from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from kombu import Message

from broker.door import celery_app
from models.settings import get_settings
from tests.conftest import TEST_QUEUE
from tests.factories import age
from tests.helpers import submit
from tests.integration.redis_queue import drop_message, queued_messages
from worker.broker_queue import experiment_of
from worker.reconciler import Reconciler


def messages_per_job(redis_client: redis.Redis) -> Counter[int | None]:
    return Counter(experiment_of(raw) for raw in queued_messages(redis_client))


@pytest.fixture
def taken() -> Iterator[Message]:
    """The oldest message of the queue, taken and not acknowledged, as a worker holds the job
    it runs; handed back to the queue at the end."""
    with celery_app().connection_for_read() as connection:
        channel = connection.channel()
        message = channel.basic_get(TEST_QUEUE, no_ack=False)
        assert message is not None
        yield message
        channel.close()  # kombu restores what it did not acknowledge


def test_waiting_jobs_are_not_resent_and_a_lost_message_is(
    client: TestClient, redis_client: redis.Redis, request: pytest.FixtureRequest
) -> None:
    settings = get_settings()
    jobs = [submit(client) for _ in range(12)]
    held = request.getfixturevalue("taken")  # the first job's message, as a worker holds it
    [args, _kwargs, _embed] = held.decode()
    assert args == [jobs[0]]
    lost = jobs[5]
    drop_message(redis_client, lost)
    # Queued far longer than FITQ_QUEUED_TIMEOUT_SECONDS: only waiting for a worker.
    for experiment_id in jobs:
        age(experiment_id, settings.queued_timeout_seconds + 60)

    reconciler = Reconciler(settings)
    for _ in range(3):  # the lost message is re-sent at the second pass
        reconciler.tick()

    expected = Counter(dict.fromkeys(jobs[1:], 1))  # the taken one is held, not queued
    assert messages_per_job(redis_client) == expected
