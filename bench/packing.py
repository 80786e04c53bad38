"""Repeats packed as one program against the same repeats one after another, side by side in
one JAX process: one seed alone, five seeds packed (worker/training/compiled/packed_trainer.py)
and the five seeds each alone, one after another (what an unpacked worker does), rotating
which side runs first. Each side's first run includes its compiles (reported apart); the
figures are the medians of the next ones, with their ratios to one run alone.

    python -m bench.packing [REPEATS] [EPOCH_SCALE]

Workloads: the dropout article's circles model (30 rows, Dense 500 + Dropout, batches of 32:
a step is a few microseconds of math, so per-step and per-epoch costs dominate) and a wider
one (800 rows, Dense 512-512, batches of 32: the math dominates). EPOCH_SCALE multiplies
their epochs (1: 2,000 and 40). Figures and the machine: BENCHMARKS.md, "Packing"."""

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ["KERAS_BACKEND"] = "jax"

import jax
import keras

from models.spec import ExperimentSpec
from worker.training.build import build_model
from worker.training.compiled.packed_trainer import PackedFit
from worker.training.compiled.trainer import CompiledFit, Job
from worker.training.data import LoadedData, load_uncached
from worker.training.epoch_store import EpochState
from worker.training.targets import shape_targets

PACK = 5
SEEDS = list(range(PACK))
SIDES = ("one", "packed", "sequential")


def _layers(*units: int, dropout: float | None = None) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    for width in units:
        layers.append({"type": "Dense", "units": width, "activation": "relu"})
        if dropout is not None:
            layers.append({"type": "Dropout", "rate": dropout})
    return [*layers, {"type": "Dense", "units": 1, "activation": "sigmoid"}]


WORKLOADS: dict[str, dict[str, Any]] = {
    "circles_dropout": {
        "dataset": {"name": "circles", "n_samples": 100, "noise": 0.1, "random_state": 1,
                    "n_train": 30},
        "model": {"layers": _layers(500, dropout=0.4)},
        "fit": {"epochs": 2000, "batch_size": 32},
    },
    "circles_wide": {
        "dataset": {"name": "circles", "n_samples": 1000, "noise": 0.1, "random_state": 1,
                    "n_train": 800},
        "model": {"layers": _layers(512, 512)},
        "fit": {"epochs": 40, "batch_size": 32},
    },
}  # fmt: skip
COMPILE = {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]}


def spec_of(name: str, seed: int, scale: float) -> ExperimentSpec:
    raw = WORKLOADS[name] | {"compile": COMPILE}
    fit = raw["fit"] | {"seed": seed, "epochs": max(1, round(raw["fit"]["epochs"] * scale))}
    return ExperimentSpec.model_validate(raw | {"fit": fit})


def _job(name: str) -> Job:
    # As a worker's default: chunks of about a second, the first one epoch.
    return Job(name, lambda rows: EpochState.OK, lambda: EpochState.OK, 1.0, 60.0)


def _pairs(model: keras.Model, spec: ExperimentSpec, data: LoadedData) -> tuple[Any, Any]:
    output, loss = tuple(model.output_shape), spec.compile.loss
    assert data.validation is not None
    x_val, y_val = data.validation
    return (
        (data.x_train, shape_targets(data.y_train, output, loss)),
        (x_val, shape_targets(y_val, output, loss)),
    )


def _model(spec: ExperimentSpec, data: LoadedData) -> keras.Model:
    keras.utils.set_random_seed(spec.fit.seed)
    return build_model(spec, data.input_shape)


def alone(specs: list[ExperimentSpec], data: LoadedData) -> tuple[float, float]:
    """(seconds, of which compiling) for each spec's fit alone, one after another."""
    compiling, started = 0.0, time.perf_counter()
    for spec in specs:
        model = _model(spec, data)
        fit = CompiledFit(model, spec, *_pairs(model, spec, data))
        compiling += fit.prepare().compile_seconds
        fit.run(0, _job("alone"))
    return time.perf_counter() - started, compiling


def packed(specs: list[ExperimentSpec], data: LoadedData) -> tuple[float, float]:
    """(seconds, of which compiling) for the specs' fits as one pack."""
    started = time.perf_counter()
    models = [_model(spec, data) for spec in specs]
    fit = PackedFit(models, specs[0], SEEDS[: len(specs)], *_pairs(models[0], specs[0], data))
    compiling = fit.prepare().compile_seconds
    fit.run([0] * len(specs), [_job(f"lane-{i}") for i in range(len(specs))], _ignore)
    return time.perf_counter() - started, compiling


def _ignore(index: int, end: Any) -> None:
    """The bench keeps nothing of a lane's end."""


def measure(name: str, repeats: int, scale: float) -> None:
    specs = [spec_of(name, seed, scale) for seed in SEEDS]
    data = load_uncached(specs[0].dataset)
    sides: dict[str, Callable[[], tuple[float, float]]] = {
        "one": lambda: alone(specs[:1], data),
        "packed": lambda: packed(specs, data),
        "sequential": lambda: alone(specs, data),
    }
    seconds: dict[str, list[float]] = {side: [] for side in SIDES}
    for run in range(repeats + 1):
        order = SIDES[run % 3 :] + SIDES[: run % 3]  # each side first in turn
        for side in order:
            took, compiling = sides[side]()
            if run == 0:
                print(f"{name} {side} first run: {took:.2f} s, {compiling:.2f} s compiling")
            else:
                seconds[side].append(took)
    medians = {side: statistics.median(values) for side, values in seconds.items()}
    epochs = specs[0].fit.epochs
    print(f"{name} ({epochs} epochs), medians of {repeats} warm runs:")
    for side in SIDES:
        ratio = medians[side] / medians["one"]
        print(f"  {side:<10} {medians[side]:7.2f} s  x{ratio:.2f} of one run alone")
    print(f"  packed / sequential: x{medians['packed'] / medians['sequential']:.2f}", flush=True)


if __name__ == "__main__":
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    print(f"jax {jax.__version__} on {jax.default_backend()}, keras {keras.__version__}")
    for workload in WORKLOADS:
        measure(workload, repeats, scale)
