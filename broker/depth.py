"""How many training messages wait in the broker for a worker to take them: the queue depth
the API's /metrics reports. A message a worker took (running, or held until it acknowledges)
is not waiting. Keras-free; raises when the broker cannot be asked."""

import os

import redis

from broker.config import REDIS_TIMEOUTS
from models.settings import Settings


def waiting_messages(settings: Settings) -> int | None:
    """The training queue's waiting messages; None for a broker fitq cannot look into."""
    queue = settings.training_queue
    if settings.uses_filesystem_broker:
        folder = settings.broker_dir.resolve() / "queue"
        # "<id>.<queue>.msg"; a message still being written has a hidden name (filesystem.py)
        names = os.listdir(folder) if folder.is_dir() else []
        return sum(1 for name in names if name.partition(".")[2] == f"{queue}.msg")
    if settings.broker_url.startswith(("redis://", "rediss://")):
        with redis.Redis.from_url(settings.broker_url, **REDIS_TIMEOUTS) as client:
            # kombu's Redis transport keeps a queue's waiting messages in a list of its name.
            return int(client.llen(queue))
    return None
