"""The app factory: routers, error handlers, lifespan. Never imports TensorFlow or Keras."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api import errors
from api.body_limit import BodyLimitMiddleware
from api.routers import (
    datasets,
    diagnosis,
    experiments,
    health,
    plots,
    plots_studies,
    recipes,
    studies,
    validate,
)
from api.schemas import ErrorRead, ValidationErrorRead
from models.settings import get_settings


def _operation_id(route: APIRoute) -> str:
    # Route function names are unique and read well in generated clients.
    return route.name


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger(__name__).info("fitq API in %s mode", settings.mode)
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="fitq",
        summary="A training service for studying over- and underfitting with Keras",
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        responses={
            400: {"model": ErrorRead, "description": "The body could not be read (not UTF-8)"},
            413: {"model": ErrorRead, "description": "The body is past FITQ_MAX_REQUEST_BYTES"},
            422: {"model": ValidationErrorRead, "description": "Invalid input"},
        },
    )
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware)
    app.include_router(validate.router)
    app.include_router(experiments.router)
    app.include_router(plots.router)
    app.include_router(studies.router)
    app.include_router(recipes.router)
    app.include_router(plots_studies.router)
    app.include_router(diagnosis.router)
    app.include_router(datasets.router)
    app.include_router(health.router)
    return app


app = create_app()
