"""The fit's training input on TensorFlow when the spec has a seed: shuffled anew every epoch.

Keras feeds arrays to a TensorFlow fit through a tf.data pipeline that draws each epoch's
order with tf.random.shuffle. Once keras.utils.set_random_seed has set TensorFlow's global
seed, every epoch's new iterator starts that op from the same state, so every epoch sees the
batches in one and the same order (12 rows in batches of 4: the same three batches in each of
three epochs). The curves showed it: on the IMDB notebook's baseline the training loss climbed
back from 0.04 to 0.18 in the last epochs, where unseeded fits fell smoothly to 0.002
(BENCHMARKS.md, "Training", the TensorFlow IMDB runs).
Studies seed every run, so this is the common case.

Here the order comes from a shuffle with its own seed that reshuffles on every iteration:
each epoch gets a new order, and the same seed gives the same orders. The batches are
gathered from the whole arrays as Keras's own pipeline does. JAX and torch draw their orders
from seeded generators that advance from epoch to epoch, so they keep Keras's input."""

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from worker.training.validation_split import split_validation

Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class FitInput:
    """What model.fit takes for the training data: arrays, or a dataset that batches and
    shuffles (Keras warns when it is told to shuffle one)."""

    x: Any
    y: np.ndarray | None
    validation_data: Pair | None
    validation_split: float
    batch_size: int | None
    shuffle: bool


def fit_input(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int | None,
    shuffle: bool,
    batch_size: int,
    validation: Pair | None,
    validation_split: float,
) -> FitInput:
    if seed is None or not shuffle or keras.backend.backend() != "tensorflow":
        return FitInput(x, y, validation, validation_split, batch_size, shuffle)
    if validation is None and validation_split:
        # Keras's own split (it takes no split of a dataset): the last fraction validates.
        (x, y), validation = split_validation(x, y, validation_split)
    return FitInput(reshuffled(x, y, seed, batch_size), None, validation, 0.0, None, False)


def reshuffled(x: np.ndarray, y: np.ndarray, seed: int, batch_size: int) -> Any:
    """A tf.data dataset of (x, y) batches in a new seeded order on every iteration."""
    import tensorflow as tf

    order = (
        tf.data.Dataset.range(len(x))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    # The arrays as one element repeated, as Keras does: captured in a function instead,
    # they would be copied into its graph, which cannot hold more than 2 GB.
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
    return (
        tf.data.Dataset.zip((order, arrays))
        .map(
            lambda rows, xy: (tf.gather(xy[0], rows), tf.gather(xy[1], rows)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
