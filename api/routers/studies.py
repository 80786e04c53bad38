"""/studies: models side by side, created and enqueued in one transaction."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.core.deps import OwnerDep, SessionDep, SettingsDep, StudyDep
from api.core.errors import ApiError
from api.core.idempotency import IdempotencyKeyHeader, create_once
from api.core.list_filters import NameQuery, TagQuery
from api.core.schemas import NOT_FOUND, ErrorRead
from api.studies import reads
from api.studies.create import create_study as create
from api.study_schemas import StudyCreate, StudyPage, StudyRead
from models.tables import Study

router = APIRouter(prefix="/studies", tags=["studies"])


@router.post(
    "",
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
        lambda: create(session, body, settings, owner), Study, owner,
    )  # fmt: skip
    response.headers["Location"] = str(request.url_for("get_study", study_id=study.id))
    return reads.read_one(session, study)


@router.get("", response_model=StudyPage, summary="List studies, newest first")
def list_studies(
    session: SessionDep,
    owner: OwnerDep,
    tag: TagQuery = None,
    name: NameQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> StudyPage:
    """Filters combine: each `tag` given (carried by the study's runs) and `name`."""
    items, total = reads.list_page(session, owner, limit, offset, tuple(tag or ()), name)
    return StudyPage(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{study_id}",
    response_model=StudyRead,
    responses=NOT_FOUND,
    summary="Read a study: status and per-variant summary",
)
def get_study(study: StudyDep, session: SessionDep) -> StudyRead:
    """Per variant: runs finished of total, each run's best epoch (lowest val_loss, or loss
    without validation) with the metrics there and at the end, and their mean and sample
    standard deviation over the succeeded repeats."""
    return reads.read_one(session, study)


@router.post(
    "/{study_id}/cancel",
    response_model=StudyRead,
    responses={**NOT_FOUND, 409: {"model": ErrorRead}},
    summary="Cancel every queued or running experiment of a study",
)
def cancel_study(study: StudyDep, session: SessionDep) -> StudyRead:
    """Queued runs become `cancelled` at once; running ones get `cancel_requested` and stop
    within an epoch. 409 when every run has already finished."""
    if reads.request_cancel(session, study) == 0:
        raise ApiError(
            409, "path.study_id", f"study {study.id} has nothing left to cancel", "already_finished"
        )
    return reads.read_one(session, study)
