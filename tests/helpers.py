"""Shared test helpers: spec builders, a submit through the API, polling with a deadline,
migrations."""

import copy
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from api.experiments.schemas import CIRCLES_EXAMPLE

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# The OpenAPI example (circles with dropout, as in the dropout article), 4,000 epochs as written.
CIRCLES_SPEC: dict[str, Any] = copy.deepcopy(CIRCLES_EXAMPLE) | {"name": "baseline", "tags": []}
CIRCLES_SPEC["fit"]["epochs"] = 4000


def circles_spec(epochs: int = 5, **changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(CIRCLES_SPEC)
    spec["fit"]["epochs"] = epochs
    spec.update(changes)
    return spec


def slow_circles_spec(epochs: int) -> dict[str, Any]:
    """A fit a test can act on while it runs: about 20 ms an epoch through the compiled
    trainer here (800 rows in 25 batches through Dense 512-512), where circles_spec's epochs
    take well under a millisecond."""
    spec = circles_spec(epochs=epochs)
    spec["dataset"] = {"name": "circles", "n_samples": 1000, "noise": 0.1, "random_state": 1,
                       "n_train": 800}  # fmt: skip
    spec["model"] = {
        "layers": [
            {"type": "Dense", "units": 512, "activation": "relu"},
            {"type": "Dense", "units": 512, "activation": "relu"},
            {"type": "Dense", "units": 1, "activation": "sigmoid"},
        ]
    }
    return spec


DIABETES_COLUMNS = [
    "Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI",
    "DiabetesPedigreeFunction", "Age", "Outcome",
]  # fmt: skip


def diabetes_table(rows: int = 50, seed: int = 0) -> np.ndarray:
    """Numbers shaped like the Pima Indians diabetes CSV: 8 features, a 0/1 outcome that
    mostly follows glucose (so a model has something to learn)."""
    rng = np.random.default_rng(seed)
    glucose = rng.integers(60, 200, rows)
    table = np.column_stack([
        rng.integers(0, 15, rows), glucose, rng.integers(40, 110, rows),
        rng.integers(0, 60, rows), rng.integers(0, 400, rows),
        np.round(rng.uniform(18, 50, rows), 1), np.round(rng.uniform(0.08, 2.4, rows), 3),
        rng.integers(21, 80, rows), (glucose + rng.normal(0, 20, rows) > 130).astype(int),
    ])  # fmt: skip
    return table


def diabetes_csv(rows: int = 50, seed: int = 0, header: bool = True) -> bytes:
    out = io.StringIO()
    if header:
        out.write(",".join(DIABETES_COLUMNS) + "\n")
    for row in diabetes_table(rows, seed):
        out.write(",".join(f"{v:g}" for v in row) + "\n")
    return out.getvalue().encode()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return out.getvalue()


def diabetes_spec(dataset_id: int, epochs: int = 3) -> dict[str, Any]:
    """A small binary classifier with an L2 penalty and dropout, as the notebooks build."""
    l2 = {"l2": 0.001}
    return {
        "name": "diabetes-upload",
        "dataset": {"name": "upload", "dataset_id": dataset_id, "standardize": True},
        "model": {
            "layers": [
                {"type": "Dense", "units": 12, "activation": "relu", "kernel_regularizer": l2},
                {"type": "Dropout", "rate": 0.2},
                {"type": "Dense", "units": 1, "activation": "sigmoid"},
            ]
        },
        "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": epochs, "batch_size": 16, "validation_split": 0.2},
    }


def submit(client: "TestClient", epochs: int = 3, **changes: Any) -> int:
    """POST /experiments with circles_spec(epochs, **changes); the new experiment's id."""
    response = client.post("/experiments", json=circles_spec(epochs=epochs, **changes))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def notebook_log(name: str) -> list[dict[str, Any]]:
    """One of the five logs of TensorFlow's overfit-and-underfit notebook (baseline, smaller,
    bigger, l2, dropout; tests/fixtures/imdb_notebook): a row of metrics per epoch."""
    path = ROOT / "tests" / "fixtures" / "imdb_notebook" / f"{name}.json"
    return list(json.loads(path.read_text()))


def poll(
    probe: Callable[[], T], done: Callable[[T], bool], timeout: float, every: float = 0.25
) -> T:
    """Call `probe` until `done(result)` or the deadline; fail with the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not done after {timeout}s; last result: {result!r}")
        time.sleep(every)


def migrate(url: str) -> None:
    """alembic upgrade head on `url`, through the project's own migrations/env.py."""
    engine: Engine = create_engine(url)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()


def the_error(response: Any) -> dict[str, Any]:
    """The one entry of an error body, checked against the shape every error has
    (api/core/schemas.py ErrorRead)."""
    from api.core.schemas import ErrorRead

    body = response.json()
    ErrorRead.model_validate(body)
    [error] = body["detail"]
    return dict(error)


def error_of(response: Any) -> tuple[int, str, str, str]:
    """(status, path, msg, type) of a response with one error, to compare in one assert."""
    error = the_error(response)
    return response.status_code, error["path"], error["msg"], error["type"]
