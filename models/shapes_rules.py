"""One rule per layer type: (layer, input shape) -> (output shape, params, trainable params),
with Keras 3's formulas. Ranks are checked before a rule runs (see shapes.py); a rule only
raises MismatchError for sizes that cannot work, such as a kernel larger than its input."""

import math
from collections.abc import Callable
from typing import Any

from models import spec_layers as sl

Shape = tuple[int, ...]
Output = tuple[Shape, int, int]


class MismatchError(Exception):
    """A layer cannot take its input; shapes.py adds which layer it is."""


def _dense(layer: sl.Dense, shape: Shape) -> Output:
    # Keras 3 applies Dense to the last axis of any input: (steps, 8) -> (steps, units).
    params = shape[-1] * layer.units + (layer.units if layer.use_bias else 0)
    return (*shape[:-1], layer.units), params, params


def _unchanged(layer: object, shape: Shape) -> Output:
    return shape, 0, 0


def _flatten(layer: sl.Flatten, shape: Shape) -> Output:
    return (math.prod(shape),), 0, 0


def _batch_norm(layer: sl.BatchNormalization, shape: Shape) -> Output:
    # gamma (scale) and beta (center) train; the moving mean and variance are counted too.
    channels = shape[-1]
    trainable = (int(layer.center) + int(layer.scale)) * channels
    return shape, trainable + 2 * channels, trainable


def _embedding(layer: sl.Embedding, shape: Shape) -> Output:
    params = layer.input_dim * layer.output_dim
    return (*shape, layer.output_dim), params, params


def _recurrent(layer: sl.LSTM | sl.GRU, shape: Shape) -> Output:
    steps, features = shape
    units = layer.units
    if isinstance(layer, sl.LSTM):  # four gates, one bias each
        params = 4 * (units * (features + units) + units)
    else:  # three gates; reset_after=True keeps separate input and recurrent biases
        params = 3 * units * (features + units) + 2 * 3 * units
    output = (steps, units) if layer.return_sequences else (units,)
    return output, params, params


def _conv(layer: sl.Conv1D | sl.Conv2D, shape: Shape) -> Output:
    kernel = _tuple(layer.kernel_size)
    spatial = _windows(shape[:-1], kernel, _tuple(layer.strides), layer.padding, "kernel_size")
    params = math.prod(kernel) * shape[-1] * layer.filters
    params += layer.filters if layer.use_bias else 0
    return (*spatial, layer.filters), params, params


def _pool(layer: sl.MaxPooling1D | sl.MaxPooling2D, shape: Shape) -> Output:
    pool = _tuple(layer.pool_size)
    strides = pool if layer.strides is None else _tuple(layer.strides)
    return (*_windows(shape[:-1], pool, strides, layer.padding, "pool_size"), shape[-1]), 0, 0


def _global_pool(layer: object, shape: Shape) -> Output:
    return (shape[-1],), 0, 0


def _tuple(value: int | tuple[int, ...]) -> Shape:
    return (value,) if isinstance(value, int) else tuple(value)


def _windows(spatial: Shape, window: Shape, strides: Shape, padding: str, what: str) -> Shape:
    """How many windows fit along each axis, with Keras's formulas."""
    if padding == "same":  # zero-padded: one window per stride step
        return tuple((n - 1) // s + 1 for n, s in zip(spatial, strides, strict=True))
    if any(w > n for w, n in zip(window, spatial, strict=True)):
        if len(spatial) == 1:
            size = f"{what} {window[0]} is larger than the input length {spatial[0]}"
        else:
            size = f"{what} {window} is larger than the input's (height, width) {spatial}"
        raise MismatchError(f"{size}: use padding 'same' or a smaller {what}")
    return tuple((n - w) // s + 1 for n, w, s in zip(spatial, window, strides, strict=True))


RULES: dict[type, Callable[[Any, Shape], Output]] = {
    sl.Dense: _dense,
    sl.Dropout: _unchanged,
    sl.SpatialDropout1D: _unchanged,
    sl.SpatialDropout2D: _unchanged,
    sl.SpatialDropout3D: _unchanged,
    sl.Flatten: _flatten,
    sl.BatchNormalization: _batch_norm,
    sl.Embedding: _embedding,
    sl.LSTM: _recurrent,
    sl.GRU: _recurrent,
    sl.Conv1D: _conv,
    sl.Conv2D: _conv,
    sl.MaxPooling1D: _pool,
    sl.MaxPooling2D: _pool,
    sl.GlobalAveragePooling1D: _global_pool,
    sl.GlobalAveragePooling2D: _global_pool,
    sl.GlobalMaxPooling1D: _global_pool,
    sl.GlobalMaxPooling2D: _global_pool,
}
