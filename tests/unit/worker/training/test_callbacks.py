"""The epoch callback against a real (SQLite) database: one row per epoch, cancel, divergence."""

import threading
import time

import keras
import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from models.db import session_scope
from models.tables import Experiment
from tests.factories import add_experiment, epoch_rows
from worker import shutdown
from worker.training import epoch_store
from worker.training.callbacks import EpochWriter
from worker.training.checkpoint import Checkpointer
from worker.training.run import readable_error


def new_experiment(epochs: int) -> int:
    return add_experiment({}, epochs_total=epochs, status="running")


class BatchCounter(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.batches += 1


class RowsSeen(keras.callbacks.Callback):
    """After the writer: how many epochs SQL holds at each epoch end."""

    def __init__(self, experiment_id: int) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.counts: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.counts.append(len(epoch_rows(self.experiment_id)))


def tiny_fit(
    writer: EpochWriter,
    epochs: int,
    x: np.ndarray | None = None,
    extra: list[keras.callbacks.Callback] | None = None,
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
        callbacks=[writer, *(extra or [])],
        verbose=0,
    )


def writer_for(
    experiment_id: int, flush_seconds: float = 0, check_seconds: float = 60
) -> EpochWriter:
    return EpochWriter(experiment_id, flush_seconds=flush_seconds, check_seconds=check_seconds)


def test_each_epoch_is_written_once_from_1(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=3)
    writer = writer_for(experiment_id)
    seen = RowsSeen(experiment_id)
    tiny_fit(writer, epochs=3, extra=[seen])
    written = epoch_rows(experiment_id)
    assert [r.epoch for r in written] == [1, 2, 3]
    assert seen.counts == [1, 2, 3]  # flush_seconds 0: readable as each epoch ends
    assert set(written[0].metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert writer.stop_reason is None
    with session_scope() as session:
        assert session.get(Experiment, experiment_id).current_epoch == 3  # type: ignore[union-attr]


def test_cancel_flag_stops_at_the_epoch_end(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=50)
    with session_scope() as session:
        session.execute(update(Experiment).values(cancel_requested=True))
    writer = writer_for(experiment_id)
    tiny_fit(writer, epochs=50)
    assert writer.stop_reason == "cancelled"
    assert [r.epoch for r in epoch_rows(experiment_id)] == [1]


class CancelMidEpoch(BatchCounter):
    """Sets the cancel flag after the second batch of epoch 2, then holds that batch until the
    writer's heartbeat thread has seen it (with a deadline), as a long batch would."""

    def __init__(self, experiment_id: int, writer: EpochWriter) -> None:
        super().__init__()
        self.experiment_id, self.writer = experiment_id, writer

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        super().on_train_batch_end(batch, logs)
        if self.batches != 6 + 2:
            return
        with session_scope() as session:
            session.execute(update(Experiment).values(cancel_requested=True))
        deadline = time.monotonic() + 10
        while self.writer.stop_reason is None and time.monotonic() < deadline:
            time.sleep(0.01)


def test_cancel_is_seen_inside_a_long_epoch(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=5)
    writer = writer_for(experiment_id, check_seconds=0.05)
    counter = CancelMidEpoch(experiment_id, writer)
    tiny_fit(writer, epochs=5, extra=[counter])
    assert writer.stop_reason == "cancelled"
    assert counter.batches == 9  # 6 in epoch 1; in epoch 2 the 3rd batch starts and stops it
    # The partial epoch 2 is not recorded.
    assert [r.epoch for r in epoch_rows(experiment_id)] == [1]


def test_a_lost_claim_stops_the_fit_and_writes_nothing_more(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=50)
    writer = EpochWriter(experiment_id, flush_seconds=0, check_seconds=60, attempt=7)
    tiny_fit(writer, epochs=50)  # attempts is 0 in the row: another attempt owns the job
    assert writer.stop_reason == "lost"
    assert epoch_rows(experiment_id) == []


def test_nan_loss_is_diverged_and_stored_as_null(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=5)
    writer = writer_for(experiment_id, flush_seconds=3600)
    x = np.full((64, 2), np.nan, dtype="float32")
    tiny_fit(writer, epochs=5, x=x)
    assert writer.stop_reason == "diverged" and writer.diverged_epoch == 1
    assert epoch_rows(experiment_id)[0].metrics["loss"] is None


class WaitForRows(keras.callbacks.Callback):
    """At the end of epoch `at`, waits (with a deadline) until SQL holds epoch at - 1, which
    only the Pulse thread can have written (the fit itself writes none of these)."""

    def __init__(self, experiment_id: int, at: int) -> None:
        super().__init__()
        self.experiment_id, self.at = experiment_id, at
        self.seen: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 != self.at:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.seen = [r.epoch for r in epoch_rows(self.experiment_id)]
            if self.at - 1 in self.seen:
                return
            time.sleep(0.01)


def test_the_first_epoch_is_written_at_once_the_rest_in_batches(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=5)
    waiter = WaitForRows(experiment_id, at=2)
    seen = RowsSeen(experiment_id)
    tiny_fit(writer_for(experiment_id, flush_seconds=3600), epochs=5, extra=[waiter, seen])
    # The first epoch shows the job is under way (written by the nudged Pulse, while the fit
    # goes on); the rest wait for the flush period or the end of the fit, and none is lost.
    assert waiter.seen == [1]
    assert seen.counts[1:] == [1, 1, 1, 1]
    assert [r.epoch for r in epoch_rows(experiment_id)] == [1, 2, 3, 4, 5]
    with session_scope() as session:
        assert session.get(Experiment, experiment_id).current_epoch == 5  # type: ignore[union-attr]


def test_the_pulse_thread_writes_the_epochs_while_the_fit_goes_on(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=6)
    writer = writer_for(experiment_id, flush_seconds=0.02)
    waiter = WaitForRows(experiment_id, at=4)
    tiny_fit(writer, epochs=6, extra=[waiter])
    assert waiter.seen[:3] == [1, 2, 3]  # readable while running, written by the Pulse
    assert [r.epoch for r in epoch_rows(experiment_id)] == [1, 2, 3, 4, 5, 6]  # each once
    assert writer.background_seconds > 0


def test_a_failed_background_write_fails_the_fit_and_keeps_its_epochs(
    sqlite_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database gone for longer than a write retries, from the Pulse thread: the fit
    fails at its next epoch end, as a write of its own would have made it, and the epochs of
    the failed write are written once the database answers (here at once)."""
    real = epoch_store.write_epochs
    failed: list[int] = []

    def down_once_for_the_pulse(experiment_id: int, attempt: int | None, batch: list) -> str:
        if threading.current_thread().name.startswith("pulse-") and not failed:
            failed.extend(epoch for epoch, _ in batch)
            raise OperationalError("INSERT", {}, Exception("the database went away"))
        return real(experiment_id, attempt, batch)

    monkeypatch.setattr(epoch_store, "write_epochs", down_once_for_the_pulse)
    experiment_id = new_experiment(epochs=50)
    writer = writer_for(experiment_id, flush_seconds=0.02)
    with pytest.raises(OperationalError, match="the database went away"):
        tiny_fit(writer, epochs=50)
    writer.close_after_failure()  # as run.py does
    assert failed and failed[0] == 1  # the first epoch is the Pulse's write too
    recorded = [r.epoch for r in epoch_rows(experiment_id)]
    assert recorded == list(range(1, len(recorded) + 1)) and set(failed) <= set(recorded)


class Model:
    """What the writer touches of a model outside a fit: the stop flag."""

    stop_training = False


def test_fast_path_epochs_are_written_cleaned_and_a_nan_loss_still_diverges(
    sqlite_db: str,
) -> None:
    experiment_id = new_experiment(epochs=10)
    writer = writer_for(experiment_id, flush_seconds=3600)
    writer.set_model(Model())
    writer.on_train_begin()
    writer.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6})  # the first one is written at once
    deadline = time.monotonic() + 10
    while not epoch_rows(experiment_id) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.epoch for r in epoch_rows(experiment_id)] == [1]
    writer.on_epoch_end(1, {"loss": 0.4, "val_loss": float("inf")})  # kept, not written
    writer.on_epoch_end(2, {"loss": 0.3, "val_loss": 0.5})
    assert [r.epoch for r in epoch_rows(experiment_id)] == [1] and writer.stop_reason is None
    writer.on_epoch_end(3, {"loss": float("nan"), "val_loss": 0.5})
    assert writer.stop_reason == "diverged" and writer.diverged_epoch == 4
    written = {r.epoch: r.metrics for r in epoch_rows(experiment_id)}
    assert written[2] == {"loss": 0.4, "val_loss": None}  # JSON has no Infinity
    assert written[4] == {"loss": None, "val_loss": 0.5}
    writer.close()


class RecordingCheckpointer(Checkpointer):
    def __init__(self, experiment_id: int, every_seconds: float) -> None:
        super().__init__(experiment_id, every_seconds)
        self.epochs: list[int] = []

    def save(self, model: keras.Model, epoch: int) -> None:
        started = self.clock()
        self.epochs.append(epoch)
        self._cadence.ran(started)


class SlowAfter(keras.callbacks.Callback):
    """From epoch `at` on, each epoch takes at least `seconds` (with the writer's fast path
    otherwise, a fit of millisecond epochs could end before the Pulse's next tick)."""

    def __init__(self, at: int, seconds: float) -> None:
        super().__init__()
        self.at, self.seconds = at, seconds

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 >= self.at:
            time.sleep(self.seconds)


def test_checkpoints_come_due_during_fast_path_epochs(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=30)
    checkpointer = RecordingCheckpointer(experiment_id, every_seconds=0.1)
    writer = EpochWriter(experiment_id, 3600, check_seconds=0.05, checkpointer=checkpointer)
    tiny_fit(writer, epochs=30, extra=[SlowAfter(at=1, seconds=0.02)])
    # At least 0.6 s of epochs, a checkpoint due every 0.1 s: the Pulse's ticks end the fast
    # path, the epoch writes its history, then checkpoints.
    assert len(checkpointer.epochs) >= 2, checkpointer.epochs
    assert [r.epoch for r in epoch_rows(experiment_id)] == list(range(1, 31))


class ShutdownAt(keras.callbacks.Callback):
    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 == self.at:
            shutdown._mark()  # what SIGUSR2 does in a pool process


def test_a_warm_shutdown_during_fast_path_epochs_stops_the_fit(sqlite_db: str) -> None:
    experiment_id = new_experiment(epochs=400)
    writer = writer_for(experiment_id, flush_seconds=3600, check_seconds=0.05)
    try:
        tiny_fit(writer, epochs=400, extra=[ShutdownAt(at=3), SlowAfter(at=3, seconds=0.01)])
    finally:
        shutdown._stop.clear()
    assert writer.stop_reason == "shutdown"
    recorded = [r.epoch for r in epoch_rows(experiment_id)]
    # Seen at a tick (every 0.05 s here), not only at the next beat or the end of the fit.
    assert 3 <= len(recorded) < 100 and recorded == list(range(1, len(recorded) + 1))


def test_readable_error_drops_embedded_tracebacks() -> None:
    message = (
        "Graph execution error:\n\nDetected at node x defined at (most recent call last):\n"
        '  File "/x/keras/trainer.py", line 1, in fit\n    return thing()\n'
        "Incompatible shapes: [32,10] vs. [32,1]"
    )
    text = readable_error(ValueError(message), limit=500)
    assert text == "ValueError: Graph execution error:\nIncompatible shapes: [32,10] vs. [32,1]"
    assert len(readable_error(ValueError("x" * 900), limit=200)) == 200
