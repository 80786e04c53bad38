"""/healthz: is the database reachable, is the broker reachable. It answers 503 when either
is not, within a few seconds whatever is down (each check has a timeout)."""

from fastapi import APIRouter, Response
from sqlalchemy import text

from api.core.outage import RETRY_AFTER_SECONDS
from api.schemas import ComponentHealth, HealthRead
from broker import door
from models.db import get_engine

router = APIRouter(tags=["health"])


def _database() -> ComponentHealth:
    # A connection of its own, not the request's session: a failed check must not leave a
    # broken transaction for the request's commit to trip over.
    try:
        with get_engine().connect() as link:
            link.execute(text("SELECT 1"))
    except Exception as exc:
        return ComponentHealth(ok=False, error=type(exc).__name__ + ": " + str(exc)[:200])
    return ComponentHealth(ok=True)


def _broker() -> ComponentHealth:
    error = door.broker_error()
    return ComponentHealth(ok=error is None, error=error)


@router.get(
    "/healthz",
    response_model=HealthRead,
    responses={503: {"model": HealthRead, "description": "A dependency is unreachable"}},
    summary="Database and broker reachability",
)
def healthz(response: Response) -> HealthRead:
    health = HealthRead(status="ok", database=_database(), broker=_broker())
    if not (health.database.ok and health.broker.ok):
        health.status = "degraded"
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return health
