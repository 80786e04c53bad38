"""fit.validation_split as Keras takes it: the last fraction of the rows, unshuffled."""

import math

import numpy as np

Pair = tuple[np.ndarray, np.ndarray]


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float) -> tuple[Pair, Pair]:
    """(training rows, validation rows), with Keras's rounding and its refusal of a split
    that leaves either side empty."""
    at = math.floor(len(x) * (1.0 - fraction))
    if at in (0, len(x)):
        raise ValueError(
            f"validation_split {fraction} of {len(x)} samples leaves "
            f"{'no training' if at == 0 else 'no validation'} samples"
        )
    return (x[:at], y[:at]), (x[at:], y[at:])
