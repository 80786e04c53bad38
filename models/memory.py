"""The training-memory estimate, in pure Python, shared by the API's limit check and the
worker's dry run, so the number a client is refused with is the number the dry run shows."""

import math
from collections.abc import Sequence

from models.shapes import LayerShape

FLOAT_BYTES = 4
# Per-parameter slots each optimizer keeps (Adam: first and second moments, and so on).
OPTIMIZER_SLOTS = {
    "adam": 2, "adamw": 2, "nadam": 2, "adamax": 2, "adadelta": 2,
    "rmsprop": 1, "adagrad": 1, "sgd": 0,
}  # fmt: skip


def estimate_bytes(
    input_shape: Sequence[int],
    output_shapes: Sequence[Sequence[int | None]],
    total_params: int,
    trainable_params: int,
    optimizer: str,
    batch_size: int,
) -> int:
    """Weights, gradients and optimizer slots, plus one batch of inputs and activations kept
    for the backward pass (twice: values and their gradients). A floor, not a promise: the
    backend's workspace and the dataset itself come on top. The input batch is counted dense
    even where a CPU worker feeds multi-hot rows as word indices (smaller): the API cannot
    know the worker's device, and the larger figure is the one a GPU worker needs."""
    slots = OPTIMIZER_SLOTS[optimizer]
    weights = (total_params + trainable_params * (1 + slots)) * FLOAT_BYTES
    per_sample = math.prod(input_shape) + sum(
        math.prod(d for d in shape if d is not None) for shape in output_shapes
    )
    return int(weights + 2 * batch_size * per_sample * FLOAT_BYTES)


def estimate_from_layers(
    input_shape: Sequence[int], layers: Sequence[LayerShape], optimizer: str, batch_size: int
) -> int:
    """The same estimate from models.shapes.infer's layers (no Keras model needed)."""
    return estimate_bytes(
        input_shape,
        [layer.output_shape for layer in layers],
        sum(layer.params for layer in layers),
        sum(layer.trainable_params for layer in layers),
        optimizer,
        batch_size,
    )
