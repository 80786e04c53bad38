"""Checkpoint and resume in a real worker run (tiny circles fits) on SQLite: a warm shutdown
keeps the history and the checkpoint, and the next claim continues where it stopped."""

from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from models import artifacts
from models.db import session_scope
from models.settings import get_settings
from models.store import get_store
from models.tables import EpochMetric, Experiment
from tests.factories import add_experiment
from tests.helpers import circles_spec
from worker import shutdown
from worker.training import epoch_store
from worker.training.build import build_model
from worker.training.checkpoint import restore_from_store, save_to_store
from worker.training.data import load_dataset
from worker.training.run import run_experiment


def tiny_spec(epochs: int) -> dict[str, Any]:
    spec = circles_spec(epochs=epochs)
    spec["model"]["layers"] = [
        {"type": "Dense", "units": 8, "activation": "relu"},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
    ]
    spec["fit"]["seed"] = 1
    return spec


def read(experiment_id: int) -> tuple[Experiment, list[int]]:
    with session_scope() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        session.expunge(experiment)
        query = select(EpochMetric.epoch).where(EpochMetric.experiment_id == experiment_id)
        return experiment, list(session.scalars(query.order_by(EpochMetric.epoch)))


def test_a_checkpoint_restores_weights_and_optimizer_state(sqlite_db: str) -> None:
    from models.spec import ExperimentSpec

    spec = ExperimentSpec.model_validate(tiny_spec(3))
    data = load_dataset(spec.dataset)
    trained = build_model(spec, data.input_shape)
    trained.fit(data.x_train, data.y_train, epochs=3, verbose=0)
    key = artifacts.checkpoint_key(1, 3)
    save_to_store(trained, key)
    assert artifacts.checkpoints(1) == [(3, key)]
    fresh = build_model(spec, data.input_shape)
    restore_from_store(fresh, key)
    assert int(fresh.optimizer.iterations) == int(trained.optimizer.iterations) > 0
    for mine, theirs in zip(fresh.optimizer.variables, trained.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs))
    for mine, theirs in zip(fresh.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs)


def test_a_warm_shutdown_hands_back_and_the_next_run_resumes(
    sqlite_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITQ_CHECKPOINT_EVERY_SECONDS", "3600")  # only the forced one
    monkeypatch.setenv("FITQ_HISTORY_FLUSH_SECONDS", "0")  # each epoch written as it ends
    get_settings.cache_clear()
    experiment_id = add_experiment(tiny_spec(8))
    write = epoch_store.write_epochs

    def shutdown_after_3(experiment_id: int, attempt: int | None, rows: list) -> Any:
        if rows[-1][0] == 3:
            monkeypatch.setattr(shutdown, "requested", lambda: True)
        return write(experiment_id, attempt, rows)

    monkeypatch.setattr(epoch_store, "write_epochs", shutdown_after_3)
    assert run_experiment(experiment_id) == "handed_back"
    experiment, epochs = read(experiment_id)
    assert (experiment.status, experiment.attempts, epochs) == ("queued", 0, [1, 2, 3])
    assert [epoch for epoch, _ in artifacts.checkpoints(experiment_id)] == [3]

    monkeypatch.setattr(shutdown, "requested", lambda: False)
    monkeypatch.setattr(epoch_store, "write_epochs", write)
    assert run_experiment(experiment_id) == "succeeded"
    experiment, epochs = read(experiment_id)
    assert (experiment.status, experiment.attempts, epochs) == ("succeeded", 1, list(range(1, 9)))
    assert artifacts.checkpoints(experiment_id) == []  # keep_checkpoints is off
    assert get_store().exists(artifacts.final_model_key(experiment_id))


def test_a_checkpoint_past_the_history_is_not_trusted(sqlite_db: str) -> None:
    experiment_id = add_experiment(tiny_spec(4))
    # Left by another database's job.
    get_store().put_chunks(artifacts.checkpoint_key(experiment_id, 50), [b"not a model"])
    assert run_experiment(experiment_id) == "succeeded"
    assert read(experiment_id)[1] == [1, 2, 3, 4]
