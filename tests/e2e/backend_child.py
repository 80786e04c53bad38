"""Runs one experiment through the worker's own training path, in this process, on the backend
FITQ_KERAS_BACKEND names (embedded SQLite under FITQ_DATA_DIR), and prints as JSON what a client
would read back. A process of its own because Keras picks its backend once, at import."""

import json
import sys
from typing import Any

from models.settings import get_settings
from worker import backend

backend.select(get_settings())  # before anything below imports Keras

from tests.helpers import migrate  # noqa: E402
from tests.worker_run import run_spec  # noqa: E402


def main(spec: dict) -> None:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    done, rows = run_spec(spec)
    history = [row.metrics | {"epoch": row.epoch} for row in rows]
    out: dict[str, Any] = {"status": done.status, "error": done.error, "backend": done.backend}
    out["versions"] = done.versions
    out["trainer"] = done.trainer
    print(json.dumps(out | {"timings": done.timings, "history": history}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
