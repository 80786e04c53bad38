"""GET /metrics: Prometheus's text format. Who may read it is FITQ_METRICS_ACCESS (public by
default, as /healthz: counts only, never an id or an owner; docs/security.md). Not in the
OpenAPI document: it is for a Prometheus server, not for API clients."""

from fastapi import APIRouter, Depends, Response

from api.core.deps import Credentials, SessionDep, SettingsDep, get_owner
from api.core.errors import ApiError
from api.metrics import service


def metrics_access(session: SessionDep, settings: SettingsDep, credentials: Credentials) -> None:
    if settings.metrics_access == "off":
        raise ApiError(404, "path", "not found (FITQ_METRICS_ACCESS=off)", "not_found")
    if settings.metrics_access == "key":
        get_owner(session, settings, credentials)


router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_access)])
def metrics() -> Response:
    body, media_type = service.exposition()
    return Response(body, media_type=media_type)
