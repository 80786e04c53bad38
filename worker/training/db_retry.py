"""Database writes that wait out an outage: a whole transaction retried on lost connections,
with backoff, for at most a budget of seconds."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")
# How long an epoch write keeps retrying through a database outage before the job fails.
DB_RETRY_SECONDS = 60.0


def retrying(action: Callable[[], T], budget: float = DB_RETRY_SECONDS) -> T:
    """Run `action` (a whole transaction), retrying lost connections with backoff.
    pool_pre_ping replaces dead pooled connections; this covers the outage itself."""
    deadline = time.monotonic() + budget
    delay = 0.25
    while True:
        try:
            return action()
        except (OperationalError, DBAPIError) as exc:
            disconnect = isinstance(exc, OperationalError) or exc.connection_invalidated
            if not disconnect or time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable (%s); retrying in %.1fs", type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)  # back soon after the database is
