"""Keras's EarlyStopping and the compiled trainer's rule (worker/training/compiled/stopping.py)
on the same random histories (plateaus, ties, NaN, tiny steps near min_delta), in a JAX
process of its own. Prints the cases where they disagree, as JSON."""

import json
import os
import sys
from typing import Any

os.environ["KERAS_BACKEND"] = "jax"

import jax
import jax.numpy as jnp
import numpy as np

from models.spec_early_stopping import EarlyStoppingSpec
from worker.training.compiled import stopping
from worker.training.early_stop import EarlyStopper


class Weights:
    """A stand-in model whose weights are the epoch they were taken at."""

    def __init__(self) -> None:
        self.epoch = -1
        self.stop_training = False

    def get_weights(self) -> list[float]:
        return [float(self.epoch)]


def by_keras(spec: EarlyStoppingSpec, values: list[float]) -> dict[str, Any]:
    stopper, model = EarlyStopper(spec), Weights()
    stopper.set_model(model)
    stopper.on_train_begin()
    for epoch, value in enumerate(values):
        model.epoch = epoch
        stopper.on_epoch_end(epoch, {spec.monitor: value})
        if model.stop_training:
            break
    weights = None if stopper.best_weights is None else int(stopper.best_weights[0])
    return {"stopped": int(stopper.stopped_epoch), "weights": weights}


def by_program(spec: EarlyStoppingSpec, values: list[float]) -> dict[str, Any]:
    rule = stopping.Rule(
        spec.monitor,
        spec.direction,
        spec.min_delta,
        spec.patience,
        spec.start_from_epoch,
        spec.restore_best_weights,
    )
    marker: tuple[list, list, list] = ([jnp.float32(-1)], [], [])
    state = stopping.initial(rule, marker)
    step = jax.jit(
        lambda s, v, e: stopping.update(
            rule, s, {spec.monitor: v}, e, ([e.astype(jnp.float32)], [], [])
        )
    )
    for epoch, value in enumerate(values):
        state = step(state, jnp.float32(value), jnp.int32(epoch))
        if bool(state["stopped"]):
            break
    weights = (
        int(state["weights"][0][0])
        if spec.restore_best_weights and bool(state["has_weights"])
        else None
    )
    return {"stopped": int(state["stopped_epoch"]), "weights": weights}


def histories(count: int) -> list[tuple[dict, list[float]]]:
    rng = np.random.default_rng(11)
    out = []
    for _ in range(count):
        steps = rng.choice([0.0, 1e-3, 0.01, 0.02, -0.01], size=40)
        values = (0.7 - np.cumsum(steps + rng.normal(0, 0.005, 40))).astype(np.float32)
        values[rng.random(40) < 0.15] = values[0]  # exact ties
        if rng.random() < 0.1:
            values[rng.integers(40)] = np.nan
        spec = {
            "monitor": str(rng.choice(["val_loss", "val_accuracy"])),
            "patience": int(rng.integers(0, 5)),
            "min_delta": float(rng.choice([0.0, 0.001, 0.01, 0.0123456789])),
            "restore_best_weights": bool(rng.random() < 0.5),
            "start_from_epoch": int(rng.choice([0, 0, 3])),
        }
        out.append((spec, [float(v) for v in values]))
    return out


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    disagreements = []
    for fields, values in histories(count):
        spec = EarlyStoppingSpec(**fields)
        keras_says, program_says = by_keras(spec, values), by_program(spec, values)
        if keras_says != program_says:
            disagreements.append({"spec": fields, "keras": keras_says, "program": program_says})
    print(json.dumps({"histories": count, "disagreements": disagreements}))
