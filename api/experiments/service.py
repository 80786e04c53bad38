"""Experiments below the routes: the checks of a spec (every route that takes one comes
through check_spec), submitting, reading, listing and cancelling, the history pages and the
dry run. They flush, never commit: the request's session is the edge."""

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from fastapi.exceptions import RequestValidationError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout
from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    Text,
    any_,
    bindparam,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.core import csv_export
from api.core.errors import ApiError
from api.core.list_filters import has_tag, name_contains
from api.core.lttb import largest_triangles
from api.core.outage import BROKER, ServerDownError
from api.core.schemas import RunUpdate
from api.core.series import SeriesCache, last_epoch
from api.experiments.schemas import ExperimentRead, ExperimentTimings, ExperimentTrainer
from broker import door
from models import artifacts, limits, shapes
from models.db import after_commit
from models.settings import Settings, get_settings
from models.spec import ExperimentSpec
from models.spec_datasets import DatasetSpec, UploadedDataset
from models.store import ArtifactMissingError, Reading, get_store
from models.tables import (
    FINAL_STATUSES,
    Dataset,
    EpochMetric,
    Experiment,
    ExperimentStatus,
    utcnow,
)


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
    """Checked (check_spec: a 422 on a problem), stored as queued, and enqueued after the
    commit."""
    check_spec(session, spec, owner)
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
    door.enqueue_training(session, experiment.id)
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
        notes=experiment.notes,
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


def apply_update(session: Session, row: Experiment, change: RunUpdate) -> None:
    """Set the fields the PATCH gave, and only those."""
    for field in change.model_fields_set:
        setattr(row, field, getattr(change, field))
    session.flush()


def history_csv(session: Session, experiment_id: int) -> str:
    """The whole history as CSV: epoch, then every metric recorded."""
    query = (
        select(EpochMetric.epoch, EpochMetric.metrics)
        .where(EpochMetric.experiment_id == experiment_id)
        .order_by(EpochMetric.epoch)
    )
    return csv_export.history_csv(
        ["epoch"], (((epoch,), metrics) for epoch, metrics in session.execute(query))
    )


def delete_experiment(session: Session, experiment: Experiment) -> None:
    """The row, and with it (a trigger, migration 0009) its epochs and chunks; its checkpoints
    and final model once the delete is committed. A running job is refused: its worker would
    go on writing for a row that is gone until its next write found out."""
    refuse_running([experiment])
    artifacts_to_remove(session, [experiment.id])
    session.delete(experiment)
    session.flush()


def final_model(experiment: Experiment) -> Reading:
    """The final model, opened in the artifact store: 409 while the experiment is not
    finished, 404 when it ended without one."""
    if experiment.status not in FINAL_STATUSES:
        raise ApiError(
            409, "path.experiment_id", f"experiment {experiment.id} is {experiment.status}",
            "not_finished",
        )  # fmt: skip
    try:
        return get_store().open(artifacts.final_model_key(experiment.id))
    except ArtifactMissingError:
        raise ApiError(
            404, "path.experiment_id", f"experiment {experiment.id} has no trained model",
            "no_model",
        ) from None  # fmt: skip


def refuse_running(experiments: Sequence[Experiment]) -> None:
    running = [e.id for e in experiments if e.status == ExperimentStatus.RUNNING.value]
    if running:
        raise ApiError(
            409, "path",
            f"experiment {', '.join(map(str, running))} is running: cancel it "
            "(POST .../cancel) and delete it once it has stopped", "still_running",
        )  # fmt: skip


def artifacts_to_remove(session: Session, experiment_ids: Sequence[int]) -> None:
    """Delete the experiments' stored objects (checkpoints, final models) after the commit (a
    rollback keeps them with their rows)."""
    ids = list(experiment_ids)
    after_commit(session, lambda: artifacts.delete_experiments(ids))


# History pages: GET /experiments/{id}/history as JSON bytes, pages of rows, optionally
# downsampled.
#
# Rows go out as the database writes them: each row's metrics are read as JSON text (jsonb
# renders it on PostgreSQL) and joined with its epoch, never decoded into Python objects and
# encoded again (for 100,000 epochs that round trip, with the response model's validation,
# took seconds). The worker stores finite numbers or null only, so the text is valid JSON of
# the documented shape.


@dataclass(frozen=True)
class HistoryPage:
    body: bytes  # a JSON array of rows
    # The epoch to pass as after_epoch for the next page; None when this page is the last.
    next_after_epoch: int | None


def history_page(
    session: Session, experiment_id: int, after_epoch: int, limit: int | None
) -> HistoryPage:
    """Up to `limit` rows after `after_epoch` (all of them without a limit)."""
    query = _rows_query(experiment_id).where(EpochMetric.epoch > after_epoch)
    if limit is not None:
        query = query.limit(limit + 1)  # one more tells whether a next page exists
    rows = session.execute(query).all()
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if more else rows
    return HistoryPage(_json_array(rows), rows[-1].epoch if more else None)


def downsampled_history_page(
    session: Session,
    series_cache: SeriesCache,
    experiment: Experiment,
    after_epoch: int,
    limit: int | None,
    max_points: int,
    metric: str,
) -> HistoryPage:
    """The page `history_page` would give, reduced to at most max_points rows chosen by largest
    triangles on one metric; its first and last epochs are kept, so the next page starts
    right after the last row returned."""
    newest = last_epoch(session, experiment.id)
    if newest is None:
        return HistoryPage(b"[]", None)
    if metric not in newest.metrics:
        raise RequestValidationError([{
            "type": "metric_not_recorded",
            "loc": ("query", "metric"),
            "msg": f"metric '{metric}' was not recorded; recorded: {', '.join(newest.metrics)}",
            "input": metric,
        }])  # fmt: skip
    series = series_cache.get(session, experiment.id, experiment.attempts, metric)
    series = series.window(after_epoch)
    more = limit is not None and len(series.epochs) > limit
    epochs, values = series.epochs[:limit], series.values[:limit]
    if not len(epochs):
        return HistoryPage(b"[]", None)
    kept = epochs[largest_triangles(epochs, values, max_points)]
    query = _rows_query(experiment.id).where(_epoch_among(session, kept.tolist()))
    rows = session.execute(query).all()
    return HistoryPage(_json_array(rows), int(kept[-1]) if more else None)


def _epoch_among(session: Session, epochs: list[int]) -> ColumnElement[bool]:
    """epoch IN (...). PostgreSQL gets one array parameter (= ANY) instead of one parameter
    per epoch: a quarter of the time for 1,000 epochs (parameters expanded, parsed and
    planned one by one)."""
    if session.get_bind().dialect.name == "postgresql":
        return EpochMetric.epoch == any_(bindparam("epochs", epochs, type_=ARRAY(Integer)))
    return EpochMetric.epoch.in_(epochs)


def _rows_query(experiment_id: int) -> Select[int, str]:
    metrics_text = cast(EpochMetric.metrics, Text)
    return (
        select(EpochMetric.epoch, metrics_text)
        .where(EpochMetric.experiment_id == experiment_id)
        .order_by(EpochMetric.epoch)
    )


def _json_array(rows: Sequence[Row[int, str]]) -> bytes:
    return ("[" + ",".join(_row_json(epoch, metrics) for epoch, metrics in rows) + "]").encode()


def _row_json(epoch: int, metrics: str) -> str:
    """{"epoch": E, ...metrics}: the stored object with the epoch as its first key."""
    inner = metrics.strip()[1:-1].strip()
    return f'{{"epoch":{epoch},{inner}}}' if inner else f'{{"epoch":{epoch}}}'


# The dry run (POST /experiments/validate): it builds the model without queueing a fit.
#
# The API process never imports TensorFlow (it would cost seconds and hundreds of MB per API
# process, and claim GPUs), so the model is built by a worker on the dedicated validate queue
# and the answer awaited with a timeout; a queue of its own keeps dry runs from waiting
# behind hours-long fits.

# A broker or result store lost mid-wait, as opposed to an error the worker sent back.
BROKER_DOWN = (KombuOperationalError, RedisConnectionError, RedisTimeout)


async def dry_run(
    session: Session, spec: ExperimentSpec, settings: Settings, owner: str
) -> dict[str, Any]:
    """The model's summary, built by a validation worker; 503 when none answers in time or
    the broker is down, 422 when the spec cannot be built."""
    # Bad shapes or data are a 422 here, with no worker needed.
    input_shape = check_spec(session, spec, owner)
    if input_shape is None:
        raise ApiError(422, "dataset", "the dataset's input shape is not known", "unknown_shape")
    document = spec.model_dump(mode="json")
    try:
        # In a thread: while the broker is down a send takes about a second to fail.
        result = await run_in_threadpool(door.send_dry_run, document, list(input_shape))
    except Exception as exc:  # nothing of the spec is read before the send
        raise ServerDownError(BROKER, _broker_down(exc)) from None
    try:
        summary: dict[str, Any] = await run_in_threadpool(
            result.get, timeout=settings.validate_timeout_seconds, propagate=True
        )
    except CeleryTimeout:
        # Forgetting is cleanup: the filesystem result backend has no file to delete for a
        # task nobody ran, and that must not turn the 503 into a 500.
        with suppress(Exception):
            result.forget()
        raise ServerDownError(
            BROKER,
            f"no validation worker answered within {settings.validate_timeout_seconds:g} s "
            f"(is a worker consuming the '{settings.validate_queue}' queue?)",
        ) from None
    except BROKER_DOWN as exc:  # the broker went down while the worker built the model
        raise ServerDownError(BROKER, _broker_down(exc)) from None
    except Exception as exc:  # the model could not be built: the spec's fault
        raise ApiError(422, "model", f"{type(exc).__name__}: {exc}", "build_failed") from None
    return summary


def _broker_down(exc: Exception) -> str:
    return f"the broker is unreachable ({type(exc).__name__}); try again shortly"
