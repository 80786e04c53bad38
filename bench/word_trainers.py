"""Multi-hot rows as word indices on JAX: model.fit against the compiled trainer, alternating
in one process, on the synthetic IMDB data (bench.imdb_synth), for the notebook's 16-16
baseline and its 512-512 model; dense float32 rows too, for comparison. Each side's first
run includes its compiles (reported, not compared); the next ones are the figures.

    python -m bench.word_trainers FOLDER [EPOCHS]   # FOLDER: where imdb.npz is (or goes)

Figures and the machine are in BENCHMARKS.md, "Multi-hot input"."""

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ["KERAS_BACKEND"] = "jax"

import keras

from bench.imdb_synth import FILE_NAME, write_imdb
from models.spec import ExperimentSpec
from worker.training.build import build_model
from worker.training.compiled.trainer import CompiledFit, Job
from worker.training.data import LoadedData, load_dataset
from worker.training.epoch_store import EpochState
from worker.training.sparse_input import InputEncoding
from worker.training.targets import shape_targets

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("fit", "compiled", "fit", "compiled", "fit", "compiled")


def one_run(spec: ExperimentSpec, data: LoadedData, encoding: InputEncoding, side: str) -> float:
    keras.utils.set_random_seed(1)
    model = build_model(spec, data.input_shape, encoding=encoding)
    output, loss = tuple(model.output_shape), spec.compile.loss
    y = shape_targets(data.y_train, output, loss)
    assert data.validation is not None
    validation = (data.validation[0], shape_targets(data.validation[1], output, loss))
    started = time.perf_counter()
    if side == "fit":
        model.fit(data.x_train, y, validation_data=validation, epochs=spec.fit.epochs,
                  batch_size=spec.fit.batch_size, verbose=0)  # fmt: skip
    else:
        compiled = CompiledFit(model, spec, (data.x_train, y), validation)
        compiled.prepare()
        compiled.run(0, Job("bench", _keep, _beat, 1.0, 60.0))
    return time.perf_counter() - started


def _keep(rows: list[Any]) -> EpochState:
    return EpochState.OK  # the history is not compared here: bench.multihot and tests do that


def _beat() -> EpochState:
    return EpochState.OK


def main(folder: Path, epochs: int) -> None:
    if not (folder / FILE_NAME).exists():
        write_imdb(folder)
    os.environ["FITQ_KERAS_DATASETS_DIR"] = str(folder)
    for name in ("imdb_baseline", "imdb_bigger"):
        raw = json.loads((ROOT / "examples" / f"{name}.json").read_text())
        raw["fit"]["epochs"] = epochs
        spec = ExperimentSpec.model_validate(raw)
        encodings: tuple[InputEncoding, ...] = ("words", "dense")
        for encoding in encodings:
            data = load_dataset(spec.dataset, encoding=encoding)
            for index, side in enumerate(SIDES):
                seconds = one_run(spec, data, encoding, side)
                first = " (first: compiles included)" if index < 2 else ""
                print(f"{name} {encoding} {side}: {seconds:.2f} s{first}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2)
