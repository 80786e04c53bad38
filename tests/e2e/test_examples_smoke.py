"""Every file in examples/ runs through the real worker for two epochs, on small stand-in
files in Keras's own format where the example uses a keras dataset (no network here)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import DATA_DIR
from tests.e2e.stack import Api
from tests.helpers import ROOT, diabetes_csv
from tests.keras_cache import random_reviews, write_imdb, write_mnist

EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
KERAS_DIR = DATA_DIR / "keras-datasets"


def write_stand_ins(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_imdb(folder, random_reviews(96).tolist(), random_reviews(48).tolist())
    write_mnist(folder, n_train=120, n_test=40)


def small(spec: dict[str, Any]) -> dict[str, Any]:
    spec["fit"]["epochs"] = 2
    dataset = spec["dataset"]
    if dataset["name"] in ("imdb", "reuters", "mnist", "fashion_mnist", "cifar10"):
        dataset["max_train_samples"] = 96
        dataset["max_test_samples"] = 48
    return spec


def upload_diabetes(api: Api) -> int:
    """A Pima-Indians-diabetes-shaped CSV (8 numeric columns and a 0/1 Outcome)."""
    files = {"file": ("diabetes.csv", diabetes_csv(rows=120), "text/csv")}
    response = api.http.post("/datasets", files=files, data={"label": "Outcome"})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


def test_stand_ins_are_keras_format() -> None:
    write_stand_ins(KERAS_DIR)
    with np.load(KERAS_DIR / "mnist.npz") as mnist:
        assert mnist["x_train"].shape == (120, 28, 28)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_trains_for_two_epochs(pg_stack: Api, path: Path) -> None:
    write_stand_ins(KERAS_DIR)
    spec = small(json.loads(path.read_text()))
    if spec["dataset"]["name"] == "upload":
        spec["dataset"]["dataset_id"] = upload_diabetes(pg_stack)
    experiment_id = pg_stack.submit(spec)
    done = pg_stack.wait_status(experiment_id, {"succeeded", "failed"}, timeout=240)
    assert done["status"] == "succeeded", done["error"]
    history = pg_stack.history(experiment_id)
    assert [row["epoch"] for row in history] == [1, 2]
    assert "val_loss" in history[0]
