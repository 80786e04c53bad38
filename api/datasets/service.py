"""Datasets below the routes: an upload checked and parsed, then put into the artifact store
as an NPZ keyed by its content address, and a `datasets` row; the list. Functions here
flush, never commit: the request's session is the edge."""

import hashlib
from typing import IO

import numpy as np
from fastapi import HTTPException
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.core.errors import ApiError
from api.core.list_filters import name_contains
from api.datasets.limit import too_large
from api.datasets.parsing.common import HeaderChoice, ParsedDataset, UploadError
from api.datasets.parsing.parse import parse_upload
from models import artifacts
from models.db import after_commit
from models.settings import Settings
from models.store import get_store
from models.tables import Dataset, Experiment, ExperimentStatus

_CHUNK = 1024 * 1024


def file_digest(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size of the whole file, read in chunks."""
    hasher, size = hashlib.sha256(), 0
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def content_address(file_sha256: str, options: str) -> str:
    """The same bytes parsed another way (another label column) are another dataset."""
    return hashlib.sha256(f"fitq-dataset-v1\n{file_sha256}\n{options}".encode()).hexdigest()


def store_arrays(key: str, arrays: dict[str, np.ndarray]) -> None:
    """Written as an NPZ to a local temporary file (a zip needs a seekable file), then put
    into the store in chunks; the store's put is whole or absent."""
    with artifacts.scratch() as folder:
        path = folder / "upload.npz"
        with path.open("wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        get_store().put_file(key, path)


def save(
    session: Session,
    owner: str,
    parsed: ParsedDataset,
    address: str,
    **upload: str | int,
) -> tuple[Dataset, bool]:
    """Store the arrays and their row; (dataset, created). An identical earlier upload of the
    same owner, even one committed a moment ago by another request, is returned instead of a
    second copy. The object is shared between owners (same content, same address); the rows
    are not, so one owner's upload never answers another's. The object is put before the row
    is committed: a rolled-back request leaves an object no row names, never a row without
    its object."""
    relative = artifacts.dataset_key(address)
    if not get_store().exists(relative):  # also restores an object deleted by hand
        store_arrays(relative, parsed.arrays())
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    new_id = session.execute(
        insert(Dataset)
        .values(
            owner=owner,
            sha256=address,
            path=relative,
            format=parsed.format,
            label=parsed.label,
            rows=len(parsed.x),
            features=int(np.prod(parsed.x.shape[1:])),
            feature_shape=[int(d) for d in parsed.x.shape[1:]],
            x_dtype=str(parsed.x.dtype),
            y_dtype=str(parsed.y.dtype),
            classes=parsed.classes(),
            has_test=parsed.x_test is not None,
            test_rows=parsed.test_rows,
            **upload,
        )
        .on_conflict_do_nothing(index_elements=["owner", "sha256"])
        .returning(Dataset.id)
    ).scalar_one_or_none()
    same = (Dataset.owner == owner) & (Dataset.sha256 == address)
    dataset = session.scalars(select(Dataset).where(same)).one()
    return dataset, new_id is not None


def upload(
    session: Session,
    owner: str,
    settings: Settings,
    stream: IO[bytes],
    filename: str,
    name: str | None,
    label: str | None,
    header: HeaderChoice,
) -> tuple[Dataset, bool]:
    """The file checked against the limits, parsed and stored; (dataset, created), as save()
    answers. A file that is too large or does not parse is a 413 or a 422 naming where."""
    try:
        file_sha256, size = file_digest(stream)
        if size > settings.max_upload_bytes:
            raise too_large(settings.max_upload_bytes)
        parsed = parse_upload(stream, filename, label, header, settings)
    except UploadError as problem:
        raise HTTPException(problem.status, detail=problem.detail()) from None
    address = content_address(file_sha256, parsed.options)
    return save(
        session, owner, parsed, address,
        name=name or filename, filename=filename, size_bytes=size,
    )  # fmt: skip


def list_page(
    session: Session,
    owner: str,
    limit: int,
    offset: int,
    name: str | None = None,
    format: str | None = None,
) -> tuple[list[Dataset], int]:
    conditions = [Dataset.owner == owner]
    if name is not None:
        conditions.append(name_contains(Dataset.name, name))
    if format is not None:
        conditions.append(Dataset.format == format)
    query = select(Dataset).where(*conditions).order_by(Dataset.id.desc())
    items = list(session.scalars(query.limit(limit).offset(offset)))
    count = select(func.count()).select_from(Dataset).where(*conditions)
    return items, session.scalar(count) or 0


ACTIVE = (ExperimentStatus.QUEUED.value, ExperimentStatus.RUNNING.value)


def delete_dataset(session: Session, dataset: Dataset) -> None:
    """The row, and its stored object once no other owner's row shares it (the object is
    content addressed); refused while a queued or running experiment of the owner trains on
    it."""
    using = [
        e.id
        for e in session.scalars(
            select(Experiment).where(
                Experiment.owner == dataset.owner, Experiment.status.in_(ACTIVE)
            )
        )
        if e.spec.get("dataset", {}).get("dataset_id") == dataset.id
    ]
    if using:
        raise ApiError(
            409, "path.dataset_id",
            f"dataset {dataset.id} is in use by queued or running experiment "
            f"{', '.join(map(str, using))}: delete it once they have stopped", "in_use",
        )  # fmt: skip
    shared = session.scalar(
        select(func.count()).where(Dataset.path == dataset.path, Dataset.id != dataset.id)
    )
    key = dataset.path
    session.delete(dataset)
    session.flush()
    if not shared:
        after_commit(session, lambda: artifacts.delete_upload(key))
