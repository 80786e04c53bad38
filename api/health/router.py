"""/healthz: is the database reachable, is the broker reachable. It answers 503 when either
is not, within a few seconds whatever is down (each check has a timeout)."""

from fastapi import APIRouter, Response

from api.core.outage import RETRY_AFTER_SECONDS
from api.health import service
from api.health.schemas import HealthRead

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthRead,
    responses={503: {"model": HealthRead, "description": "A dependency is unreachable"}},
    summary="Database and broker reachability",
)
def healthz(response: Response) -> HealthRead:
    health = service.health()
    if health.status != "ok":
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return health
