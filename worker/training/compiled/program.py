"""One compiled program that runs a chunk of epochs: each epoch's batches scanned through
Keras's stateless `train_step` (the partial last batch as its own, smaller step, as Keras
feeds it), validation through `test_step`, metrics reset at each epoch's start and again
before validation, as `fit` and `evaluate` do. Everything Keras computes (loss,
regularization, metrics, the optimizer) is Keras's; only the loops are ours.

The chunk's length is an argument, so one program serves every chunk; per-epoch logs come
back in buffers of `capacity` rows, with how many epochs ran (fewer when the loss became
non-finite or early stopping stopped the fit)."""

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import keras
from keras.src.backend.common.stateless_scope import StatelessScope

from worker.training.compiled import stopping


@dataclass(frozen=True)
class Layout:
    """What a program is compiled for, besides the arrays' shapes."""

    batch_size: int
    shuffle: bool
    capacity: int  # most epochs one call runs
    stopping: stopping.Rule | None


def build(model: keras.Model, layout: Layout) -> Any:
    """The chunk function (to jit) for a compiled, built model: (state, data, start, count,
    key, stop) -> (state, stop, logs, ran)."""
    one_epoch = epoch(model, layout)

    def chunk(
        state: tuple,
        train: tuple,
        validation: tuple | None,
        metrics_zero: list,
        start: Any,
        count: Any,
        key: Any,
        stop: Any,
    ) -> tuple:
        names = log_names(model, validation is not None)
        buffers = {name: jnp.zeros(layout.capacity, jnp.float32) for name in names}

        def epoch_body(carry: tuple) -> tuple:
            i, state, stop, buffers, _ = carry
            state, logs = one_epoch(state, train, validation, metrics_zero, key, start + i)
            buffers = {k: b.at[i].set(logs[k]) for k, b in buffers.items()}
            diverged = ~jnp.isfinite(logs["loss"])
            if layout.stopping is not None:
                stop = stopping.update(layout.stopping, stop, logs, start + i, state)
            return i + 1, state, stop, buffers, diverged

        def running(carry: tuple) -> Any:
            i, _, stop, _, diverged = carry
            go = (i < count) & ~diverged
            if layout.stopping is not None:
                go = go & ~stopping.stopped(stop)
            return go

        carry = (jnp.int32(0), state, stop, buffers, jnp.bool_(False))
        ran, state, stop, buffers, _ = jax.lax.while_loop(running, epoch_body, carry)
        return state, stop, buffers, ran

    return chunk


def epoch(model: keras.Model, layout: Layout) -> Any:
    """One epoch (absolute, 0-based) of training and, with validation data, validation:
    (state, train, validation, metrics_zero, key, epoch) -> (state, logs). The rows are
    shuffled in an order drawn from fold_in(key, epoch)."""

    def results(metrics_values: list[Any]) -> dict[str, Any]:
        mapping = list(zip(model.metrics_variables, metrics_values, strict=True))
        with StatelessScope(state_mapping=mapping):
            return {k: jnp.asarray(v, jnp.float32) for k, v in model.get_metrics_result().items()}

    def train_epoch(state: tuple, data: tuple, key: Any, metrics_zero: list) -> tuple:
        x, y = data
        order = _order(_len(x), layout.shuffle, key)
        full, rest = _batches(order, layout.batch_size)
        trainable, non_trainable, optimizer_values = state

        def step(carry: tuple, rows: Any) -> tuple:
            _, carry = model.train_step(carry, (_take(x, rows), _take(y, rows)))
            return carry, None

        carry = (trainable, non_trainable, optimizer_values, metrics_zero)
        if full is not None:
            carry, _ = jax.lax.scan(step, carry, full)
        if rest is not None:
            carry, _ = step(carry, rest)
        trainable, non_trainable, optimizer_values, metrics_values = carry
        return (trainable, non_trainable, optimizer_values), results(metrics_values)

    def validate(state: tuple, data: tuple, metrics_zero: list) -> tuple:
        x, y = data
        full, rest = _batches(jnp.arange(_len(x)), layout.batch_size)
        trainable, non_trainable, optimizer_values = state

        def step(carry: tuple, rows: Any) -> tuple:
            _, carry = model.test_step(carry, (_take(x, rows), _take(y, rows)))
            return carry, None

        carry = (trainable, non_trainable, metrics_zero)
        if full is not None:
            carry, _ = jax.lax.scan(step, carry, full)
        if rest is not None:
            carry, _ = step(carry, rest)
        _, non_trainable, metrics_values = carry
        logs = {f"val_{k}": v for k, v in results(metrics_values).items()}
        return (trainable, non_trainable, optimizer_values), logs

    def one_epoch(
        state: tuple, train: tuple, validation: tuple | None, metrics_zero: list, key: Any, at: Any
    ) -> tuple:
        state, logs = train_epoch(state, train, jax.random.fold_in(key, at), metrics_zero)
        if validation is not None:
            state, val_logs = validate(state, validation, metrics_zero)
            logs = logs | val_logs
        return state, logs

    return one_epoch


def log_names(model: keras.Model, validation: bool) -> list[str]:
    """The names `fit` logs for a compiled, built model: its metrics' results, and their
    val_ twins with validation."""
    names = list(model.get_metrics_result())
    return names + [f"val_{n}" for n in names] if validation else names


def _len(x: Any) -> int:
    return int(x.shape[0])


def _order(n: int, shuffle: bool, key: Any) -> Any:
    return jax.random.permutation(key, n) if shuffle else jnp.arange(n)


def _batches(order: Any, batch_size: int) -> tuple[Any, Any]:
    """(full batches as rows of indices or None, the partial last batch or None)."""
    n = order.shape[0]
    whole = n // batch_size
    full = order[: whole * batch_size].reshape(whole, batch_size) if whole else None
    rest = order[whole * batch_size :] if n % batch_size else None
    return full, rest


def _take(a: Any, rows: Any) -> Any:
    return jnp.take(a, rows, axis=0)
