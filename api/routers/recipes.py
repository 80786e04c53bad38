"""/recipes: ready-made studies, created on a dataset in one call."""

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from api.core.deps import OwnerDep, SessionDep, SettingsDep
from api.core.errors import ApiError
from api.core.idempotency import IdempotencyKeyHeader, create_once
from api.core.schemas import NOT_FOUND
from api.experiments.service import check_dataset, dataset_input_shape, owned_dataset
from api.recipe_schemas import RecipeApply, RecipeRead
from api.studies import reads, recipes
from api.studies.create import create_study
from api.studies.heads import TaskError, task_of
from api.study_schemas import StudyCreate, StudyRead
from models.spec_datasets import UploadedDataset
from models.tables import Study

router = APIRouter(prefix="/recipes", tags=["studies"])


@router.get("", response_model=list[RecipeRead], summary="List the ready-made studies")
def list_recipes() -> list[RecipeRead]:
    return [recipe.read for recipe in recipes.RECIPES.values()]


@router.post(
    "/{name}",
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
        lambda: create_study(
            session,
            StudyCreate.model_validate(_study_request(session, name, body, owner)),
            settings,
            owner,
        ),
        Study,
        owner,
    )  # fmt: skip
    response.headers["Location"] = str(request.url_for("get_study", study_id=study.id))
    return reads.read_one(session, study)


def _study_request(session: Session, name: str, body: RecipeApply, owner: str) -> dict[str, Any]:
    check_dataset(session, body.dataset, owner)  # an upload that is not the owner's: 422
    stored = (
        owned_dataset(session, body.dataset.dataset_id, owner)
        if isinstance(body.dataset, UploadedDataset)
        else None
    )
    try:
        task = task_of(body.dataset, stored)
        frame = recipes.frame_for(body, task, dataset_input_shape(session, body.dataset, owner))
    except TaskError as problem:
        error = {"type": "recipe_unfit", "loc": ("body", "dataset"), "msg": str(problem)}
        raise RequestValidationError([error], body=body.model_dump(mode="json")) from None
    return recipes.study_request(name, body, frame, None if stored is None else stored.rows)
