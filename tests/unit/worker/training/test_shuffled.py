"""A seeded TensorFlow fit sees its rows in a new order every epoch, the same orders for the
same seed; other fits keep Keras's own array input (worker/training/shuffled.py)."""

from typing import Any

import keras
import numpy as np
import pytest

from worker.training.shuffled import fit_input, reshuffled

ON_TENSORFLOW = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the reshuffled input is TensorFlow's"
)
X = np.arange(40, dtype=np.float32).reshape(20, 2)
Y = np.arange(20, dtype=np.int32)


def epoch_orders(dataset: Any, epochs: int) -> list[list[int]]:
    """The labels in the order each epoch sees them: a new iterator an epoch, as fit does."""
    return [[int(v) for batch in dataset for v in batch[1].numpy()] for _ in range(epochs)]


@ON_TENSORFLOW
def test_every_epoch_gets_a_new_order_and_a_seed_repeats_them() -> None:
    keras.utils.set_random_seed(3)  # what the worker does first: the case Keras repeats in
    orders = epoch_orders(reshuffled(X, Y, seed=3, batch_size=6), 4)
    assert all(sorted(order) == list(range(20)) for order in orders)  # each row once an epoch
    assert len({tuple(order) for order in orders}) == 4
    assert epoch_orders(reshuffled(X, Y, seed=3, batch_size=6), 4) == orders
    assert epoch_orders(reshuffled(X, Y, seed=4, batch_size=6), 4) != orders
    batch = next(iter(reshuffled(X, Y, seed=3, batch_size=6)))
    np.testing.assert_array_equal(batch[0].numpy(), X[batch[1].numpy()])  # rows keep labels


@ON_TENSORFLOW
def test_a_validation_split_holds_out_the_last_fraction_as_keras_does() -> None:
    given = fit_input(
        X, Y, seed=1, shuffle=True, batch_size=4, validation=None, validation_split=0.25
    )
    assert given.validation_data is not None and given.validation_split == 0.0
    np.testing.assert_array_equal(given.validation_data[1], Y[15:])
    assert sorted(epoch_orders(given.x, 1)[0]) == list(range(15))
    assert given.batch_size is None and not given.shuffle  # the dataset batches and shuffles


@ON_TENSORFLOW
def test_a_split_that_leaves_nothing_says_so() -> None:
    leaves = r"validation_split 0\.99 of 20 samples leaves no training samples"
    with pytest.raises(ValueError, match=leaves):
        fit_input(X, Y, seed=1, shuffle=True, batch_size=4, validation=None, validation_split=0.99)


@pytest.mark.parametrize(("seed", "shuffle"), [(None, True), (1, False)])
def test_without_a_seed_or_a_shuffle_keras_takes_the_arrays(
    seed: int | None, shuffle: bool
) -> None:
    held = (X[:5], Y[:5])
    given = fit_input(
        X, Y, seed=seed, shuffle=shuffle, batch_size=4, validation=held, validation_split=0.0
    )
    assert (given.x, given.y, given.validation_data) == (X, Y, held)
    assert (given.batch_size, given.shuffle) == (4, shuffle)
