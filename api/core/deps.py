"""Typed dependencies, as Annotated aliases."""

from collections.abc import Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.core.errors import ApiError
from api.core.keys import owner_of
from api.core.series import SeriesCache
from api.plots.cache import PlotCache
from models.db import session_scope
from models.settings import Settings, get_settings
from models.tables import LOCAL_OWNER, Dataset, Experiment, Study


def get_session() -> Iterator[Session]:
    """The request's transaction edge, the one the worker and the CLI use
    (models.db.session_scope): commit when the route returns, roll back if it raises.
    Services below the routes flush, never commit."""
    with session_scope() as session:
        yield session


# scope="function" commits before the response is sent, so a client that gets 201 can read
# what it created, and after-commit actions (enqueueing) run before the reply.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# auto_error=False: a missing or non-Bearer header comes here as None, so every failure is
# the same 401 below; declaring the scheme puts it in the OpenAPI document.
bearer = HTTPBearer(
    auto_error=False, description="An API key from `fitq create-key OWNER`, as `Bearer <key>`"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_owner(session: SessionDep, settings: SettingsDep, credentials: Credentials) -> str:
    """Who is asking: the owner of the bearer token, or "local" when auth is disabled."""
    if settings.auth == "disabled":
        return LOCAL_OWNER
    owner = None if credentials is None else owner_of(session, credentials.credentials)
    if owner is None:
        # One answer for missing, unknown and revoked keys: nothing to probe.
        raise ApiError(
            401, "header.Authorization",
            "a valid API key is required: Authorization: Bearer <key>", "unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    return owner


OwnerDep = Annotated[str, Depends(get_owner)]

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
T = TypeVar("T", Experiment, Dataset, Study)


def _found(session: Session, table: type[T], row_id: int, owner: str, noun: str) -> T:
    row = session.get(table, row_id)
    # Another owner's row is "not found", exactly as a missing one: ids reveal nothing.
    if row is None or row.owner != owner:
        raise ApiError(404, f"path.{noun}_id", f"{noun} {row_id} not found", "not_found")
    return row


def get_experiment(session: SessionDep, owner: OwnerDep, experiment_id: Id) -> Experiment:
    return _found(session, Experiment, experiment_id, owner, "experiment")


def get_dataset(session: SessionDep, owner: OwnerDep, dataset_id: Id) -> Dataset:
    return _found(session, Dataset, dataset_id, owner, "dataset")


def get_study(session: SessionDep, owner: OwnerDep, study_id: Id) -> Study:
    return _found(session, Study, study_id, owner, "study")


ExperimentDep = Annotated[Experiment, Depends(get_experiment)]
DatasetDep = Annotated[Dataset, Depends(get_dataset)]
StudyDep = Annotated[Study, Depends(get_study)]


# The caches live on the app, one per API process (and a fresh one per app in tests, whose
# databases restart their ids); made on first use, so importing the app reads no settings.
def get_plot_cache(request: Request, settings: SettingsDep) -> PlotCache:
    state = request.app.state
    if not hasattr(state, "plot_cache"):
        state.plot_cache = PlotCache(settings.plot_cache_bytes)
    cache: PlotCache = state.plot_cache
    return cache


def get_series_cache(request: Request, settings: SettingsDep) -> SeriesCache:
    state = request.app.state
    if not hasattr(state, "series_cache"):
        state.series_cache = SeriesCache(settings.series_cache_bytes)
    cache: SeriesCache = state.series_cache
    return cache


PlotCacheDep = Annotated[PlotCache, Depends(get_plot_cache)]
SeriesCacheDep = Annotated[SeriesCache, Depends(get_series_cache)]
