"""/experiments: the dry run, submit, list, read, history (JSON or CSV), cancel, delete,
trained model."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from api.core import csv_export
from api.core.deps import ExperimentDep, OwnerDep, SeriesCacheDep, SessionDep, SettingsDep
from api.core.errors import ApiError
from api.core.idempotency import IdempotencyKeyHeader, create_once
from api.core.list_filters import NameQuery, TagQuery
from api.core.schemas import BINARY, NOT_FOUND, ErrorRead, RunUpdate
from api.experiments import service
from api.experiments.schemas import (
    EpochRow,
    ExperimentCreate,
    ExperimentPage,
    ExperimentRead,
    ModelSummaryRead,
)
from models.tables import FINAL_STATUSES, Experiment, ExperimentStatus

router = APIRouter(prefix="/experiments", tags=["experiments"])


@router.post(
    "/validate",
    response_model=ModelSummaryRead,
    responses={503: {"model": ErrorRead, "description": "No validation worker answered"}},
    summary="Dry run: the layer table, parameters and memory estimate, without queueing",
)
async def validate_experiment(
    body: ExperimentCreate, session: SessionDep, settings: SettingsDep, owner: OwnerDep
) -> dict[str, Any]:
    # Built by a validation worker: the API process never imports TensorFlow or Keras.
    return await service.dry_run(session, body, settings, owner)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentRead,
    summary="Submit an experiment",
)
def create_experiment(
    body: ExperimentCreate,
    session: SessionDep,
    owner: OwnerDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ExperimentRead:
    """Validates the spec, stores it as `queued` and enqueues it after the commit.

    A model whose layers cannot take the dataset's input shape (Conv2D on flat vectors, a
    kernel larger than its input, ...) is a 422 with `type: shape_error` and `path`
    pointing at the layer; an upload that does not exist is a 422 at dataset.dataset_id; a
    spec past one of the server's limits is a 422 with `type: limit_exceeded`."""
    body_json = body.model_dump(mode="json")
    experiment = create_once(
        session, request, response, body_json, idempotency_key,
        lambda: service.create_experiment(session, body, owner), Experiment, owner,
    )  # fmt: skip
    response.headers["Location"] = str(
        request.url_for("get_experiment", experiment_id=experiment.id)
    )
    return service.read_one(session, experiment)


@router.get("", response_model=ExperimentPage, summary="List experiments, newest first")
def list_experiments(
    session: SessionDep,
    owner: OwnerDep,
    status: ExperimentStatus | None = None,
    tag: TagQuery = None,
    name: NameQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> ExperimentPage:
    """Filters combine: `status`, each `tag` given, and `name` (contains, any case)."""
    filters = service.ExperimentFilters(status, tuple(tag or ()), name)
    items, total = service.list_page(session, owner, filters, limit, offset)
    return ExperimentPage(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{experiment_id}", response_model=ExperimentRead, responses=NOT_FOUND, summary="Read one"
)
def get_experiment(experiment: ExperimentDep, session: SessionDep) -> ExperimentRead:
    return service.read_one(session, experiment)


CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
HISTORY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Rows ordered by epoch; as CSV with `Accept: text/csv`",
        "content": CSV_CONTENT,
        "headers": {
            "Link": {
                "description": 'The next page, as `<URL>; rel="next"`, when there is one',
                "schema": {"type": "string"},
            }
        },
    },
    **NOT_FOUND,
}


@router.get(
    "/{experiment_id}/history",
    response_model=list[EpochRow],
    responses=HISTORY_RESPONSES,
    summary="Per-epoch metrics, readable while the job runs; paged and downsampled",
)
def get_history(
    experiment: ExperimentDep,
    session: SessionDep,
    series_cache: SeriesCacheDep,
    request: Request,
    after_epoch: Annotated[
        int, Query(ge=0, le=2**31 - 1, examples=[0, 1000], description="Only epochs after this one")
    ] = 0,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=100_000,
            examples=[1000],
            description="Most epochs in the page (before downsampling)",
        ),
    ] = None,
    max_points: Annotated[
        int | None,
        Query(
            ge=3,
            le=10_000,
            examples=[1000],
            description="Downsample the page to at most this many rows (largest triangles on "
            "`metric`); its first and last epochs are always kept",
        ),
    ] = None,
    metric: Annotated[
        str,
        Query(
            max_length=100,
            examples=["loss", "val_loss"],
            description="The recorded metric whose curve `max_points` keeps the shape of",
        ),
    ] = "loss",
) -> Response:
    """One row per finished epoch: `epoch` and every metric Keras logged (null where a value
    was not finite).

    A page is the `limit` epochs after `after_epoch` (all of them without `limit`). When
    more follow, the `Link` header names the next page (`rel="next"`: the same query with
    `after_epoch` set to the page's last epoch).

    With `max_points` the page is downsampled to at most that many rows: the epochs are cut
    into equal buckets and each bucket keeps the row whose `metric` value stands out most
    from its neighbours (a largest-triangle rule like LTTB), so spikes and turns survive;
    the first and last epochs are always kept, and the rows are whole (every metric). A
    `metric` that was not recorded is a 422.

    With `Accept: text/csv` (before `application/json`) the answer is the whole history as
    CSV, as `GET /experiments/{id}/history.csv` gives it."""
    if csv_export.wants_csv(request.headers.get("accept")):
        return _csv(session, experiment)
    if max_points is None:
        page = service.history_page(session, experiment.id, after_epoch, limit)
    else:
        page = service.downsampled_history_page(
            session, series_cache, experiment, after_epoch, limit, max_points, metric
        )
    headers = {}
    if page.next_after_epoch is not None:
        next_url = request.url.include_query_params(after_epoch=page.next_after_epoch)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return Response(page.body, media_type="application/json", headers=headers)


@router.get(
    "/{experiment_id}/history.csv",
    response_class=Response,
    responses={200: {"content": CSV_CONTENT, "description": "One line an epoch"}, **NOT_FOUND},
    summary="The whole history as CSV: epoch and every metric",
)
def get_history_csv(experiment: ExperimentDep, session: SessionDep) -> Response:
    """Columns: `epoch`, then every metric recorded, sorted; a value that was not finite is
    empty. Readable while the job runs (the epochs recorded so far)."""
    return _csv(session, experiment)


def _csv(session: SessionDep, experiment: Experiment) -> Response:
    filename = f"experiment-{experiment.id}-history.csv"
    return Response(
        service.history_csv(session, experiment.id),
        media_type=csv_export.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.patch(
    "/{experiment_id}",
    response_model=ExperimentRead,
    responses=NOT_FOUND,
    summary="Rename, retag or annotate an experiment",
)
def update_experiment(
    change: RunUpdate, experiment: ExperimentDep, session: SessionDep
) -> ExperimentRead:
    """Only the fields given change: `name` (null clears it), `tags` (replaced; [] removes
    them), `notes` (free text; null clears it). Any status, running included."""
    service.apply_update(session, experiment, change)
    return service.read_one(session, experiment)


@router.delete(
    "/{experiment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**NOT_FOUND, 409: {"model": ErrorRead, "description": "It is running"}},
    summary="Delete an experiment with its history, checkpoints and model",
)
def delete_experiment(experiment: ExperimentDep, session: SessionDep) -> Response:
    """A running experiment is a 409: cancel it, and delete it once it has stopped. A queued
    one is deleted at once (a worker that later takes its message finds nothing to run)."""
    service.delete_experiment(session, experiment)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{experiment_id}/cancel",
    response_model=ExperimentRead,
    responses={**NOT_FOUND, 409: {"model": ErrorRead}},
    summary="Cancel a queued or running experiment",
)
def cancel_experiment(experiment: ExperimentDep, session: SessionDep) -> ExperimentRead:
    """A queued experiment becomes `cancelled` at once; a running one gets
    `cancel_requested: true` and stops within an epoch (or a few seconds inside a long one)."""
    if experiment.status in FINAL_STATUSES:
        raise ApiError(
            409, "path.experiment_id",
            f"experiment {experiment.id} is already {experiment.status}", "already_finished",
        )  # fmt: skip
    service.request_cancel(session, experiment)
    return service.read_one(session, experiment)


@router.get(
    "/{experiment_id}/model",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": BINARY}, "description": "A .keras file"},
        **NOT_FOUND,
        409: {"model": ErrorRead},
    },
    summary="Download the trained model (Keras .keras format)",
)
def get_model(experiment: ExperimentDep) -> StreamingResponse:
    """The final model of a succeeded experiment, loadable with `keras.models.load_model`.
    409 while the experiment is queued or running; 404 when it ended without one (failed or
    cancelled). Streamed from the artifact store as it is read."""
    reading = service.final_model(experiment)
    headers = {
        "Content-Length": str(reading.size),
        "Content-Disposition": f'attachment; filename="experiment-{experiment.id}.keras"',
    }
    return StreamingResponse(reading.chunks, media_type="application/octet-stream", headers=headers)
