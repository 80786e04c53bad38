"""Runs one experiment through the worker's own training path, in this process, on the backend
FITQ_KERAS_BACKEND names (embedded SQLite under FITQ_DATA_DIR), and prints as JSON what a client
would read back. A process of its own because Keras picks its backend once, at import."""

import json
import sys

from models.settings import get_settings
from worker import backend

backend.select(get_settings())  # before anything below imports Keras

from sqlalchemy import select  # noqa: E402

from models.db import session_scope  # noqa: E402
from models.tables import EpochMetric, Experiment  # noqa: E402
from tests.helpers import migrate  # noqa: E402
from worker.training.run import run_experiment  # noqa: E402


def main(spec: dict) -> None:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    with session_scope() as session:
        experiment = Experiment(spec=spec, epochs_total=spec["fit"]["epochs"])
        session.add(experiment)
        session.flush()
        experiment_id = experiment.id
    run_experiment(experiment_id)
    with session_scope() as session:
        done = session.get(Experiment, experiment_id)
        assert done is not None
        query = select(EpochMetric).where(EpochMetric.experiment_id == experiment_id)
        history = [row.metrics | {"epoch": row.epoch} for row in session.scalars(query)]
        out = {"status": done.status, "error": done.error, "backend": done.backend}
        print(json.dumps(out | {"timings": done.timings, "history": history}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
