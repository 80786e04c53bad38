"""Spec -> keras.Model, in our own code: no Keras deserialization of user JSON."""

from typing import Any

import keras

from models.spec import CompileSpec, ExperimentSpec, OptimizerSpec
from models.spec_layers import Dense, Dropout, Flatten, Layer, MaxNorm, Regularizer

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


def regularizer(spec: Regularizer | None) -> keras.regularizers.Regularizer | None:
    if spec is None:
        return None
    if spec.l1 and spec.l2:
        return keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2)
    if spec.l1:
        return keras.regularizers.L1(spec.l1)
    return keras.regularizers.L2(spec.l2)


def constraint(spec: MaxNorm | None) -> keras.constraints.Constraint | None:
    return None if spec is None else keras.constraints.MaxNorm(spec.max_norm, axis=spec.axis)


def build_layer(spec: Layer) -> keras.layers.Layer:
    if isinstance(spec, Dense):
        return keras.layers.Dense(
            spec.units,
            activation=spec.activation,
            use_bias=spec.use_bias,
            kernel_regularizer=regularizer(spec.kernel_regularizer),
            bias_regularizer=regularizer(spec.bias_regularizer),
            activity_regularizer=regularizer(spec.activity_regularizer),
            kernel_constraint=constraint(spec.kernel_constraint),
        )
    if isinstance(spec, Dropout):
        return keras.layers.Dropout(spec.rate, seed=spec.seed)
    if isinstance(spec, Flatten):
        return keras.layers.Flatten()
    raise TypeError(f"no builder for layer {type(spec).__name__}")


def optimizer(spec: OptimizerSpec) -> keras.optimizers.Optimizer:
    kwargs: dict[str, Any] = {}
    if spec.learning_rate is not None:
        kwargs["learning_rate"] = spec.learning_rate
    return _OPTIMIZERS[spec.name](**kwargs)


def compile_args(spec: CompileSpec) -> dict[str, Any]:
    metrics = [_METRIC_OBJECTS[m]() if m in _METRIC_OBJECTS else m for m in spec.metrics]
    return {"optimizer": optimizer(spec.optimizer), "loss": spec.loss, "metrics": metrics}


def build_model(spec: ExperimentSpec, input_shape: tuple[int, ...]) -> keras.Model:
    layers = [keras.Input(shape=input_shape)] + [build_layer(s) for s in spec.model.layers]
    model = keras.Sequential(layers, name=_keras_name(spec.name))
    model.compile(**compile_args(spec.compile))
    return model


def _keras_name(name: str | None) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in (name or "experiment"))
    return cleaned[:60] or "experiment"
