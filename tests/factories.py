"""The rows tests stand on, made in one place: experiments and studies inserted with the ORM as
the API stores them (without enqueueing), a running experiment submitted through the API,
histories written through the worker's epoch_store, and the epoch rows read back."""

import math
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from models.db import session_scope
from models.tables import LOCAL_OWNER, EpochMetric, Experiment, ExperimentStatus, Study, utcnow
from tests.helpers import circles_spec, submit
from worker.training import epoch_store, lifecycle

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def add_experiment(
    spec: dict[str, Any] | None = None,
    *,
    epochs_total: int | None = None,
    status: str = ExperimentStatus.QUEUED.value,
    owner: str = LOCAL_OWNER,
    name: str | None = None,
    tags: list[str] | None = None,
    study_id: int | None = None,
    variant: str | None = None,
    repeat: int | None = None,
    grid_values: dict[str, Any] | None = None,
) -> int:
    """An experiment row; the spec is circles_spec() unless given, epochs_total its epochs."""
    spec = circles_spec() if spec is None else spec
    with session_scope() as session:
        experiment = Experiment(
            owner=owner, name=name, tags=tags or [], spec=spec, status=status,
            epochs_total=spec["fit"]["epochs"] if epochs_total is None else epochs_total,
            study_id=study_id, variant=variant, repeat=repeat,
        )  # fmt: skip
        if grid_values is not None:
            experiment.grid_values = grid_values
        session.add(experiment)
        session.flush()
        return experiment.id


def add_study(
    definition: dict[str, Any] | None = None,
    *,
    owner: str = LOCAL_OWNER,
    name: str | None = None,
    repeats: int = 1,
) -> int:
    """A study row without its runs (add them with add_experiment(study_id=...))."""
    with session_scope() as session:
        study = Study(
            owner=owner, name=name, repeats=repeats,
            definition={"base": circles_spec()} if definition is None else definition,
        )  # fmt: skip
        session.add(study)
        session.flush()
        return study.id


def running_experiment(client: "TestClient", epochs: int = 100_000) -> int:
    """A circles experiment submitted as the client's owner and claimed by "test-worker"."""
    experiment_id = submit(client, epochs=epochs)
    assert lifecycle.claim(experiment_id, "test-worker") is not None
    return experiment_id


def loss_at(epoch: int) -> float:
    """The loss add_epochs writes at an epoch (but at its spike)."""
    return 1 / math.sqrt(epoch)


def add_epochs(
    experiment_id: int, epochs: Iterable[int], spike: int | None = None, chunked: bool = True
) -> None:
    """A falling history (loss_at, 5.0 at `spike`) in rows shaped as the worker writes them, in
    batches of 250 as its flushes do, with their metric_chunks; `chunked=False`: the rows
    alone, as recorded before migration 0008."""
    rows: list[tuple[int, dict[str, Any]]] = []
    for epoch in epochs:
        loss = 5.0 if epoch == spike else loss_at(epoch)
        metrics = {"loss": loss, "accuracy": 0.5, "val_loss": 1.1 * loss, "val_accuracy": 0.4}
        rows.append((epoch, metrics))
    with session_scope() as session:
        if not chunked:
            now = utcnow()
            session.execute(
                insert(EpochMetric),
                [
                    {"experiment_id": experiment_id, "epoch": e, "metrics": m, "recorded_at": now}
                    for e, m in rows
                ],
            )
            return
        for start in range(0, len(rows), 250):
            epoch_store.store_epochs(session, experiment_id, rows[start : start + 250])


def record_epochs(
    experiment_id: int,
    log: Iterable[dict[str, Any]],
    worker: str = "test-worker",
    finish: ExperimentStatus | None = None,
) -> None:
    """What a running worker writes: its claim, then each row of `log` ({"epoch": n, and the
    metrics}) as that epoch ends, and the final status where `finish` gives one."""
    assert lifecycle.claim(experiment_id, worker) is not None
    for row in log:
        metrics = {key: value for key, value in row.items() if key != "epoch"}
        epoch_store.record_epoch(experiment_id, row["epoch"], metrics)
    if finish is not None:
        lifecycle.finish(experiment_id, finish)


def epoch_rows(experiment_id: int) -> list[EpochMetric]:
    """The experiment's epoch rows, in epoch order."""
    with session_scope() as session:
        query = select(EpochMetric).where(EpochMetric.experiment_id == experiment_id)
        return list(session.scalars(query.order_by(EpochMetric.epoch)))


def age(experiment_id: int, seconds: float) -> None:
    """Pretend the last heartbeat (or enqueue) was `seconds` ago."""
    with session_scope() as session:
        session.execute(
            update(Experiment)
            .where(Experiment.id == experiment_id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=seconds))
        )
