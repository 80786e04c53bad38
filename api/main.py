"""The app factory: routers, error handlers, lifespan. Never imports TensorFlow or Keras."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from api.core import errors, outage
from api.core.admission import AdmissionMiddleware
from api.core.body_limit import BodyLimitMiddleware
from api.core.deps import get_owner
from api.core.request_checks import check_request
from api.core.schemas import ErrorRead, ValidationErrorRead
from api.datasets import router as datasets
from api.diagnosis import router as diagnosis
from api.events import router as events
from api.experiments import router as experiments
from api.health import router as health
from api.metrics import router as metrics
from api.metrics.middleware import RequestMetricsMiddleware
from api.plots import router as plots
from api.studies import router as studies
from api.web import router as web
from models import logs
from models.db import MAX_CONNECTIONS
from models.settings import get_settings


def _operation_id(route: APIRoute) -> str:
    # Route function names are unique and read well in generated clients.
    return route.name


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)
    logger = logging.getLogger(__name__)
    logger.info("fitq API in %s mode", settings.mode)
    if settings.auth == "disabled":
        logger.warning(
            "FITQ_AUTH=disabled: no API keys are checked and every request acts as owner "
            "'local'; use this only for a one-user local run"
        )
    yield


def _document_auth_as_run(app: FastAPI) -> None:
    """With FITQ_AUTH=disabled the document asks for no key: generated clients then need no
    AuthenticatedClient, and /docs shows no padlocks that mean nothing."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            if get_settings().auth == "disabled":
                document.get("components", {}).pop("securitySchemes", None)
                for operations in document["paths"].values():
                    for operation in operations.values():
                        operation.pop("security", None)
                        operation.get("responses", {}).pop("401", None)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _document_errors_as_json(app: FastAPI) -> None:
    """Errors are JSON on every route: FastAPI documents an event stream's error answers in
    the stream's media type, which they are not."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for operations in document["paths"].values():
                for operation in operations.values():
                    for status, answer in operation.get("responses", {}).items():
                        content = answer.get("content", {})
                        if status.startswith(("4", "5")) and "text/event-stream" in content:
                            content["application/json"] = content.pop("text/event-stream")
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def create_app() -> FastAPI:
    settings = get_settings()
    if settings.log_format == "json":
        # Now, not in the lifespan: uvicorn logs its first lines before the lifespan starts.
        logs.configure(settings.log_format, settings.log_level)
    # /docs and /redoc load Swagger UI and ReDoc from the package, not a CDN: they work offline.
    app = FastAPIOffline(
        title="fitq",
        summary="A training service for studying over- and underfitting with Keras",
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        responses={
            400: {"model": ErrorRead, "description": "The body is not UTF-8, or nested too deep"},
            413: {"model": ErrorRead, "description": "The body is past FITQ_MAX_REQUEST_BYTES"},
            415: {"model": ErrorRead, "description": "The body is not of the media type taken"},
            422: {"model": ValidationErrorRead, "description": "Invalid input"},
        },
    )
    errors.install(app)
    outage.install(app)
    app.add_middleware(BodyLimitMiddleware)
    # Added after the body limit, so around it: a waiting request has not been read or
    # handled at all. GET /metrics waits too: it reads SQL on a pooled connection.
    app.add_middleware(AdmissionMiddleware, limit=MAX_CONNECTIONS)
    # Outermost: a request's time includes its wait for admission.
    app.add_middleware(RequestMetricsMiddleware)
    # Every route but /healthz needs a key, even one that reads nothing owned (GET /recipes):
    # auth by construction, so a new router cannot forget it. Routes that read or write
    # owned rows also take OwnerDep (or an owner-aware ExperimentDep, ...); FastAPI resolves
    # it once per request.
    # check_request (unknown parameters, media types, deep JSON) runs on every route, after
    # the key is checked, so a request without one learns nothing else.
    owned = [Depends(get_owner), Depends(check_request)]
    unauthorized: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorRead, "description": "No API key, or an unknown or revoked one"}
    }
    for domain in (experiments, events, plots, studies, diagnosis, datasets):
        app.include_router(domain.router, dependencies=owned, responses=unauthorized)
    app.include_router(health.router, dependencies=[Depends(check_request)])
    app.include_router(metrics.router)  # FITQ_METRICS_ACCESS says who may read it
    # The page and its files are public, as any page is; everything they read asks for the key.
    app.include_router(web.router)
    app.mount("/ui", web.static_files(), name="ui")
    _document_auth_as_run(app)
    _document_errors_as_json(app)
    return app


app = create_app()
