"""Repeats packed as one program against each repeat fitted alone by the compiled trainer, in
a JAX process of its own (Keras picks its backend once, at import). Prints, as JSON, each
seed's per-epoch logs, early stop and checkpoints, alone and packed, and packed again with
one lane cancelled, with one lane resumed at its own epoch, and with a warm shutdown (the
cases: packed_cases.py). Run by test_packed_parity.py, beside it."""

import json
import os
from typing import Any

os.environ["KERAS_BACKEND"] = "jax"

import keras
import numpy as np

from models.spec import ExperimentSpec
from tests.unit.worker.training.compiled.packed_cases import (
    CANCELLED_AT,
    CANCELLED_SEED,
    RESUMED_AT,
    RESUMED_SEED,
    SEEDS,
    SHUTDOWN_AT,
    SPEC,
)
from worker import shutdown
from worker.training.build import build_model
from worker.training.compiled.packed_trainer import PackedFit
from worker.training.compiled.trainer import CompiledFit, Job
from worker.training.data import load_uncached
from worker.training.epoch_store import EpochState
from worker.training.fit_end import FitEnd
from worker.training.targets import shape_targets


class Recorder:
    """A job's writes and checkpoints kept in memory: the rows, and the weights saved at
    each epoch (a checkpoint is due after every chunk)."""

    def __init__(self, cancel_at: int | None = None, shutdown_at: int | None = None) -> None:
        self.rows: list[tuple[int, dict]] = []
        self.saved: dict[int, list[np.ndarray]] = {}
        # Everything a resume restores: weights, random states, the optimizer's variables.
        self.states: dict[int, list[np.ndarray]] = {}
        self.cancel_at, self.shutdown_at = cancel_at, shutdown_at

    def job(self, name: str) -> Job:
        # A target of 0 s runs one epoch a call: a write and a checkpoint every epoch.
        return Job(name, self.write, lambda: EpochState.OK, 0.0, 60.0, checkpointer=self)  # type: ignore[arg-type]

    def write(self, rows: list[tuple[int, dict]]) -> EpochState:
        self.rows.extend(rows)
        if self.shutdown_at is not None and rows[-1][0] >= self.shutdown_at:
            shutdown._mark()  # as the worker's signal handler does
        cancelled = self.cancel_at is not None and rows[-1][0] >= self.cancel_at
        return EpochState.CANCELLED if cancelled else EpochState.OK

    def due(self) -> bool:
        return True

    def save(self, model: keras.Model, epoch: int) -> None:
        self.saved[epoch] = [np.array(w) for w in model.get_weights()]
        self.states[epoch] = [np.array(v.value) for v in every_variable(model)]


def every_variable(model: keras.Model) -> list[Any]:
    return [*model.variables, *model.optimizer.variables]


def repeat(seed: int, data: Any) -> tuple[ExperimentSpec, keras.Model]:
    """The repeat's spec and model as the worker builds them: seeded, then built."""
    spec = ExperimentSpec.model_validate(SPEC | {"fit": SPEC["fit"] | {"seed": seed}})
    keras.utils.set_random_seed(seed)
    return spec, build_model(spec, data.input_shape)


def pairs(model: keras.Model, spec: ExperimentSpec, data: Any) -> tuple[Any, Any]:
    output, loss = tuple(model.output_shape), spec.compile.loss
    x_val, y_val = data.validation
    return (
        (data.x_train, shape_targets(data.y_train, output, loss)),
        (x_val, shape_targets(y_val, output, loss)),
    )


def summary(recorder: Recorder, end: FitEnd, model: keras.Model) -> dict[str, Any]:
    return {
        "epochs": [epoch for epoch, _ in recorder.rows],
        "logs": {k: [row[1][k] for row in recorder.rows] for k in recorder.rows[0][1]},
        "early_stop": end.early_stop,
        "stop_reason": end.stop_reason,
        "weights": [w.tolist() for w in model.get_weights()],
        "saved": {e: [w.tolist() for w in ws] for e, ws in recorder.saved.items()},
    }


def alone(seed: int, data: Any, resumes: dict[int, list[np.ndarray]]) -> dict[str, Any]:
    """The seed's fit alone; its state at RESUMED_AT goes into `resumes`."""
    spec, model = repeat(seed, data)
    fit = CompiledFit(model, spec, *pairs(model, spec, data))
    fit.prepare()
    recorder = Recorder()
    end = fit.run(0, recorder.job(str(seed)))
    if RESUMED_AT in recorder.states:
        resumes[seed] = recorder.states[RESUMED_AT]
    return summary(recorder, end, model)


def packed(
    data: Any,
    cancel: dict[int, int],
    resumes: dict[int, list[np.ndarray]] | None = None,
    shutdown_at: int | None = None,
) -> dict[str, Any]:
    """The seeds as one pack; `cancel`: seed -> the epoch its write hears a cancel at;
    `resumes`: seed -> the state its lane resumes from, at RESUMED_AT; `shutdown_at`: the
    epoch whose write by the first lane asks for a warm shutdown."""
    built = [repeat(seed, data) for seed in SEEDS]
    models = [model for _, model in built]
    fit = PackedFit(models, built[0][0], SEEDS, *pairs(models[0], built[0][0], data))
    starts = [0] * len(SEEDS)
    for seed, values in (resumes or {}).items():
        for variable, value in zip(every_variable(models[seed]), values, strict=True):
            variable.assign(value)
        starts[SEEDS.index(seed)] = RESUMED_AT
    fit.prepare()
    recorders = [Recorder(cancel.get(seed)) for seed in SEEDS]
    recorders[0].shutdown_at = shutdown_at
    order: list[int] = []
    jobs = [recorder.job(str(seed)) for recorder, seed in zip(recorders, SEEDS, strict=True)]
    ends = fit.run(starts, jobs, lambda index, _: order.append(SEEDS[index]))
    lanes = zip(SEEDS, recorders, ends, models, strict=True)
    return {
        "lanes": {seed: summary(r, end, model) for seed, r, end, model in lanes},
        "ended_in_order": order,
    }


if __name__ == "__main__":
    dataset = ExperimentSpec.model_validate(SPEC | {"fit": SPEC["fit"]}).dataset
    loaded = load_uncached(dataset)
    states: dict[int, list[np.ndarray]] = {}
    print(
        json.dumps(
            {
                "alone": {seed: alone(seed, loaded, states) for seed in SEEDS},
                "packed": packed(loaded, {}),
                "cancelled": packed(loaded, {CANCELLED_SEED: CANCELLED_AT}),
                "resumed": packed(loaded, {}, {RESUMED_SEED: states[RESUMED_SEED]}),
                "shutdown": packed(loaded, {}, shutdown_at=SHUTDOWN_AT),  # last: the flag stays set
            }
        )
    )
