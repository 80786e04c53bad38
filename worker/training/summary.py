"""Dry run: the layer table of model.summary(), parameter counts and a training-memory
estimate, from the real Keras model built by our own builder (nothing is fitted)."""

import math
from typing import Any

import keras

from models.memory import estimate_bytes
from models.spec import ExperimentSpec
from worker.training.build import build_model


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
    """models.memory's estimate (the one the API's FITQ_MAX_MEMORY_BYTES check uses), fed with
    the real model's shapes and counts."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return estimate_bytes(
        input_shape,
        [tuple(layer.output.shape[1:]) for layer in model.layers],
        int(model.count_params()),
        int(trainable),
        spec.compile.optimizer.name,
        spec.fit.batch_size,
    )
