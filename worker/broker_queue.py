"""Which training jobs the broker still holds a message for: waiting in the training queue,
or delivered to a worker that has not acknowledged it. The reconciler re-sends a queued job
only when its message is in neither (worker/reconciler.py), so a job waiting behind busy
workers is not sent twice, while a lost message is found in one or two reconcile passes.
The one place that knows how each broker keeps its messages. Keras-free."""

import base64
import json
import os
from collections.abc import Iterable, Iterator

import redis

from broker.config import TRAIN_TASK
from models.settings import Settings

# kombu's Redis transport: a message taken by a worker moves from the queue's list into
# this hash (delivery tag -> [message, exchange, routing key]) until it is acknowledged,
# with its delivery time in the sorted set.
UNACKED, UNACKED_INDEX = "unacked", "unacked_index"


def jobs_in_broker(settings: Settings, delivered_since: float) -> set[int] | None:
    """Ids of the training jobs with a message waiting in the queue or delivered (at or after
    `delivered_since`, a Unix time) and not acknowledged; None for a broker fitq cannot look
    into. A message delivered earlier and still unacknowledged belongs to a worker that died
    before it started the job: it does not count."""
    if settings.uses_filesystem_broker:
        return _job_ids(_queue_files(settings))
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return _job_ids(_redis_messages(settings, delivered_since))
    return None


def _queue_files(settings: Settings) -> Iterator[bytes]:
    """The filesystem broker's visible message files, named "<id>.<queue>.msg": a message
    still being written has a hidden name, and a taken one has left the folder (a worker
    holds it in memory until it runs, a moment the reconciler's second look covers)."""
    folder = settings.broker_dir.resolve() / "queue"
    wanted = f"{settings.training_queue}.msg"
    for name in os.listdir(folder) if folder.is_dir() else ():
        if name.startswith(".") or name.partition(".")[2] != wanted:
            continue
        try:
            yield (folder / name).read_bytes()
        except OSError:  # taken meanwhile
            continue


def _redis_messages(settings: Settings, delivered_since: float) -> list[bytes]:
    queue = settings.training_queue
    with redis.Redis.from_url(
        settings.broker_url, socket_connect_timeout=1, socket_timeout=5
    ) as client:
        # One transaction, so a message that moves from the queue to the hash meanwhile is
        # seen in one or the other.
        pipe = client.pipeline(transaction=True)
        pipe.lrange(queue, 0, -1)
        pipe.zrangebyscore(UNACKED_INDEX, delivered_since, "+inf")
        pipe.hgetall(UNACKED)
        waiting, recent, held = pipe.execute()
    messages = list(waiting)
    for tag in recent:
        try:
            message, _exchange, routing_key = json.loads(held[tag])
        except (KeyError, ValueError):  # acknowledged meanwhile, or not kombu's
            continue
        if routing_key == queue:
            messages.append(json.dumps(message).encode())
    return messages


def _job_ids(messages: Iterable[bytes]) -> set[int]:
    ids = (experiment_of(message) for message in messages)
    return {experiment_id for experiment_id in ids if experiment_id is not None}


def experiment_of(raw: bytes) -> int | None:
    """The experiment a Celery (protocol 2) message asks to train; None for another task or
    a message that cannot be read."""
    try:
        message = json.loads(raw)
        if message["headers"]["task"] != TRAIN_TASK:
            return None
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        return int(args[0])
    except (ValueError, KeyError, TypeError, IndexError):
        return None
