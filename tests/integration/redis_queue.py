"""The run's training queue in Redis as kombu keeps it: the messages, the experiment ids they
carry, and losing one as a broker restart without persistence would."""

import json
from typing import cast

import redis

from tests.conftest import TEST_QUEUE
from worker.broker_queue import experiment_of


def queued_messages(redis_client: redis.Redis) -> list[bytes]:
    """The run's training queue as kombu keeps it in Redis (the client does not decode)."""
    return cast(list[bytes], redis_client.lrange(TEST_QUEUE, 0, -1))


def queued_ids(redis_client: redis.Redis) -> list[int]:
    """Experiment ids of the train messages waiting in this run's Redis queue."""
    ids = []
    for raw in queued_messages(redis_client):
        headers = json.loads(raw)["headers"]
        assert headers["task"] == "fitq.train"
        ids.extend(json.loads(headers["argsrepr"]))
    return ids


def drop_message(redis_client: redis.Redis, experiment_id: int) -> None:
    """Lose a job's message, as a broker restart without persistence would."""
    for raw in queued_messages(redis_client):
        if experiment_of(raw) == experiment_id:
            assert redis_client.lrem(TEST_QUEUE, 1, raw) == 1  # type: ignore[arg-type]
            return
    raise AssertionError(f"no message for experiment {experiment_id}")
