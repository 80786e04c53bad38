"""Shape the labels to the model's output, so classic specs run on Keras 3 as written.

Keras 2 broadcast 1-D 0/1 labels against a (batch, 1) sigmoid output; Keras 3 raises a rank
error for metrics like 'binary_crossentropy' (the IMDB notebook's). Integer class labels with
categorical_crossentropy become one-hot, as the notebooks do with to_categorical."""

import numpy as np


def shape_targets(y: np.ndarray, output_shape: tuple[int | None, ...], loss: str) -> np.ndarray:
    units = output_shape[-1] if len(output_shape) >= 2 else None
    class_labels = y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and units is not None
    if class_labels and loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        _check_classes(y, int(units or 0), loss)
        if loss == "categorical_crossentropy" and int(units or 0) > 1:
            return np.eye(int(units or 0), dtype="float32")[y]
    if y.ndim == 1 and units == 1 and len(output_shape) == 2:
        return y.reshape(-1, 1)
    return y


def _check_classes(y: np.ndarray, units: int, loss: str) -> None:
    if y.size and (y.min() < 0 or y.max() >= units):
        raise ValueError(
            f"{loss} needs one output unit per class: the labels run from {y.min()} to "
            f"{y.max()} but the output layer has {units} unit{'s' if units != 1 else ''}"
        )
