"""The epoch callback against a real (SQLite) database: one row per epoch, cancel, divergence."""

import keras
import numpy as np
from sqlalchemy import select, update

from models.db import session_scope
from models.tables import EpochMetric, Experiment
from worker.training.callbacks import EpochWriter
from worker.training.run import readable_error


def new_experiment(epochs: int) -> int:
    with session_scope() as session:
        experiment = Experiment(spec={}, epochs_total=epochs, status="running")
        session.add(experiment)
        session.flush()
        return experiment.id


def rows(experiment_id: int) -> list[EpochMetric]:
    with session_scope() as session:
        query = select(EpochMetric).where(EpochMetric.experiment_id == experiment_id)
        return list(session.scalars(query.order_by(EpochMetric.epoch)))


class BatchCounter(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.batches += 1


def tiny_fit(
    writer: EpochWriter,
    epochs: int,
    x: np.ndarray | None = None,
    counter: BatchCounter | None = None,
) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32") if x is None else x
    y = (x[:, 0] > 0).astype("float32")
    model.fit(
        x,
        y,
        validation_split=0.25,
        epochs=epochs,
        batch_size=8,
        callbacks=[writer, counter or BatchCounter()],
        verbose=0,
    )


def test_each_epoch_is_written_once_from_1(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=3)
    writer = EpochWriter(experiment_id, check_seconds=60)
    tiny_fit(writer, epochs=3)
    written = rows(experiment_id)
    assert [r.epoch for r in written] == [1, 2, 3]
    assert set(written[0].metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert writer.stop_reason is None
    with session_scope() as session:
        assert session.get(Experiment, experiment_id).current_epoch == 3  # type: ignore[union-attr]


def test_cancel_flag_stops_at_the_epoch_end(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=50)
    with session_scope() as session:
        session.execute(update(Experiment).values(cancel_requested=True))
    writer = EpochWriter(experiment_id, check_seconds=60)
    tiny_fit(writer, epochs=50)
    assert writer.stop_reason == "cancelled"
    assert [r.epoch for r in rows(experiment_id)] == [1]


def test_cancel_is_seen_inside_a_long_epoch(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=5)
    with session_scope() as session:
        session.execute(update(Experiment).values(cancel_requested=True))
    ticks = iter(range(0, 10_000, 10))  # every batch looks 10 s later than the one before
    writer = EpochWriter(experiment_id, check_seconds=5, clock=lambda: float(next(ticks)))
    counter = BatchCounter()
    tiny_fit(writer, epochs=5, counter=counter)
    assert writer.stop_reason == "cancelled"
    assert counter.batches == 1  # of 6 in an epoch: stopped at the first mid-epoch check
    assert [r.epoch for r in rows(experiment_id)] == [1]


def test_nan_loss_is_diverged_and_stored_as_null(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=5)
    writer = EpochWriter(experiment_id, check_seconds=60)
    x = np.full((64, 2), np.nan, dtype="float32")
    tiny_fit(writer, epochs=5, x=x)
    assert writer.stop_reason == "diverged" and writer.diverged_epoch == 1
    assert rows(experiment_id)[0].metrics["loss"] is None


def test_readable_error_drops_embedded_tracebacks() -> None:
    message = (
        "Graph execution error:\n\nDetected at node x defined at (most recent call last):\n"
        '  File "/x/keras/trainer.py", line 1, in fit\n    return thing()\n'
        "Incompatible shapes: [32,10] vs. [32,1]"
    )
    text = readable_error(ValueError(message), limit=500)
    assert text == "ValueError: Graph execution error:\nIncompatible shapes: [32,10] vs. [32,1]"
    assert len(readable_error(ValueError("x" * 900), limit=200)) == 200
