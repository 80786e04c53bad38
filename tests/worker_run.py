"""Run a spec in this process the way the service does; a module of its own because it
imports the worker's training code (and so Keras), which most tests never need."""

from pathlib import Path
from typing import Any

from models.db import session_scope
from models.store import get_store
from models.tables import EpochMetric, Experiment
from tests.factories import add_experiment, epoch_rows
from worker.training.run import run_experiment


def run_spec(spec: dict[str, Any]) -> tuple[Experiment, list[EpochMetric]]:
    """Queue the spec as the API would, run it as the worker does, read back what it wrote."""
    experiment_id = add_experiment(spec)
    run_experiment(experiment_id)
    with session_scope() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        session.expunge(experiment)
    return experiment, epoch_rows(experiment_id)


def stored_copy(key: str, folder: Path) -> Path:
    """The artifact store's object as a local file (keras.models.load_model reads files)."""
    path = folder / key.rsplit("/", 1)[-1]
    get_store().get_file(key, path)
    return path
