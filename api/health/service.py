"""Is the database reachable, is the broker reachable: each check answers within a few
seconds whatever is down (each has a timeout)."""

from sqlalchemy import text

from api.health.schemas import ComponentHealth, HealthRead
from broker import door
from models.db import get_engine


def database() -> ComponentHealth:
    # A connection of its own, not the request's session: a failed check must not leave a
    # broken transaction for the request's commit to trip over.
    try:
        with get_engine().connect() as link:
            link.execute(text("SELECT 1"))
    except Exception as exc:
        return ComponentHealth(ok=False, error=type(exc).__name__ + ": " + str(exc)[:200])
    return ComponentHealth(ok=True)


def broker() -> ComponentHealth:
    error = door.broker_error()
    return ComponentHealth(ok=error is None, error=error)


def health() -> HealthRead:
    """Both checks; the status is degraded when either failed."""
    found = HealthRead(status="ok", database=database(), broker=broker())
    if not (found.database.ok and found.broker.ok):
        found.status = "degraded"
    return found
