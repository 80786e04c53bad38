"""What GET /metrics answers, and the request numbers behind it. The requests' counts and
latencies are this process group's (uvicorn's processes add theirs to one folder); at each
scrape it reads the experiments by status and the age of the oldest queued one from SQL (one
GROUP BY over the status index) and the training queue's waiting messages from the broker. A
source that cannot be read leaves its numbers out of that scrape and counts
fitq_metrics_scrape_errors_total{source}: /metrics answers while the database or the broker
is down, when the request numbers matter most."""

import logging
from functools import cache
from typing import TYPE_CHECKING

import redis
from sqlalchemy import func, select

from api.core.outage import DATABASE_DOWN
from broker.depth import waiting_messages
from models import metrics_dir
from models.db import get_engine
from models.settings import get_settings
from models.tables import Experiment, ExperimentStatus, utcnow

if TYPE_CHECKING:
    from api.metrics.instruments import Instruments

log = logging.getLogger(__name__)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@cache
def instruments() -> "Instruments":
    metrics_dir.use(get_settings().metrics_path, "api")
    from api.metrics.instruments import Instruments  # after use(): see its docstring

    return Instruments()


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    # Any token is a method to HTTP: the unknown ones share a label, as unmatched paths do.
    method = method if method in KNOWN_METHODS else "other"
    meters = instruments()
    meters.requests.labels(route, method, str(status)).inc()
    meters.latency.labels(route, method).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text exposition and its media type."""
    meters = instruments()  # first: it chooses the folder before prometheus-client loads
    from api.metrics.instruments import CONTENT_TYPE, State

    settings = get_settings()
    try:
        by_status, oldest = experiments()
    except DATABASE_DOWN as exc:
        log.debug("/metrics: database unreachable: %s", exc)
        meters.scrape_errors.labels("database").inc()
        by_status, oldest = None, None
    try:
        waiting = waiting_messages(settings)
    except (redis.RedisError, OSError) as exc:
        log.debug("/metrics: broker unreachable: %s", exc)
        meters.scrape_errors.labels("broker").inc()
        waiting = None
    state = State(by_status, oldest, settings.training_queue, waiting)
    return meters.exposition(state), CONTENT_TYPE


def experiments() -> tuple[dict[str, int], float]:
    """Experiments by status, and the seconds the oldest queued one has waited (0: none)."""
    # A connection of its own, as /healthz's: no request transaction to leave broken.
    with get_engine().connect() as link:
        counts = link.execute(
            select(Experiment.status, func.count()).group_by(Experiment.status)
        ).all()
        oldest = link.execute(
            select(func.min(Experiment.created_at)).where(
                Experiment.status == ExperimentStatus.QUEUED.value
            )
        ).scalar_one()
    age = 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
    return {status: int(count) for status, count in counts}, age
