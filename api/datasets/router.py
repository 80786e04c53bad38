"""/datasets: upload a CSV or NPZ to train on, list, read."""

from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import StringConstraints

from api.core.deps import DatasetDep, OwnerDep, SessionDep, SettingsDep
from api.core.errors import ApiError
from api.core.list_filters import NameQuery
from api.core.schemas import NOT_FOUND, ErrorRead, ValidationErrorRead
from api.datasets import service
from api.datasets.limit import LimitedUploadRoute
from api.datasets.parsing.common import HeaderChoice
from api.datasets.schemas import DatasetPage, DatasetRead
from models.spec_base import NUL_MESSAGE, NUL_TYPE, Name, NoNul

router = APIRouter(prefix="/datasets", tags=["datasets"], route_class=LimitedUploadRoute)

UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DatasetRead, "description": "Uploaded before (same bytes, same choices)"},
    413: {"model": ErrorRead, "description": "Over FITQ_MAX_UPLOAD_BYTES or FITQ_MAX_DATASET_ROWS"},
    422: {"model": ValidationErrorRead, "description": "What is wrong with the file, and where"},
}
FILE_HELP = "CSV (numeric cells, one label column) or NPZ (x, y, optionally x_test, y_test)"
LABEL_HELP = "CSV label column: a header name or a 0-based index. Default: the last column"
HEADER_HELP = "CSV header row: auto (a first row with a non-numeric cell is a header), yes, no"


@router.post(
    "",
    status_code=201,
    response_model=DatasetRead,
    responses=UPLOAD_RESPONSES,
    summary="Upload a CSV or NPZ dataset",
)
def upload_dataset(
    file: Annotated[UploadFile, File(description=FILE_HELP)],
    session: SessionDep,
    settings: SettingsDep,
    owner: OwnerDep,
    request: Request,
    response: Response,
    name: Annotated[Name | None, Form(description="Default: the file's name")] = None,
    label: Annotated[
        Annotated[str, StringConstraints(max_length=200), NoNul] | None,
        Form(description=LABEL_HELP),
    ] = None,
    header: Annotated[HeaderChoice, Form(description=HEADER_HELP)] = "auto",
) -> DatasetRead:
    """Parses and checks the file here, then stores float32 features and int32 (whole-number)
    or float32 labels. The same bytes uploaded again with the same choices answer 200 with the
    existing dataset instead of storing a copy."""
    filename = PurePosixPath((file.filename or "upload").replace("\\", "/")).name[:255]
    if "\x00" in filename:
        raise ApiError(422, "file", f"the file's name {NUL_MESSAGE}", NUL_TYPE)
    dataset, created = service.upload(
        session, owner, settings, file.file, filename, name, label, header
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = str(request.url_for("get_dataset", dataset_id=dataset.id))
    return DatasetRead.model_validate(dataset)


@router.get("", response_model=DatasetPage, summary="List uploaded datasets, newest first")
def list_datasets(
    session: SessionDep,
    owner: OwnerDep,
    name: NameQuery = None,
    format: Literal["csv", "npz"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> DatasetPage:
    """Filters combine: `name` (contains, any case) and `format`."""
    items, total = service.list_page(session, owner, limit, offset, name, format)
    return DatasetPage(
        items=[DatasetRead.model_validate(d) for d in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{dataset_id}",
    response_model=DatasetRead,
    responses=NOT_FOUND,
    summary="Read one dataset: shape, types, classes, test split",
)
def get_dataset(dataset: DatasetDep) -> DatasetRead:
    return DatasetRead.model_validate(dataset)


@router.delete(
    "/{dataset_id}",
    status_code=204,
    response_class=Response,
    responses={**NOT_FOUND, 409: {"model": ErrorRead, "description": "A job trains on it"}},
    summary="Delete an uploaded dataset",
)
def delete_dataset(dataset: DatasetDep, session: SessionDep) -> Response:
    """Refused (409) while a queued or running experiment trains on it; finished experiments
    keep their history and spec."""
    service.delete_dataset(session, dataset)
    return Response(status_code=204)
