"""The builder for convolution, pooling, recurrent, embedding and normalization layers: each
spec field reaches its Keras layer, and the notebook-style models train on data of their shape."""

import math
import typing
from typing import Any

import keras
import numpy as np
import pytest
from pydantic import BaseModel, TypeAdapter

from models import spec_layers as sl
from models.shapes_rules import RULES
from models.spec import ExperimentSpec
from tests.helpers import circles_spec
from worker.training.build import build_model
from worker.training.build_layers import build_layer
from worker.training.data import load_dataset


def spec_of(dataset: dict[str, Any], layers: list[dict[str, Any]], loss: str) -> ExperimentSpec:
    spec = circles_spec(dataset=dataset)
    spec["model"]["layers"] = layers
    spec["compile"] = {"optimizer": "adam", "loss": loss, "metrics": ["accuracy"]}
    return ExperimentSpec.model_validate(spec)


def fit_once(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    loss = float(history.history["loss"][0])
    assert math.isfinite(loss)
    return loss


def test_cnn_on_digits_images() -> None:
    spec = spec_of(
        {"name": "digits", "format": "image"},
        [
            {"type": "Conv2D", "filters": 16, "kernel_size": 3, "padding": "same",
             "activation": "relu", "kernel_regularizer": {"l2": 0.001},
             "kernel_constraint": {"max_norm": 3}},
            {"type": "SpatialDropout2D", "rate": 0.2, "seed": 1},
            {"type": "MaxPooling2D"},
            {"type": "Conv2D", "filters": 32, "kernel_size": [3, 2], "strides": [1, 2]},
            {"type": "BatchNormalization", "momentum": 0.9},
            {"type": "GlobalAveragePooling2D"},
            {"type": "Dense", "units": 10, "activation": "softmax"},
        ],
        "sparse_categorical_crossentropy",
    )  # fmt: skip
    input_shape = load_dataset(spec.dataset).input_shape
    assert input_shape == spec.dataset.input_shape == (8, 8, 1)
    model = build_model(spec, input_shape)
    conv, spatial, pool, conv2, norm, _, _ = model.layers
    assert isinstance(conv, keras.layers.Conv2D) and conv.filters == 16
    assert (conv.kernel_size, conv.strides, conv.padding) == ((3, 3), (1, 1), "same")
    assert isinstance(conv.kernel_regularizer, keras.regularizers.L2)
    assert conv.kernel_constraint.axis == [0, 1, 2]  # one norm per filter
    assert isinstance(spatial, keras.layers.SpatialDropout2D) and spatial.rate == 0.2
    assert isinstance(pool, keras.layers.MaxPooling2D) and pool.pool_size == (2, 2)
    assert (conv2.kernel_size, conv2.strides, conv2.padding) == ((3, 2), (1, 2), "valid")
    assert isinstance(norm, keras.layers.BatchNormalization) and norm.momentum == 0.9
    assert model.output_shape == (None, 10)
    rng = np.random.default_rng(0)
    fit_once(model, rng.random((32, 8, 8, 1), dtype="float32"), rng.integers(0, 10, 32))


def test_lstm_with_recurrent_dropout_on_imdb_like_sequences() -> None:
    spec = spec_of(
        {"name": "imdb", "encoding": "sequence", "num_words": 1000, "maxlen": 40},
        [
            {"type": "Embedding", "input_dim": 1000, "output_dim": 8, "mask_zero": True},
            {"type": "LSTM", "units": 8, "dropout": 0.5, "recurrent_dropout": 0.5,
             "return_sequences": True, "recurrent_regularizer": {"l2": 0.01}},
            {"type": "GRU", "units": 4, "activation": "relu"},
            {"type": "Dense", "units": 1, "activation": "sigmoid"},
        ],
        "binary_crossentropy",
    )  # fmt: skip
    assert spec.dataset.input_shape == (40,)  # the loader would download IMDB; not here
    model = build_model(spec, (40,))
    embedding, lstm, gru, _ = model.layers
    assert isinstance(embedding, keras.layers.Embedding) and embedding.mask_zero is True
    assert (embedding.input_dim, embedding.output_dim) == (1000, 8)
    assert isinstance(lstm, keras.layers.LSTM) and lstm.return_sequences is True
    assert (lstm.dropout, lstm.recurrent_dropout) == (0.5, 0.5)
    assert isinstance(lstm.cell.recurrent_regularizer, keras.regularizers.L2)
    assert isinstance(gru, keras.layers.GRU) and gru.return_sequences is False
    assert model.output_shape == (None, 1)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 1000, (32, 40))
    fit_once(model, x, rng.integers(0, 2, (32, 1)).astype("float32"))


def test_conv1d_text_model_trains() -> None:
    spec = spec_of(
        {"name": "reuters", "encoding": "sequence", "num_words": 500, "maxlen": 30},
        [
            {"type": "Embedding", "input_dim": 500, "output_dim": 8},
            {"type": "SpatialDropout1D", "rate": 0.3},
            {"type": "Conv1D", "filters": 6, "kernel_size": 5, "activation": "relu",
             "kernel_constraint": {"max_norm": 2}},
            {"type": "MaxPooling1D", "pool_size": 3, "strides": 2, "padding": "same"},
            {"type": "GlobalMaxPooling1D"},
            {"type": "Dense", "units": 46, "activation": "softmax"},
        ],
        "sparse_categorical_crossentropy",
    )  # fmt: skip
    model = build_model(spec, (30,))
    conv, pool = model.layers[2], model.layers[3]
    assert conv.kernel_size == (5,) and conv.kernel_constraint.axis == [0, 1]
    assert (pool.pool_size, pool.strides, pool.padding) == ((3,), (2,), "same")
    rng = np.random.default_rng(0)
    fit_once(model, rng.integers(0, 500, (32, 30)), rng.integers(0, 46, 32))


def test_input_dropout_comes_first() -> None:
    spec = spec_of(
        {"name": "circles", "n_train": 30},
        [{"type": "Dropout", "rate": 0.2}, {"type": "Dense", "units": 1}],
        "binary_crossentropy",
    )
    model = build_model(spec, (2,))
    assert isinstance(model.layers[0], keras.layers.Dropout)
    assert model.input_shape == (None, 2)


LAYER_TYPES = typing.get_args(typing.get_args(sl.Layer)[0])


@pytest.mark.parametrize("layer_type", LAYER_TYPES, ids=lambda t: t.__name__)
def test_every_allowed_layer_has_a_builder_and_a_shape_rule(layer_type: type[BaseModel]) -> None:
    assert layer_type in RULES
    fields = layer_type.model_fields
    values: dict[str, Any] = {name: 2 for name, field in fields.items() if field.is_required()}
    values |= {"type": layer_type.__name__} | ({"rate": 0.1} if "rate" in values else {})
    layer = TypeAdapter(sl.Layer).validate_python(values)
    assert type(layer) is layer_type
    assert type(build_layer(layer)).__name__ == layer_type.__name__
