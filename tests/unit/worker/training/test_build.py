"""The model builder turns a spec into the Keras model the notebooks would write by hand."""

import keras
import numpy as np
import pytest

from models.spec import ExperimentSpec
from tests.helpers import circles_spec
from worker.training.build import build_model
from worker.training.data import load_dataset


def build(spec_dict: dict) -> keras.Model:
    spec = ExperimentSpec.model_validate(spec_dict)
    return build_model(spec, load_dataset(spec.dataset).input_shape)


def test_circles_dropout_model_matches_the_article() -> None:
    model = build(circles_spec())
    dense, dropout, out = model.layers
    assert isinstance(dense, keras.layers.Dense) and dense.units == 500
    assert dense.activation.__name__ == "relu"
    assert isinstance(dropout, keras.layers.Dropout) and dropout.rate == pytest.approx(0.4)
    assert out.units == 1 and out.activation.__name__ == "sigmoid"
    # Input shape comes from the dataset: 2 features -> 2*500 + 500 weights in the first layer.
    assert model.input_shape == (None, 2)
    assert model.count_params() == (2 * 500 + 500) + (500 + 1)
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_regularizers_constraints_and_learning_rate() -> None:
    spec = circles_spec()
    first = spec["model"]["layers"][0]
    first["kernel_regularizer"] = {"l2": 0.001}
    first["bias_regularizer"] = {"l1": 0.01, "l2": 0.02}
    first["kernel_constraint"] = {"max_norm": 3.0}
    spec["compile"]["optimizer"] = {"name": "sgd", "learning_rate": 0.05}
    model = build(spec)
    dense = model.layers[0]
    assert isinstance(dense.kernel_regularizer, keras.regularizers.L2)
    assert dense.kernel_regularizer.l2 == pytest.approx(0.001)
    assert isinstance(dense.bias_regularizer, keras.regularizers.L1L2)
    assert isinstance(dense.kernel_constraint, keras.constraints.MaxNorm)
    assert dense.kernel_constraint.max_value == pytest.approx(3.0)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)


def test_l2_penalty_reaches_the_loss() -> None:
    spec = circles_spec()
    spec["model"]["layers"][0]["kernel_regularizer"] = {"l2": 10.0}
    model = build(spec)
    model(np.zeros((1, 2), dtype="float32"))
    assert float(sum(model.losses)) > 0


def test_digits_with_flatten_and_named_metrics() -> None:
    spec = circles_spec(dataset={"name": "digits"})
    spec["model"]["layers"] = [
        {"type": "Flatten"},
        {"type": "Dense", "units": 10, "activation": "softmax"},
    ]
    spec["compile"] = {
        "optimizer": "rmsprop",
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"],
    }
    model = build(spec)
    assert model.input_shape == (None, 64)
    assert model.output_shape == (None, 10)


def test_datasets_split_as_documented() -> None:
    circles = load_dataset(ExperimentSpec.model_validate(circles_spec()).dataset)
    assert circles.x_train.shape == (30, 2) and circles.validation is not None
    assert circles.validation[0].shape == (70, 2)
    digits = load_dataset(
        ExperimentSpec.model_validate(circles_spec(dataset={"name": "digits"})).dataset
    )
    assert digits.x_train.shape == (1797, 64)
    assert digits.x_train.min() >= 0.0 and digits.x_train.max() <= 1.0
