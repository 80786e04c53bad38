"""Early stopping in a real worker run (tiny circles fits) against a SQLite database: the
history ends at the stopped epoch, and the experiment says when and why it stopped."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import circles_spec
from tests.unit.conftest import clear_caches
from tests.worker_run import run_spec
from worker.training import epoch_store

# min_delta 10 is an improvement no loss makes: the first epoch stays the best, so the stop
# falls at a known epoch (1 + patience) whatever the numbers are.
NEVER_IMPROVES = {"monitor": "loss", "min_delta": 10, "patience": 2}


def tiny_spec(epochs: int, stopping: dict[str, Any]) -> dict[str, Any]:
    spec = circles_spec(epochs=epochs)
    spec["model"]["layers"] = [
        {"type": "Dense", "units": 8, "activation": "relu"},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
    ]
    spec["fit"].update(seed=1, early_stopping=stopping)
    return spec


run = run_spec


@pytest.mark.parametrize(
    ("restore", "weights"), [(False, "last weights kept"), (True, "best weights restored")]
)
def test_stops_early_writing_exactly_the_epochs_that_ran(
    sqlite_db: str, restore: bool, weights: str
) -> None:
    experiment, rows = run(tiny_spec(50, NEVER_IMPROVES | {"restore_best_weights": restore}))
    assert experiment.status == "succeeded", experiment.error
    assert experiment.stopped_epoch == 3 == experiment.current_epoch
    assert [row.epoch for row in rows] == [1, 2, 3]
    assert experiment.stop_reason == (
        "early stopping: loss did not improve by more than 10 for 2 epochs after its best "
        f"value {rows[0].metrics['loss']:.4g} at epoch 1; {weights}"
    )


def test_a_stop_at_the_last_epoch_is_no_early_stop(sqlite_db: str) -> None:
    experiment, rows = run(tiny_spec(3, NEVER_IMPROVES))
    assert experiment.status == "succeeded", experiment.error
    assert (experiment.stopped_epoch, experiment.stop_reason) == (None, None)
    assert [row.epoch for row in rows] == [1, 2, 3]


def test_patience_longer_than_the_fit_runs_every_epoch(sqlite_db: str) -> None:
    experiment, rows = run(tiny_spec(6, {"monitor": "val_accuracy", "patience": 100}))
    assert experiment.status == "succeeded", experiment.error
    assert (experiment.stopped_epoch, experiment.stop_reason) == (None, None)
    assert len(rows) == 6


def test_a_cancel_at_the_same_epoch_wins(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    write: Callable[[int, int | None, list[tuple[int, dict]]], epoch_store.EpochState]
    write = epoch_store.write_epochs

    def cancel_at_2(
        experiment_id: int, attempt: int | None, rows: list[tuple[int, dict]]
    ) -> epoch_store.EpochState:
        state = write(experiment_id, attempt, rows)
        return epoch_store.EpochState.CANCELLED if rows[-1][0] == 2 else state

    monkeypatch.setattr(epoch_store, "write_epochs", cancel_at_2)
    monkeypatch.setenv("FITQ_HISTORY_FLUSH_SECONDS", "0")  # each epoch written as it ends
    clear_caches()
    # patience 0: early stopping would also end the fit at epoch 2
    experiment, rows = run(tiny_spec(50, NEVER_IMPROVES | {"patience": 0}))
    assert experiment.status == "cancelled"
    assert (experiment.stopped_epoch, experiment.stop_reason) == (None, None)
    assert [row.epoch for row in rows] == [1, 2]
