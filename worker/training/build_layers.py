"""Spec layer -> keras layer, one small builder per allow-listed type, from typed fields only
(user JSON never reaches Keras deserialization)."""

from collections.abc import Callable
from typing import Any

import keras

from models import spec_layers as sl

L = keras.layers


def regularizer(spec: sl.Regularizer | None) -> keras.regularizers.Regularizer | None:
    if spec is None:
        return None
    if spec.l1 and spec.l2:
        return keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2)
    if spec.l1:
        return keras.regularizers.L1(spec.l1)
    return keras.regularizers.L2(spec.l2)


def constraint(spec: sl.MaxNorm | None) -> keras.constraints.Constraint | None:
    return None if spec is None else keras.constraints.MaxNorm(spec.max_norm, axis=spec.axis)


def filter_constraint(
    spec: sl.FilterMaxNorm | None, rank: int
) -> keras.constraints.Constraint | None:
    # A kernel is (*window, in_channels, filters): every axis but the last belongs to one filter.
    return None if spec is None else keras.constraints.MaxNorm(spec.max_norm, list(range(rank + 1)))


def dense_arguments(spec: sl.Dense) -> dict[str, Any]:
    """keras.layers.Dense's arguments for `spec` (WordDense takes the same)."""
    return {
        "units": spec.units,
        "activation": spec.activation,
        "use_bias": spec.use_bias,
        "kernel_regularizer": regularizer(spec.kernel_regularizer),
        "bias_regularizer": regularizer(spec.bias_regularizer),
        "activity_regularizer": regularizer(spec.activity_regularizer),
        "kernel_constraint": constraint(spec.kernel_constraint),
    }


def _dense(spec: sl.Dense) -> keras.layers.Layer:
    return L.Dense(**dense_arguments(spec))


def _conv(spec: sl.Conv1D | sl.Conv2D) -> keras.layers.Layer:
    rank = 1 if isinstance(spec, sl.Conv1D) else 2
    return (L.Conv1D if rank == 1 else L.Conv2D)(
        spec.filters,
        spec.kernel_size,
        strides=spec.strides,
        padding=spec.padding,
        activation=spec.activation,
        use_bias=spec.use_bias,
        kernel_regularizer=regularizer(spec.kernel_regularizer),
        kernel_constraint=filter_constraint(spec.kernel_constraint, rank),
    )


def _pool(spec: sl.MaxPooling1D | sl.MaxPooling2D) -> keras.layers.Layer:
    cls = L.MaxPooling1D if isinstance(spec, sl.MaxPooling1D) else L.MaxPooling2D
    return cls(pool_size=spec.pool_size, strides=spec.strides, padding=spec.padding)


def _recurrent(spec: sl.LSTM | sl.GRU) -> keras.layers.Layer:
    return (L.LSTM if isinstance(spec, sl.LSTM) else L.GRU)(
        spec.units,
        activation=spec.activation,
        recurrent_activation=spec.recurrent_activation,
        dropout=spec.dropout,
        recurrent_dropout=spec.recurrent_dropout,
        return_sequences=spec.return_sequences,
        kernel_regularizer=regularizer(spec.kernel_regularizer),
        recurrent_regularizer=regularizer(spec.recurrent_regularizer),
    )


def _batch_norm(spec: sl.BatchNormalization) -> keras.layers.Layer:
    return L.BatchNormalization(
        momentum=spec.momentum, epsilon=spec.epsilon, center=spec.center, scale=spec.scale
    )


_BUILDERS: dict[type, Callable[[Any], keras.layers.Layer]] = {
    sl.Dense: _dense,
    sl.Dropout: lambda s: L.Dropout(s.rate, seed=s.seed),
    sl.Flatten: lambda s: L.Flatten(),
    sl.BatchNormalization: _batch_norm,
    sl.Conv1D: _conv,
    sl.Conv2D: _conv,
    sl.MaxPooling1D: _pool,
    sl.MaxPooling2D: _pool,
    sl.GlobalAveragePooling1D: lambda s: L.GlobalAveragePooling1D(),
    sl.GlobalAveragePooling2D: lambda s: L.GlobalAveragePooling2D(),
    sl.GlobalMaxPooling1D: lambda s: L.GlobalMaxPooling1D(),
    sl.GlobalMaxPooling2D: lambda s: L.GlobalMaxPooling2D(),
    sl.SpatialDropout1D: lambda s: L.SpatialDropout1D(s.rate, seed=s.seed),
    sl.SpatialDropout2D: lambda s: L.SpatialDropout2D(s.rate, seed=s.seed),
    sl.SpatialDropout3D: lambda s: L.SpatialDropout3D(s.rate, seed=s.seed),
    sl.Embedding: lambda s: L.Embedding(s.input_dim, s.output_dim, mask_zero=s.mask_zero),
    sl.LSTM: _recurrent,
    sl.GRU: _recurrent,
}


def build_layer(spec: sl.Layer) -> keras.layers.Layer:
    builder = _BUILDERS.get(type(spec))
    if builder is None:
        raise TypeError(f"no builder for layer {type(spec).__name__}")
    return builder(spec)
