"""Spec -> keras.Model, in our own code: no Keras deserialization of user JSON."""

from typing import Any

import keras

from models.shapes import check as check_shapes
from models.spec import CompileSpec, ExperimentSpec, OptimizerSpec
from worker.training.build_layers import build_layer

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
    spec: ExperimentSpec, input_shape: tuple[int, ...], sparse: bool = False
) -> keras.Model:
    """`sparse`: the model takes CSR rows (see sparse_input.py)."""
    # The API checks shapes at submit time when it knows the input shape; this catches the
    # rest (uploads known only here) with the same readable message instead of Keras's.
    check_shapes(input_shape, spec.model.layers)
    first = keras.Input(shape=input_shape, sparse=sparse)
    layers = [first] + [build_layer(s) for s in spec.model.layers]
    model = keras.Sequential(layers, name=_keras_name(spec.name))
    model.compile(**compile_args(spec.compile))
    return model


def with_dense_input(model: keras.Model, spec: ExperimentSpec) -> keras.Model:
    """The same layers, weights and optimizer behind a dense input: what users download.
    Keras refuses to load a sparse input on backends without sparse tensors (torch), and
    users predict on dense rows anyway."""
    if not model.inputs[0].sparse:
        return model
    dense = keras.Input(shape=tuple(model.inputs[0].shape[1:]))
    twin = keras.Sequential([dense, *model.layers], name=model.name)
    twin.compile(**(compile_args(spec.compile) | {"optimizer": model.optimizer}))
    return twin


def _keras_name(name: str | None) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in (name or "experiment"))
    return cleaned[:60] or "experiment"
