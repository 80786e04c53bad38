"""Classic specs run on Keras 3 as written: labels are shaped to the model's output."""

import keras
import numpy as np
import pytest

from models.spec import ExperimentSpec
from tests.helpers import circles_spec
from worker.training.build import build_model
from worker.training.data import load_dataset
from worker.training.targets import shape_targets


def imdb_style_model() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    # The IMDB notebook's compile line: metrics=['accuracy', 'binary_crossentropy'] on 0/1 labels.
    spec = circles_spec(epochs=1)
    spec["compile"]["metrics"] = ["accuracy", "binary_crossentropy"]
    parsed = ExperimentSpec.model_validate(spec)
    data = load_dataset(parsed.dataset)
    return build_model(parsed, data.input_shape), data.x_train, data.y_train


def test_plain_keras_3_rejects_the_notebook_compile_line() -> None:
    model, x, y = imdb_style_model()
    assert y.ndim == 1
    with pytest.raises(ValueError, match="rank"):
        model.fit(x, y, epochs=1, verbose=0)


def test_shaped_targets_make_it_train_with_both_metrics() -> None:
    model, x, y = imdb_style_model()
    history = model.fit(
        x, shape_targets(y, model.output_shape, "binary_crossentropy"), epochs=1, verbose=0
    )
    assert {"accuracy", "binary_crossentropy", "loss"} <= history.history.keys()


def test_integer_labels_become_one_hot_for_categorical_crossentropy() -> None:
    y = np.array([0, 2, 1], dtype=np.int32)
    one_hot = shape_targets(y, (None, 3), "categorical_crossentropy")
    assert one_hot.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert shape_targets(y, (None, 3), "sparse_categorical_crossentropy") is y
    with pytest.raises(ValueError, match="output layer has 2 units"):
        shape_targets(y, (None, 2), "categorical_crossentropy")
    with pytest.raises(
        ValueError, match=r"labels run from 0 to 2 but the output layer has 1 unit$"
    ):
        shape_targets(y, (None, 1), "sparse_categorical_crossentropy")
