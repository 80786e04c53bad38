"""The queue depth /metrics reports: the training messages waiting in the embedded broker's
folder (not the dry runs', not one being written), and an error, soon, for a Redis that is
not there."""

import time
from pathlib import Path

import pytest
import redis

from broker.config import TRAIN_TASK, VALIDATE_TASK, make_celery
from broker.depth import waiting_messages
from models.settings import Settings
from tests.e2e.stack import free_port


def test_the_embedded_broker_counts_the_training_queues_messages(tmp_path: Path) -> None:
    settings = Settings(
        mode="embedded", data_dir=tmp_path, training_queue="train-here",
        broker_url="filesystem://", database_url="sqlite://", result_backend="",
    )  # fmt: skip
    app = make_celery(settings)
    for experiment_id in (1, 2):
        app.send_task(TRAIN_TASK, args=[experiment_id], ignore_result=True)
    app.send_task(VALIDATE_TASK, args=[{}, [2]], ignore_result=True)
    (settings.broker_dir / "queue" / ".3_x.train-here.msg.part").write_bytes(b"{")  # writing
    assert waiting_messages(settings) == 2


def test_a_redis_that_is_not_there_raises_within_seconds() -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings = Settings(mode="production", database_url="sqlite://", broker_url=closed)
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        waiting_messages(settings)
    assert time.monotonic() - started < 5
