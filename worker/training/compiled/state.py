"""The model's variables as the program's state, and back."""

from typing import Any

import jax
import keras
import numpy as np


def initial_state(model: keras.Model) -> tuple[list, list, list]:
    """(trainable, non-trainable, optimizer) values, in the order Keras's train_step takes."""
    return (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
    )


def metrics_reset(model: keras.Model) -> list[Any]:
    """The metrics' variables as reset_metrics leaves them: each epoch starts from these,
    and so does validation, as fit's and evaluate's resets do."""
    model.reset_metrics()
    return [v.value for v in model.metrics_variables]


def sync(model: keras.Model, state: tuple) -> None:
    """The state's values into the model's variables (for a checkpoint, the end)."""
    trainable, non_trainable, optimizer_values = state
    for variables, values in (
        (model.trainable_variables, trainable),
        (model.non_trainable_variables, non_trainable),
        (model.optimizer.variables, optimizer_values),
    ):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)


def restore_weights(model: keras.Model, weights: tuple[list, list]) -> None:
    """set_weights of the best epoch as EarlyStopping does: what `model.weights` holds, so not
    the random generators' states."""
    trainable, non_trainable = weights
    for variable, value in zip(model.trainable_variables, trainable, strict=True):
        variable.assign(value)
    saved = {id(w) for w in model.weights}
    for variable, value in zip(model.non_trainable_variables, non_trainable, strict=True):
        if id(variable) in saved:
            variable.assign(value)


def keras_logs(buffers: dict[str, Any], ran: int, first_epoch: int) -> list[tuple[int, dict]]:
    """The chunk's epochs as the writer takes them: (epoch from 1, {name: float})."""
    host = {name: np.asarray(values[:ran]) for name, values in jax.device_get(buffers).items()}
    return [
        (first_epoch + i, {name: float(values[i]) for name, values in host.items()})
        for i in range(ran)
    ]
