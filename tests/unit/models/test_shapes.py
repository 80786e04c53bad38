"""models/shapes.py against real Keras: every output shape and parameter count must agree
exactly, and each kind of mismatch is explained in the spec's terms."""

from typing import Any

import keras
import pytest
from pydantic import TypeAdapter

from models.shapes import ShapeError, infer
from models.spec import ExperimentSpec
from models.spec_layers import Layer
from tests.helpers import circles_spec
from worker.training.build import build_model
from worker.training.build_layers import build_layer

LAYERS = TypeAdapter(list[Layer])
D = "Dense"


def dense(units: int, **more: Any) -> dict[str, Any]:
    return {"type": D, "units": units, **more}


def conv2d(filters: int, kernel_size: Any, **more: Any) -> dict[str, Any]:
    return {"type": "Conv2D", "filters": filters, "kernel_size": kernel_size, **more}


def conv1d(filters: int, kernel_size: int, **more: Any) -> dict[str, Any]:
    return {"type": "Conv1D", "filters": filters, "kernel_size": kernel_size, **more}


def embedding(input_dim: int, output_dim: int, **more: Any) -> dict[str, Any]:
    return {"type": "Embedding", "input_dim": input_dim, "output_dim": output_dim, **more}


def keras_model(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> keras.Model:
    spec = circles_spec()
    spec["model"]["layers"] = layers
    spec["compile"] = {"optimizer": "adam", "loss": "mean_squared_error"}
    return build_model(ExperimentSpec.model_validate(spec), input_shape)


# fmt: off
ARCHITECTURES: dict[str, tuple[tuple[int, ...], list[dict[str, Any]]]] = {
    "imdb baseline 16-16-1": (
        (10000,),
        [dense(16, activation="relu"), dense(16, activation="relu"), dense(1)],
    ),
    "imdb dropout": (
        (10000,),
        [dense(16), {"type": "Dropout", "rate": 0.5}, dense(16), {"type": "Dropout", "rate": 0.5},
         dense(1, activation="sigmoid")],
    ),
    "mnist small": ((784,), [dense(10, activation="softmax")]),
    "mnist large": ((784,), [dense(128), dense(128), dense(10, activation="softmax")]),
    "circles with input dropout": (
        (2,),
        [{"type": "Dropout", "rate": 0.2}, dense(500, use_bias=False), dense(1)],
    ),
    "cnn with spatial dropout (notebook)": (
        (28, 28, 1),
        [conv2d(32, [3, 3]), conv2d(32, 3), {"type": "SpatialDropout2D", "rate": 0.5},
         {"type": "MaxPooling2D"}, {"type": "Flatten"}, dense(1)],
    ),
    "cifar cnn: strides, same padding, batch norm, global max": (
        (32, 32, 3),
        [conv2d(16, [5, 3], strides=2, padding="same"), {"type": "BatchNormalization"},
         conv2d(8, 3, strides=[3, 2], use_bias=False),
         {"type": "MaxPooling2D", "pool_size": 3, "strides": [2, 1], "padding": "same"},
         {"type": "GlobalMaxPooling2D"}, dense(10)],
    ),
    "digits image cnn": (
        (8, 8, 1),
        [conv2d(16, 3, padding="same"), {"type": "MaxPooling2D", "pool_size": [2, 2]},
         conv2d(32, 3), {"type": "GlobalAveragePooling2D"}, dense(10)],
    ),
    "dense on images then flatten": ((28, 28, 1), [dense(4), {"type": "Flatten"}, dense(2)]),
    "embedding + lstm with recurrent dropout": (
        (500,),
        [embedding(10000, 32),
         {"type": "LSTM", "units": 32, "dropout": 0.5, "recurrent_dropout": 0.5}, dense(1)],
    ),
    "stacked gru, dense per step, global max": (
        (80,),
        [embedding(5000, 8, mask_zero=True), {"type": "SpatialDropout1D", "rate": 0.2},
         {"type": "GRU", "units": 12, "return_sequences": True}, dense(6),
         {"type": "LSTM", "units": 5, "return_sequences": True}, {"type": "GlobalMaxPooling1D"},
         dense(1)],
    ),
    "conv1d + maxpooling1d + global average": (
        (500,),
        [embedding(10000, 16), conv1d(32, 7, strides=2, activation="relu"),
         {"type": "MaxPooling1D", "pool_size": 5}, conv1d(32, 7, padding="same"),
         {"type": "MaxPooling1D", "pool_size": 3, "strides": 2, "padding": "same"},
         {"type": "GlobalAveragePooling1D"}, dense(1)],
    ),
    "batch normalization: all variants": (
        (30,),
        [dense(64), {"type": "BatchNormalization"}, dense(32),
         {"type": "BatchNormalization", "center": False},
         {"type": "BatchNormalization", "scale": False, "momentum": 0.9, "epsilon": 0.01},
         {"type": "BatchNormalization", "center": False, "scale": False}, dense(1)],
    ),
    "volumes with spatial dropout 3d": (
        (4, 8, 8, 2),
        [{"type": "SpatialDropout3D", "rate": 0.3}, {"type": "BatchNormalization"},
         {"type": "Flatten"}, dense(3)],
    ),
    "sequences straight from the dataset": (
        (20, 3),
        [conv1d(4, 20), {"type": "Flatten"}, dense(2)],
    ),
}
# fmt: on


def trainable_count(layer: keras.layers.Layer) -> int:
    return sum(int(w.numpy().size) for w in layer.trainable_weights)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_shapes_and_params_agree_with_keras(name: str) -> None:
    input_shape, layers = ARCHITECTURES[name]
    ours = infer(input_shape, LAYERS.validate_python(layers))
    model = keras_model(input_shape, layers)
    assert len(model.layers) == len(ours)
    for index, (theirs, mine) in enumerate(zip(model.layers, ours, strict=True)):
        where = f"{name}: layer {index} ({mine.type})"
        assert tuple(theirs.output.shape[1:]) == mine.output_shape, where
        assert theirs.count_params() == mine.params, where
        assert trainable_count(theirs) == mine.trainable_params, where
    assert model.count_params() == sum(layer.params for layer in ours)


# (input shape, layers, index of the bad layer, words the message must hold, Keras refuses too)
MISMATCHES: dict[str, tuple[tuple[int, ...], list[dict[str, Any]], int, list[str], bool]] = {
    "conv2d on flat vectors": (
        (784,), [conv2d(8, 3), dense(1)], 0,
        ["Conv2D needs images shaped (height, width, channels) but gets (784,)",
         "use a dataset format 'image' or a Dense model"], True,
    ),
    "lstm on multi-hot vectors": (
        (10000,), [{"type": "LSTM", "units": 32}, dense(1)], 0,
        ["LSTM needs sequences shaped (steps, features) but gets (10000,)",
         "add an Embedding layer first", "encoding 'sequence'"], True,
    ),
    "lstm on images": (
        (28, 28, 1), [{"type": "GRU", "units": 4}], 0,
        ["GRU needs sequences shaped (steps, features) but gets (28, 28, 1)", "Conv2D"], True,
    ),
    "conv1d kernel larger than the sequence": (
        (3, 2), [conv1d(4, 5)], 0,
        ["kernel_size 5 is larger than the input length 3", "padding 'same'"], True,
    ),
    "conv2d kernel larger than the image": (
        (8, 8, 1), [conv2d(4, 3), conv2d(4, [7, 2])], 1,
        ["kernel_size (7, 2) is larger than the input's (height, width) (6, 6)"], True,
    ),
    "pooling shrinks the image away": (
        (8, 8, 1), [conv2d(4, 3), {"type": "MaxPooling2D"}, {"type": "MaxPooling2D"},
                    {"type": "MaxPooling2D"}], 3,
        ["pool_size (2, 2) is larger than the input's (height, width) (1, 1)"], True,
    ),
    "max pooling 1d longer than the sequence": (
        (4, 3), [{"type": "MaxPooling1D", "pool_size": 5}], 0,
        ["pool_size 5 is larger than the input length 4"], True,
    ),
    "conv2d after flatten": (
        (28, 28, 1), [{"type": "Flatten"}, conv2d(4, 3)], 1,
        ["gets (784,)", "put it before the Flatten at model.layers[0]"], True,
    ),
    "lstm after lstm without return_sequences": (
        (50,), [embedding(100, 8), {"type": "LSTM", "units": 4}, {"type": "LSTM", "units": 4}], 2,
        ["gets (4,)", "set return_sequences true on the LSTM at model.layers[1]"], True,
    ),
    "conv1d on images": (
        (28, 28, 1), [conv1d(4, 3)], 0,
        ["Conv1D needs sequences", "use Conv2D for images"], True,
    ),
    "spatial dropout 1d on flat vectors": (
        (64,), [{"type": "SpatialDropout1D", "rate": 0.2}], 0,
        ["SpatialDropout1D needs sequences shaped (steps, features) but gets (64,)"], True,
    ),
    "spatial dropout 2d on sequences": (
        (10, 4), [{"type": "SpatialDropout2D", "rate": 0.2}], 0,
        ["use SpatialDropout1D for sequences"], True,
    ),
    "spatial dropout 3d on images": (
        (8, 8, 1), [{"type": "SpatialDropout3D", "rate": 0.2}], 0,
        ["SpatialDropout3D needs volumes shaped (depth, height, width, channels)",
         "use SpatialDropout2D for images"], True,
    ),
    "global pooling 1d on images": (
        (8, 8, 1), [{"type": "GlobalAveragePooling1D"}], 0,
        ["use GlobalAveragePooling2D for images"], True,
    ),
    "embedding after another layer": (
        (100,), [dense(8), embedding(100, 4)], 1,
        ["Embedding must be the first layer"], False,
    ),
    "embedding on images": (
        (28, 28, 1), [embedding(100, 4), {"type": "Flatten"}], 0,
        ["Embedding needs integer sequences shaped (steps,) but gets (28, 28, 1)",
         "encoding 'sequence'"], False,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(MISMATCHES))
def test_each_mismatch_names_the_layer_and_explains_it(name: str) -> None:
    input_shape, layers, index, words, keras_refuses = MISMATCHES[name]
    with pytest.raises(ShapeError) as info:
        infer(input_shape, LAYERS.validate_python(layers))
    assert info.value.index == index
    assert info.value.path == f"model.layers[{index}]"
    assert str(info.value).startswith(f"model.layers[{index}]: ")
    for word in words:
        assert word in info.value.message
    if keras_refuses:  # the mismatch is real: Keras itself cannot build the model
        specs = LAYERS.validate_python(layers)
        keras_layers = [keras.Input(shape=input_shape)] + [build_layer(s) for s in specs]
        with pytest.raises(ValueError):  # noqa: PT011 - Keras's own messages vary by layer
            keras.Sequential(keras_layers)


def test_the_worker_refuses_with_the_same_message() -> None:
    with pytest.raises(ShapeError, match=r"model.layers\[0\]: Conv2D needs images"):
        keras_model((64,), [conv2d(4, 3), dense(1)])
