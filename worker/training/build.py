"""Spec -> keras.Model, in our own code: no Keras deserialization of user JSON."""

from typing import Any

import keras

from models import spec_layers as sl
from models.shapes import check as check_shapes
from models.spec import CompileSpec, ExperimentSpec, OptimizerSpec
from worker.training.build_layers import build_layer, dense_arguments
from worker.training.sparse_input import InputEncoding
from worker.training.word_dense import WordDense

_OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
    "adamax": keras.optimizers.Adamax,
    "nadam": keras.optimizers.Nadam,
}
# Metrics whose Keras string names differ from ours get an explicit object.
_METRIC_OBJECTS = {
    "auc": lambda: keras.metrics.AUC(name="auc"),
    "precision": lambda: keras.metrics.Precision(name="precision"),
    "recall": lambda: keras.metrics.Recall(name="recall"),
}


def optimizer(spec: OptimizerSpec) -> keras.optimizers.Optimizer:
    kwargs: dict[str, Any] = {}
    if spec.learning_rate is not None:
        kwargs["learning_rate"] = spec.learning_rate
    return _OPTIMIZERS[spec.name](**kwargs)


def compile_args(spec: CompileSpec) -> dict[str, Any]:
    metrics = [_METRIC_OBJECTS[m]() if m in _METRIC_OBJECTS else m for m in spec.metrics]
    return {"optimizer": optimizer(spec.optimizer), "loss": spec.loss, "metrics": metrics}


def build_model(
    spec: ExperimentSpec, input_shape: tuple[int, ...], encoding: InputEncoding = "dense"
) -> keras.Model:
    """`encoding`: the rows the model takes (see sparse_input.py). With "words" the model takes
    -1 padded word indices and its first layer is a WordDense over input_shape's width."""
    # The API checks shapes at submit time when it knows the input shape; this catches the
    # rest (uploads known only here) with the same readable message instead of Keras's.
    check_shapes(input_shape, spec.model.layers)
    if encoding == "words":
        first = keras.Input(shape=(None,), dtype="int32")
        dense, *rest = spec.model.layers
        if not isinstance(dense, sl.Dense):
            raise ValueError(f"word indices go only into a first Dense, not {dense.type}")
        # Layers in spec order: an initializer draws its seed when it is made, so a seeded
        # fit starts from the same weights as with dense rows.
        layers = [WordDense(vocabulary=input_shape[-1], **dense_arguments(dense))]
        layers += [build_layer(s) for s in rest]
    else:
        first = keras.Input(shape=input_shape)
        layers = [build_layer(s) for s in spec.model.layers]
    model = keras.Sequential([first, *layers], name=_keras_name(spec.name))
    model.compile(**compile_args(spec.compile))
    return model


def downloadable(model: keras.Model, spec: ExperimentSpec) -> keras.Model:
    """What checkpoints and the final model are saved as: the same layers, weights and
    optimizer behind a dense input, with a plain Dense for a WordDense. Plain Keras loads it
    (it knows no WordDense), users predict on dense rows, and a job resumed on a worker with
    another backend, so with another input, loads it too."""
    first = model.layers[0]
    if not isinstance(first, WordDense):
        return model
    layers = [first.as_dense(), *model.layers[1:]]
    twin = keras.Sequential([keras.Input(shape=(first.vocabulary,)), *layers], name=model.name)
    twin.compile(**(compile_args(spec.compile) | {"optimizer": model.optimizer}))
    return twin


def load_into(model: keras.Model, twin: keras.Model) -> None:
    """Copy the weights of `downloadable(model)`'s WordDense stand-in back into `model`
    (the other layers are shared)."""
    if twin is not model and isinstance(model.layers[0], WordDense):
        model.layers[0].set_weights(twin.layers[0].get_weights())


def _keras_name(name: str | None) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in (name or "experiment"))
    return cleaned[:60] or "experiment"
