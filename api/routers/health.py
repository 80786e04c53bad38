"""/healthz: is the database reachable, is the broker reachable."""

from fastapi import APIRouter, Response
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep
from api.schemas import ComponentHealth, HealthRead
from worker.celery_app import celery_app

router = APIRouter(tags=["health"])


def _database(session: SessionDep) -> ComponentHealth:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        return ComponentHealth(ok=False, error=type(exc).__name__ + ": " + str(exc)[:200])
    return ComponentHealth(ok=True)


def _broker() -> ComponentHealth:
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        return ComponentHealth(ok=False, error=type(exc).__name__ + ": " + str(exc)[:200])
    return ComponentHealth(ok=True)


@router.get(
    "/healthz",
    response_model=HealthRead,
    responses={503: {"model": HealthRead, "description": "A dependency is unreachable"}},
    summary="Database and broker reachability",
)
def healthz(session: SessionDep, settings: SettingsDep, response: Response) -> HealthRead:
    health = HealthRead(status="ok", database=_database(session), broker=_broker())
    if not (health.database.ok and health.broker.ok):
        health.status = "degraded"
        response.status_code = 503
    return health
