"""Keras's EarlyStopping decision inside the compiled program, step for step as
keras.callbacks.EarlyStopping.on_epoch_end takes it, on the logs of each epoch.

Keras compares `ops.less(current - min_delta, best)` (or greater): the difference in Python
floats, then rounded to float32 for the op. Here the difference is formed from the float32
value and min_delta split into two float32 parts with an exact two-sum, so it rounds to the
same float32 but for ties 2^-24 apart (compiled_stopping_child.py, run by test_compiled_parity.py,
in tests/unit/worker/training/compiled/)."""

from dataclasses import dataclass
from typing import Any, Literal

import jax.numpy as jnp
import numpy as np

from models.spec import ExperimentSpec


@dataclass(frozen=True)
class Rule:
    monitor: str
    direction: Literal["min", "max"]
    min_delta: float
    patience: int
    start_from_epoch: int
    restore_best_weights: bool


def rule_of(spec: ExperimentSpec) -> Rule | None:
    """The spec's fit.early_stopping as the program takes it (None: no early stopping)."""
    es = spec.fit.early_stopping
    if es is None:
        return None
    return Rule(
        monitor=es.monitor,
        direction=es.direction,
        min_delta=es.min_delta,
        patience=es.patience,
        start_from_epoch=es.start_from_epoch,
        restore_best_weights=es.restore_best_weights,
    )


def initial(rule: Rule, state: tuple) -> dict[str, Any]:
    """The callback's state at on_train_begin; `state` gives the weights' shapes."""
    trainable, non_trainable, _ = state
    return {
        "wait": jnp.int32(0),
        "best": jnp.float32(0.0),
        "has_best": jnp.bool_(False),
        "best_epoch": jnp.int32(0),
        "stopped_epoch": jnp.int32(0),
        "stopped": jnp.bool_(False),
        "has_weights": jnp.bool_(False),
        # Only carried when they may be restored: a copy of every variable costs memory.
        "weights": (trainable, non_trainable) if rule.restore_best_weights else None,
    }


def stopped(stop: dict[str, Any]) -> Any:
    return stop["stopped"]


def update(
    rule: Rule, stop: dict[str, Any], logs: dict[str, Any], epoch: Any, state: tuple
) -> dict:
    """on_epoch_end for absolute epoch `epoch` (0-based), with `state` after it."""
    current = logs[rule.monitor]
    watched = epoch >= rule.start_from_epoch
    weights = (state[0], state[1])
    new = dict(stop)
    if rule.restore_best_weights:
        first = watched & ~stop["has_weights"]
        new["weights"] = _pick(first, weights, stop["weights"])
        new["best_epoch"] = jnp.where(first, epoch, stop["best_epoch"])
        new["has_weights"] = stop["has_weights"] | watched
    wait = stop["wait"] + 1
    better = ~stop["has_best"] | _improves(rule, current, stop["best"])
    improved = watched & better
    new["best"] = jnp.where(improved, current, stop["best"])
    new["has_best"] = stop["has_best"] | improved
    new["best_epoch"] = jnp.where(improved, epoch, new["best_epoch"])
    if rule.restore_best_weights:
        new["weights"] = _pick(improved, weights, new["weights"])
    new["wait"] = jnp.where(watched, jnp.where(improved, 0, wait), stop["wait"])
    stops = watched & ~improved & (wait >= rule.patience) & (epoch > 0)
    new["stopped"] = stop["stopped"] | stops
    new["stopped_epoch"] = jnp.where(stops, epoch, stop["stopped_epoch"])
    return new


def _improves(rule: Rule, current: Any, best: Any) -> Any:
    sign = -1.0 if rule.direction == "max" else 1.0
    shifted = _plus(current, sign * rule.min_delta)
    return shifted < best if rule.direction == "min" else shifted > best


def _plus(a: Any, b: float) -> Any:
    """float32(a + b) for float32 `a` and a float64 `b`, through an exact two-sum."""
    high = np.float32(b)
    low = np.float32(b - float(high))
    s = a + high
    virtual = s - a
    error = (a - (s - virtual)) + (high - virtual)
    return s + (error + low)


def _pick(condition: Any, new: Any, old: Any) -> Any:
    import jax

    return jax.tree.map(lambda n, o: jnp.where(condition, n, o), new, old)
