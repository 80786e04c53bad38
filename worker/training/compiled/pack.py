"""Several repeats of one model as one program: program.py's epoch mapped with `jax.vmap`
over a leading lane axis of everything a repeat owns (its variables, its early-stopping
state, its shuffle key, its first epoch and its epoch count), while the data and the
metrics' zeros are shared, not copied per lane (docs/compiled-trainer.md, "Packed repeats").

A lane runs while it has epochs left in the call, its loss is finite and its early stopping
has not stopped it; a lane that stops keeps its variables and stopping state as they were
after its last epoch (a per-lane select) while the others go on, and the call ends when no
lane runs. The loop is not vmap's batched while loop: that would select between the old
and new logs buffers (capacity rows a lane) every epoch; here every lane writes row i of
the buffers, and the host reads only the `ran` rows each lane ran."""

from typing import Any

import jax
import jax.numpy as jnp
import keras

from worker.training.compiled import program, stopping


def build(model: keras.Model, layout: program.Layout) -> Any:
    """The packed chunk function (to jit): (state, train, validation, metrics_zero, starts,
    counts, keys, stop) -> (state, stop, logs, ran), lanes first in everything but the data
    and the metrics' zeros."""
    one_epoch = jax.vmap(program.epoch(model, layout), in_axes=(0, None, None, None, 0, 0))
    rule = layout.stopping

    def chunk(
        state: Any,
        train: tuple,
        validation: tuple | None,
        metrics_zero: list,
        starts: Any,
        counts: Any,
        keys: Any,
        stop: Any,
    ) -> tuple:
        lanes = starts.shape[0]
        names = program.log_names(model, validation is not None)
        buffers = {name: jnp.zeros((lanes, layout.capacity), jnp.float32) for name in names}

        def epoch_body(carry: tuple) -> tuple:
            i, state, stop, buffers, ran, live = carry
            at = starts + i
            new_state, logs = one_epoch(state, train, validation, metrics_zero, keys, at)
            buffers = {k: b.at[:, i].set(logs[k]) for k, b in buffers.items()}
            state = _where(live, new_state, state)
            if rule is not None:
                updated = jax.vmap(lambda *a: stopping.update(rule, *a))(stop, logs, at, new_state)
                stop = _where(live, updated, stop)
            ran = ran + live.astype(jnp.int32)
            live = live & (i + 1 < counts) & jnp.isfinite(logs["loss"])
            if rule is not None:
                live = live & ~stopping.stopped(stop)
            return i + 1, state, stop, buffers, ran, live

        def running(carry: tuple) -> Any:
            return jnp.any(carry[-1])

        ran = jnp.zeros(lanes, jnp.int32)
        carry = (jnp.int32(0), state, stop, buffers, ran, counts > 0)
        _, state, stop, buffers, ran, _ = jax.lax.while_loop(running, epoch_body, carry)
        return state, stop, buffers, ran

    return chunk


def _where(live: Any, new: Any, old: Any) -> Any:
    """Per lane: `new` where the lane ran this epoch, `old` where it had stopped."""

    def pick(n: Any, o: Any) -> Any:
        mask = live.reshape(live.shape + (1,) * (n.ndim - 1))
        return jnp.where(mask, n, o)

    return jax.tree.map(pick, new, old)


def stack(trees: list[Any]) -> Any:
    """The lanes' pytrees (one per repeat, of one structure) as one, lanes first."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def lane(tree: Any, index: int) -> Any:
    """One lane's part of a packed pytree."""
    return jax.tree.map(lambda leaf: leaf[index], tree)


def keys(seeds: list[int]) -> Any:
    """The lanes' shuffle keys, each `jax.random.key(seed)` as an unpacked fit makes it."""
    data = [jax.random.key_data(jax.random.key(seed)) for seed in seeds]
    return jax.random.wrap_key_data(jnp.stack(data))
