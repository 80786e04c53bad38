"""Every experiment of the reference notebooks is a spec file in examples/, and each validates."""

import json
from pathlib import Path

import pytest

from models import shapes
from models.spec import ExperimentSpec
from tests.helpers import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
NOTEBOOK_EXPERIMENTS = {
    "imdb_baseline", "imdb_smaller", "imdb_bigger", "imdb_l2", "imdb_dropout",
    "mnist_small", "mnist_large", "circles_overfit", "circles_dropout", "diabetes_l2_dropout",
    "cnn_spatial_dropout", "lstm_recurrent_dropout",
}  # fmt: skip


def test_every_notebook_experiment_has_a_file() -> None:
    assert {path.stem for path in EXAMPLES} >= NOTEBOOK_EXPERIMENTS


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates(path: Path) -> None:
    spec = ExperimentSpec.model_validate(json.loads(path.read_text()))
    assert spec.name
    assert spec.fit.epochs >= 1
    if spec.dataset.input_shape is not None:  # uploads are checked once their data is known
        shapes.check(spec.dataset.input_shape, spec.model.layers)
