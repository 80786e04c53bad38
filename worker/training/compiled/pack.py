"""Several repeats of one model as one program: the chunk function of program.py mapped
with `jax.vmap` over a leading lane axis of everything a repeat owns (its variables, its
early-stopping state, its shuffle key, its first epoch and its epoch count), while the data
and the metrics' zeros are shared, not copied per lane (docs/compiled-trainer.md, "Packed
repeats").

A lane whose loss became non-finite, whose early stopping stopped it, or whose count ran
out stops changing: vmap turns the while loop's per-lane condition into a select, so its
variables stay as they were while the other lanes go on."""

from typing import Any

import jax
import keras

from worker.training.compiled import program

# The chunk's arguments: (state, train, validation, metrics_zero, start, count, key, stop).
LANE_AXES = (0, None, None, None, 0, 0, 0, 0)


def build(model: keras.Model, layout: program.Layout) -> Any:
    """The packed chunk function (to jit): program.build's, each lane its own repeat."""
    return jax.vmap(program.build(model, layout), in_axes=LANE_AXES)


def stack(trees: list[Any]) -> Any:
    """The lanes' pytrees (one per repeat, of one structure) as one, lanes first."""
    return jax.tree.map(lambda *leaves: jax.numpy.stack(leaves), *trees)


def lane(tree: Any, index: int) -> Any:
    """One lane's part of a packed pytree."""
    return jax.tree.map(lambda leaf: leaf[index], tree)


def keys(seeds: list[int]) -> Any:
    """The lanes' shuffle keys, each `jax.random.key(seed)` as an unpacked fit makes it."""
    data = [jax.random.key_data(jax.random.key(seed)) for seed in seeds]
    return jax.random.wrap_key_data(jax.numpy.stack(data))
