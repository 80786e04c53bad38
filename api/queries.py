"""Reads and state changes used by the routes. They flush, never commit: the edge commits."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.core.list_filters import has_tag, name_contains
from api.schemas import ExperimentRead, ExperimentTimings, ExperimentTrainer
from models import limits, shapes
from models.settings import Settings, get_settings
from models.spec import ExperimentSpec
from models.spec_datasets import DatasetSpec, UploadedDataset
from models.tables import Dataset, EpochMetric, Experiment, ExperimentStatus, utcnow


def owned_dataset(session: Session, dataset_id: int, owner: str) -> Dataset | None:
    """An upload of `owner`; another owner's upload is None, as a missing one."""
    stored = session.get(Dataset, dataset_id)
    return stored if stored is not None and stored.owner == owner else None


def dataset_input_shape(
    session: Session, dataset: DatasetSpec, owner: str
) -> tuple[int, ...] | None:
    """The model's input shape for this dataset; None when it cannot be known here (an
    upload that does not exist: check_dataset rejects those)."""
    if isinstance(dataset, UploadedDataset):
        stored = owned_dataset(session, dataset.dataset_id, owner)
        return None if stored is None else tuple(stored.feature_shape)
    return dataset.input_shape


def check_dataset(session: Session, dataset: DatasetSpec, owner: str) -> None:
    """An upload must exist, and have a test split if the spec uses one. Raised as a request
    validation error so the 422 names the field like any other bad spec field."""
    if not isinstance(dataset, UploadedDataset):
        return
    stored = owned_dataset(session, dataset.dataset_id, owner)
    if stored is None:
        field, kind = "dataset_id", "dataset_not_found"
        msg = f"dataset {dataset.dataset_id} not found; upload one with POST /datasets"
    elif dataset.test_split != "none" and not stored.has_test:
        field, kind = "test_split", "dataset_has_no_test_split"
        msg = (
            f"dataset {stored.id} has no test split (x_test, y_test), so test_split "
            f"'{dataset.test_split}' cannot be used; give 'none'"
        )
    else:
        return
    value = getattr(dataset, field)
    error = {"type": kind, "loc": ("body", "dataset", field), "msg": msg, "input": value}
    raise RequestValidationError([error], body={"dataset": dataset.model_dump(mode="json")})


def check_spec(
    session: Session, spec: ExperimentSpec, owner: str, settings: Settings | None = None
) -> tuple[int, ...] | None:
    """Checks that need the database, the dataset's shape or the server's limits (422 on
    failure); returns the model's input shape when it is known. Every route that takes a
    spec (experiments, dry runs, studies, recipes) comes through here."""
    check_dataset(session, spec.dataset, owner)
    input_shape = dataset_input_shape(session, spec.dataset, owner)
    if input_shape is not None:
        shapes.check(input_shape, spec.model.layers)  # ShapeError -> 422, see api/core/errors.py
    shapes.check_input_kind(spec.dataset, spec.model.layers)
    over = limits.problems(spec, input_shape, settings or get_settings())
    if over:
        errors = [
            {"type": limits.LIMIT_EXCEEDED, "loc": ("body", *p.loc), "msg": p.msg} for p in over
        ]
        raise RequestValidationError(errors, body=spec.model_dump(mode="json"))
    return input_shape


def create_experiment(session: Session, spec: ExperimentSpec, owner: str) -> Experiment:
    experiment = Experiment(
        owner=owner,
        name=spec.name,
        tags=list(spec.tags),
        spec=spec.model_dump(mode="json"),
        status=ExperimentStatus.QUEUED.value,
        epochs_total=spec.fit.epochs,
    )
    session.add(experiment)
    session.flush()
    return experiment


def latest_metrics(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The last finished epoch's metrics of each experiment, in one query."""
    if not ids:
        return {}
    last = (
        select(EpochMetric.experiment_id, func.max(EpochMetric.epoch).label("epoch"))
        .where(EpochMetric.experiment_id.in_(ids))
        .group_by(EpochMetric.experiment_id)
        .subquery()
    )
    rows = session.execute(
        select(EpochMetric.experiment_id, EpochMetric.metrics).join(
            last,
            (EpochMetric.experiment_id == last.c.experiment_id)
            & (EpochMetric.epoch == last.c.epoch),
        )
    )
    return {int(row.experiment_id): row.metrics for row in rows}


def to_read(experiment: Experiment, metrics: dict[str, Any] | None) -> ExperimentRead:
    return ExperimentRead(
        id=experiment.id,
        name=experiment.name,
        tags=experiment.tags,
        status=ExperimentStatus(experiment.status),
        current_epoch=experiment.current_epoch,
        epochs_total=experiment.epochs_total,
        latest_metrics=metrics,
        test_metrics=experiment.test_metrics,
        error=experiment.error,
        stopped_epoch=experiment.stopped_epoch,
        stop_reason=experiment.stop_reason,
        cancel_requested=experiment.cancel_requested,
        attempts=experiment.attempts or 0,
        backend=experiment.backend,
        timings=None if experiment.timings is None else ExperimentTimings(**experiment.timings),
        versions=experiment.versions,
        trainer=None if experiment.trainer is None else ExperimentTrainer(**experiment.trainer),
        created_at=experiment.created_at,
        started_at=experiment.started_at,
        finished_at=experiment.finished_at,
        spec=experiment.spec,
    )


def read_one(session: Session, experiment: Experiment) -> ExperimentRead:
    return to_read(experiment, latest_metrics(session, [experiment.id]).get(experiment.id))


@dataclass(frozen=True)
class ExperimentFilters:
    status: ExperimentStatus | None = None
    tags: Sequence[str] = ()
    name: str | None = None


def list_page(
    session: Session, owner: str, filters: ExperimentFilters, limit: int, offset: int
) -> tuple[list[ExperimentRead], int]:
    conditions = [Experiment.owner == owner]
    if filters.status is not None:
        conditions.append(Experiment.status == filters.status.value)
    dialect = session.get_bind().dialect.name
    conditions += [has_tag(Experiment.tags, tag, dialect) for tag in filters.tags]
    if filters.name is not None:
        conditions.append(name_contains(Experiment.name, filters.name))
    query = select(Experiment).where(*conditions)
    count = select(func.count()).select_from(Experiment).where(*conditions)
    experiments = session.scalars(query.order_by(Experiment.id.desc()).limit(limit).offset(offset))
    page = list(experiments)
    metrics = latest_metrics(session, [e.id for e in page])
    return [to_read(e, metrics.get(e.id)) for e in page], session.scalar(count) or 0


def history(
    session: Session, experiment_id: int, after_epoch: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    query = (
        select(EpochMetric.epoch, EpochMetric.metrics)
        .where(EpochMetric.experiment_id == experiment_id, EpochMetric.epoch > after_epoch)
        .order_by(EpochMetric.epoch)
    )
    if limit is not None:
        query = query.limit(limit)
    return [{"epoch": epoch, **metrics} for epoch, metrics in session.execute(query)]


def request_cancel(session: Session, experiment: Experiment) -> None:
    """A queued job is cancelled at once; a running one is flagged and its worker stops it
    at the next epoch end or mid-epoch check. Both updates are conditional, so a worker
    claiming the job at the same moment cannot slip past the cancel."""
    cancelled_now = session.execute(
        update(Experiment)
        .where(Experiment.id == experiment.id, Experiment.status == ExperimentStatus.QUEUED.value)
        .values(
            status=ExperimentStatus.CANCELLED.value, cancel_requested=True, finished_at=utcnow()
        )
    )
    if cancelled_now.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            update(Experiment)
            .where(
                Experiment.id == experiment.id, Experiment.status == ExperimentStatus.RUNNING.value
            )
            .values(cancel_requested=True)
        )
    session.flush()
    session.refresh(experiment)
