"""Dry run: the layer table of model.summary(), parameter counts and a training-memory
estimate, from the real Keras model built by our own builder (nothing is fitted)."""

import math
from typing import Any

import keras

from models.spec import ExperimentSpec
from worker.training.build import build_model

FLOAT_BYTES = 4
# Per-parameter slots each optimizer keeps (Adam: first and second moments, and so on).
_OPTIMIZER_SLOTS = {
    "adam": 2, "adamw": 2, "nadam": 2, "adamax": 2, "adadelta": 2,
    "rmsprop": 1, "adagrad": 1, "sgd": 0,
}  # fmt: skip


def summarize(raw_spec: dict[str, Any], input_shape: tuple[int, ...]) -> dict[str, Any]:
    spec = ExperimentSpec.model_validate(raw_spec)
    model = build_model(spec, input_shape)
    layers = [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": [None, *layer.output.shape[1:]],
            "params": int(layer.count_params()),
        }
        for layer in model.layers
    ]
    total = int(model.count_params())
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return {
        "input_shape": [None, *input_shape],
        "layers": layers,
        "total_params": total,
        "trainable_params": int(trainable),
        "non_trainable_params": total - int(trainable),
        "estimated_memory_bytes": memory_estimate(spec, model, input_shape),
    }


def memory_estimate(spec: ExperimentSpec, model: keras.Model, input_shape: tuple[int, ...]) -> int:
    """Weights, gradients and optimizer slots, plus one batch of inputs and activations kept
    for the backward pass (twice: values and their gradients). A floor, not a promise: the
    backend's workspace and the dataset itself come on top."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    slots = _OPTIMIZER_SLOTS[spec.compile.optimizer.name]
    weights = (model.count_params() + trainable * (1 + slots)) * FLOAT_BYTES
    per_sample = math.prod(input_shape) + sum(
        math.prod(d for d in layer.output.shape[1:] if d is not None) for layer in model.layers
    )
    activations = 2 * spec.fit.batch_size * per_sample * FLOAT_BYTES
    return int(weights + activations)
