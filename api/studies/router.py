"""/studies: models side by side, created and enqueued in one transaction; /recipes:
ready-made studies, created on a dataset in one call."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.core import csv_export
from api.core.deps import OwnerDep, SessionDep, SettingsDep, StudyDep
from api.core.errors import ApiError
from api.core.idempotency import IdempotencyKeyHeader, create_once
from api.core.list_filters import NameQuery, TagQuery
from api.core.schemas import NOT_FOUND, ErrorRead, RunUpdate
from api.studies import recipes, service
from api.studies.schemas import RecipeApply, RecipeRead, StudyCreate, StudyPage, StudyRead
from models.tables import Study

router = APIRouter(tags=["studies"])


@router.post(
    "/studies",
    status_code=status.HTTP_201_CREATED,
    response_model=StudyRead,
    summary="Create a study: variants of a base spec, each run `repeats` times",
)
def create_study(
    body: StudyCreate,
    session: SessionDep,
    settings: SettingsDep,
    owner: OwnerDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> StudyRead:
    """Every variant (the base's override deep-merged, then its `set` paths) at every grid
    point is checked as a full experiment; a problem is a 422 whose `path` points into this
    request (e.g. `variants[1].override.model.layers[0].units`) and whose message names the
    variant. All experiments are stored in one transaction and enqueued after it commits."""
    study = create_once(
        session, request, response, body.model_dump(mode="json"), idempotency_key,
        lambda: service.create_study(session, body, settings, owner), Study, owner,
    )  # fmt: skip
    response.headers["Location"] = str(request.url_for("get_study", study_id=study.id))
    return service.read_one(session, study)


@router.get("/studies", response_model=StudyPage, summary="List studies, newest first")
def list_studies(
    session: SessionDep,
    owner: OwnerDep,
    tag: TagQuery = None,
    name: NameQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> StudyPage:
    """Filters combine: each `tag` given (carried by the study's runs) and `name`."""
    items, total = service.list_page(session, owner, limit, offset, tuple(tag or ()), name)
    return StudyPage(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/studies/{study_id}",
    response_model=StudyRead,
    responses=NOT_FOUND,
    summary="Read a study: status and per-variant summary",
)
def get_study(study: StudyDep, session: SessionDep) -> StudyRead:
    """Per variant: runs finished of total, each run's best epoch (lowest val_loss, or loss
    without validation) with the metrics there and at the end, and their mean and sample
    standard deviation over the succeeded repeats."""
    return service.read_one(session, study)


@router.get(
    "/studies/{study_id}/history.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **NOT_FOUND,
    },
    summary="Every run's epochs as one CSV",
)
def get_study_history_csv(study: StudyDep, session: SessionDep) -> Response:
    """Columns: `experiment_id`, `variant`, `repeat`, `epoch`, then every metric any run
    recorded, sorted; one line per run and epoch."""
    return Response(
        service.history_csv(session, study),
        media_type=csv_export.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="study-{study.id}-history.csv"'},
    )


@router.patch(
    "/studies/{study_id}",
    response_model=StudyRead,
    responses=NOT_FOUND,
    summary="Rename, retag or annotate a study",
)
def update_study(change: RunUpdate, study: StudyDep, session: SessionDep) -> StudyRead:
    """Only the fields given change: `name` and `notes` (null clears them) are the study's;
    `tags` replace the tags of every run, which the studies list filters on."""
    service.update_study(session, study, change)
    return service.read_one(session, study)


@router.delete(
    "/studies/{study_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**NOT_FOUND, 409: {"model": ErrorRead, "description": "A run is running"}},
    summary="Delete a study with its runs, their histories, checkpoints and models",
)
def delete_study(study: StudyDep, session: SessionDep) -> Response:
    """Refused (409) while any run is running: cancel the study, and delete it once its runs
    have stopped."""
    service.delete_study(session, study)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/studies/{study_id}/cancel",
    response_model=StudyRead,
    responses={**NOT_FOUND, 409: {"model": ErrorRead}},
    summary="Cancel every queued or running experiment of a study",
)
def cancel_study(study: StudyDep, session: SessionDep) -> StudyRead:
    """Queued runs become `cancelled` at once; running ones get `cancel_requested` and stop
    within an epoch. 409 when every run has already finished."""
    if service.request_cancel(session, study) == 0:
        raise ApiError(
            409, "path.study_id", f"study {study.id} has nothing left to cancel", "already_finished"
        )
    return service.read_one(session, study)


@router.get("/recipes", response_model=list[RecipeRead], summary="List the ready-made studies")
def list_recipes() -> list[RecipeRead]:
    return [recipe.read for recipe in recipes.RECIPES.values()]


@router.post(
    "/recipes/{name}",
    status_code=status.HTTP_201_CREATED,
    response_model=StudyRead,
    responses=NOT_FOUND,
    summary="Create a ready-made study on a dataset",
)
def create_recipe_study(
    name: str,
    body: RecipeApply,
    session: SessionDep,
    settings: SettingsDep,
    owner: OwnerDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> StudyRead:
    """The recipe's models get the dataset's input (a Flatten first for images) and head:
    Dense(1, sigmoid) with binary_crossentropy for two classes, Dense(classes, softmax) with
    sparse_categorical_crossentropy for more, Dense(1) with mean_squared_error for
    regression. Answers as POST /studies does."""
    if name not in recipes.RECIPES:
        known = ", ".join(recipes.RECIPES)
        raise ApiError(404, "path.name", f"recipe '{name}' not found; known: {known}", "not_found")
    study = create_once(
        session, request, response, body.model_dump(mode="json"), idempotency_key,
        lambda: service.create_recipe_study(session, name, body, settings, owner), Study, owner,
    )  # fmt: skip
    response.headers["Location"] = str(request.url_for("get_study", study_id=study.id))
    return service.read_one(session, study)
