"""The compiled trainer against model.fit on the same specs, data and initial variables, in a
JAX process of its own (Keras picks its backend once, at import). Prints, as JSON, each
case's per-epoch logs from both trainers. Run by test_compiled_parity.py, beside it."""

import json
import os
import sys
from typing import Any

os.environ["KERAS_BACKEND"] = "jax"

import keras
import numpy as np

from models.spec import ExperimentSpec
from tests.unit.worker.training.compiled.compiled_cases import CASES, Case
from worker.training.build import build_model
from worker.training.compiled.trainer import CompiledFit, Job
from worker.training.early_stop import EarlyStopper
from worker.training.epoch_store import EpochState
from worker.training.targets import shape_targets
from worker.training.validation_split import split_validation


def twins(spec: ExperimentSpec, case: Case, x: np.ndarray) -> tuple[keras.Model, keras.Model]:
    """Two models of one spec holding the same variables (weights and random states)."""
    keras.utils.set_random_seed(7)
    if case.vocabulary is None:
        first, second = (build_model(spec, tuple(x.shape[1:])) for _ in range(2))
    else:  # WordDense over the multi-hot width
        first, second = (build_model(spec, (case.vocabulary,), "words") for _ in range(2))
    for a, b in zip(first.variables, second.variables, strict=True):
        b.assign(np.array(a.value))  # a copy: fit donates (deletes) its own buffers
    return first, second


def run(case: Case) -> dict[str, Any]:
    spec = ExperimentSpec.model_validate(case.spec)
    x, y, validation = case.data()
    by_fit, by_program = twins(spec, case, x)
    output = tuple(by_fit.output_shape)
    y = shape_targets(y, output, spec.compile.loss)
    if validation is not None:
        validation = (validation[0], shape_targets(validation[1], output, spec.compile.loss))
    fit = spec.fit
    stopper = None if fit.early_stopping is None else EarlyStopper(fit.early_stopping)
    history = by_fit.fit(
        x,
        y,
        validation_data=validation,
        validation_split=fit.validation_split or 0.0,
        epochs=fit.epochs,
        batch_size=fit.batch_size,
        validation_batch_size=fit.batch_size,
        shuffle=False,
        verbose=0,
        callbacks=[] if stopper is None else [stopper],
    ).history
    train = (x, y)
    if validation is None and fit.validation_split:
        train, validation = split_validation(x, y, fit.validation_split)
    rows: list[tuple[int, dict]] = []
    compiled = CompiledFit(by_program, spec, train, validation)
    compiled.prepare()

    def write(batch: list[tuple[int, dict]]) -> EpochState:
        rows.extend(batch)
        return EpochState.OK

    def beat() -> EpochState:
        return EpochState.OK

    # A target of 0 s runs one epoch a call, a large one every epoch in one call.
    job = Job("parity", write, beat, case.chunk_seconds, 60.0)
    end = compiled.run(0, job)
    weights_equal = all(
        np.allclose(a, b, rtol=1e-4, atol=1e-6)
        for a, b in zip(by_fit.get_weights(), by_program.get_weights(), strict=True)
    )
    return {
        "fit": {k: [float(v) for v in vs] for k, vs in history.items()},
        "compiled": {k: [r[1][k] for r in rows] for k in rows[0][1]},
        "epochs": [r[0] for r in rows],
        "weights_equal": weights_equal,
        "early_stop": {
            "fit": None if stopper is None else stopper.outcome(fit.epochs),
            "compiled": end.early_stop,
        },
    }


if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    print(json.dumps({name: run(CASES[name]) for name in names}))
