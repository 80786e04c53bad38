"""Run example specs through the worker's own training path (run_experiment: claim, data,
build, fit with the per-epoch SQL writer, final status) on whatever backend and device Keras
sees, against a throw-away SQLite database. Used to check a GPU machine:

    KERAS_BACKEND=jax python scripts/gpu_check.py examples/circles_dropout.json ...
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("FITQ_DATA_DIR", tempfile.mkdtemp(prefix="fitq-gpu-check-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
from sqlalchemy import select

from models.db import get_engine, session_scope
from models.spec import ExperimentSpec
from models.tables import Base, EpochMetric, Experiment
from worker.training.run import run_experiment


def devices() -> str:
    if keras.backend.backend() == "jax":
        import jax

        return ", ".join(str(d) for d in jax.devices())
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return ", ".join(d.name for d in tf.config.list_logical_devices())
    return "?"


def main(paths: list[str]) -> None:
    Path(os.environ["FITQ_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    Base.metadata.create_all(get_engine())
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, devices: {devices()}")
    for path in paths:
        spec = ExperimentSpec.model_validate(json.loads(Path(path).read_text()))
        with session_scope() as session:
            row = Experiment(spec=spec.model_dump(mode="json"), epochs_total=spec.fit.epochs)
            session.add(row)
            session.flush()
            experiment_id = row.id
        started = time.perf_counter()
        outcome = run_experiment(experiment_id)
        seconds = time.perf_counter() - started
        with session_scope() as session:
            experiment = session.get(Experiment, experiment_id)
            assert experiment is not None
            rows = session.query(EpochMetric).filter_by(experiment_id=experiment_id).count()
            last = session.scalar(
                select(EpochMetric.metrics)
                .where(EpochMetric.experiment_id == experiment_id)
                .order_by(EpochMetric.epoch.desc())
                .limit(1)
            )
            print(
                f"{Path(path).stem}: {outcome} in {seconds:.1f} s, {rows} epoch rows "
                f"of {spec.fit.epochs}, last {json.dumps(last or {})}, error {experiment.error}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
