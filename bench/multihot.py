"""Multi-hot input: build time and peak memory of the notebook's float64 matrix, fitq's dense
float32 rows, fitq's CSR and fitq's word indices; then fit and evaluate time per epoch of
fitq-built models on each input (every fit in its own process, so backends and peak memory
stay apart).

    python -m bench.multihot                 # all of it (about 10 minutes on 2 cores)
    python -m bench.multihot build           # the three encodings only
    python -m bench.multihot fit 16 sparse   # one fit, on this process's KERAS_BACKEND
                                             # (inputs: notebook, dense, sparse, words)

Synthetic rows shaped like IMDB's training split: 25,000 reviews of 100-300 word indices
drawn from a Zipf law (so words repeat within a review), num_words 10,000. Figures and the
machine they came from are in BENCHMARKS.md, "Multi-hot input"."""

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from worker.training.datasets_keras import _multi_hot, _multi_hot_csr, _word_indices, _word_rows

ROWS, NUM_WORDS, BATCH, EPOCHS = 25_000, 10_000, 512, 3
# Labels: does the review hold one of these words (frequent enough to be learnable).
SIGNAL_WORDS = np.arange(40, 60)
# (units, backend, input) of each timed fit; "notebook" is the notebooks' float64 dense rows.
# JAX with CSR is left out (62-67 s an epoch): `KERAS_BACKEND=jax ... fit 16 sparse` runs it.
FITS = [
    (16, "tensorflow", "sparse"), (16, "tensorflow", "dense"), (16, "tensorflow", "notebook"),
    (16, "tensorflow", "words"), (16, "jax", "dense"), (16, "jax", "words"),
    (512, "tensorflow", "sparse"), (512, "tensorflow", "dense"), (512, "tensorflow", "words"),
    (512, "jax", "dense"), (512, "jax", "words"),
]  # fmt: skip
FIT_SECONDS_LIMIT = 900


def reviews(seed: int = 0) -> np.ndarray:
    """Ragged lists of word indices, as keras.datasets.imdb.load_data returns them."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(100, 300, ROWS)
    words = np.minimum(rng.zipf(1.3, int(lengths.sum())), 20_000)
    out = np.empty(ROWS, dtype=object)
    for i, chunk in enumerate(np.split(words, np.cumsum(lengths)[:-1])):
        out[i] = chunk.tolist()
    return out


def notebook_multi_hot(sequences: np.ndarray, dimension: int) -> np.ndarray:
    """The notebooks' vectorize_sequences: np.zeros is float64."""
    results = np.zeros((len(sequences), dimension))
    for i, word_indices in enumerate(sequences):
        results[i, word_indices] = 1.0
    return results


def fitq_dense(sequences: np.ndarray) -> np.ndarray:
    return _multi_hot(*_word_indices(sequences, NUM_WORDS), NUM_WORDS)


def fitq_csr(sequences: np.ndarray) -> Any:
    return _multi_hot_csr(*_word_indices(sequences, NUM_WORDS), NUM_WORDS)


def measured(build: Callable[[], Any]) -> tuple[Any, float, int]:
    """What `build` returns, its seconds (untraced: tracemalloc slows allocation) and the peak
    bytes it allocated (a second, traced run)."""
    started = time.perf_counter()
    build()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        result = build()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def fitq_words(sequences: np.ndarray) -> np.ndarray:
    return _word_rows(*_word_indices(sequences, NUM_WORDS), NUM_WORDS)


def held_bytes(x: Any) -> int:
    if isinstance(x, np.ndarray):
        return x.nbytes
    return int(x.data.nbytes + x.indices.nbytes + x.indptr.nbytes)


def bench_build() -> list[dict[str, Any]]:
    sequences = reviews()
    # What load_data(num_words=...) hands the notebook: rare words already replaced by 2.
    notebook_input = np.empty(ROWS, dtype=object)
    notebook_input[:] = [[w if w < NUM_WORDS else 2 for w in s] for s in sequences]
    rows = []
    for name, build in [
        ("notebook float64 np.zeros", lambda: notebook_multi_hot(notebook_input, NUM_WORDS)),
        ("fitq dense float32", lambda: fitq_dense(sequences)),
        ("fitq CSR float32", lambda: fitq_csr(sequences)),
        ("fitq word indices int32", lambda: fitq_words(sequences)),
    ]:
        x, seconds, peak = measured(build)
        rows.append({"encoding": name, "seconds": seconds, "peak": peak, "held": held_bytes(x)})
        del x
    return rows


def labelled_data(kind: str) -> tuple[Any, np.ndarray]:
    flat, lengths = _word_indices(reviews(), NUM_WORDS)
    starts = np.cumsum(lengths) - lengths
    y = (np.add.reduceat(np.isin(flat, SIGNAL_WORDS + 3), starts) > 0).astype("float32")
    if kind == "sparse":
        return _multi_hot_csr(flat, lengths, NUM_WORDS), y.reshape(-1, 1)
    if kind == "words":
        return _word_rows(flat, lengths, NUM_WORDS), y.reshape(-1, 1)
    x = _multi_hot(flat, lengths, NUM_WORDS)
    return (x.astype(np.float64) if kind == "notebook" else x), y.reshape(-1, 1)


def bench_fit(units: int, kind: str) -> dict[str, Any]:
    """EPOCHS epochs of fit, each followed by an evaluate of the same rows, as one worker runs
    them: the model from fitq's own builder, seeded."""
    import keras

    from models.spec import ExperimentSpec
    from worker.training.build import build_model, compile_args

    x, y = labelled_data(kind)
    dense = {"type": "Dense", "units": units, "activation": "relu"}
    spec = ExperimentSpec.model_validate({
        "dataset": {"name": "imdb", "num_words": NUM_WORDS},
        "model": {"layers": [dense, dense, {"type": "Dense", "units": 1, "activation": "sigmoid"}]},
        "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": EPOCHS, "batch_size": BATCH, "seed": 1},
    })  # fmt: skip
    keras.utils.set_random_seed(1)
    model = build_model(spec, (NUM_WORDS,), encoding="words" if kind == "words" else "dense")
    if kind == "sparse":  # workers no longer take CSR: the same layers behind a sparse input
        model = keras.Sequential([keras.Input((NUM_WORDS,), sparse=True), *model.layers])
        model.compile(**compile_args(spec.compile))
    fit_s, eval_s, losses = [], [], []
    for _ in range(EPOCHS):
        started = time.perf_counter()
        history = model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
        fit_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.evaluate(x, y, batch_size=BATCH, verbose=0)
        eval_s.append(time.perf_counter() - started)
        losses.append(float(history.history["loss"][0]))
    return {
        "backend": keras.backend.backend(),
        "units": units,
        "input": kind,
        "fit_s": fit_s,
        "eval_s": eval_s,
        "loss": losses,
        # Linux reports kilobytes: the whole process, data and Keras included.
        "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def fit_in_subprocess(backend: str, units: int, kind: str) -> dict[str, Any]:
    env = os.environ | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.multihot", "fit", str(units), kind],
        env=env, capture_output=True, text=True, timeout=FIT_SECONDS_LIMIT, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def load_average() -> str:
    return "load average (1, 5, 15 min): " + ", ".join(f"{v:.1f}" for v in os.getloadavg())


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def seconds(values: list[float]) -> str:
    """The first epoch (it traces the graph) and the median of the rest."""
    return f"{values[0]:.2f} / {statistics.median(values[1:]):.2f}"


def build_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| encoding | build s | peak allocated | result holds |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['encoding']} | {r['seconds']:.2f} | {mb(r['peak'])} | {mb(r['held'])} |"
        )
    return "\n".join(lines)


def fit_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model | backend | input | fit s (epoch 1 / median 2-3) | evaluate s | "
        "loss per epoch | peak RSS |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    for r in rows:
        loss = ", ".join(f"{v:.4f}" for v in r["loss"])
        lines.append(
            f"| {r['units']}-{r['units']}-1 | {r['backend']} | {r['input']} | "
            f"{seconds(r['fit_s'])} | {seconds(r['eval_s'])} | {loss} | {mb(r['max_rss'])} |"
        )
    return "\n".join(lines)


def main(args: list[str]) -> None:
    if args[:1] == ["fit"]:
        print(json.dumps(bench_fit(int(args[1]), args[2])))
        return
    # The machine is shared: the load average says how much the figures may be inflated.
    print(load_average(), flush=True)
    print(build_table(bench_build()), flush=True)
    if args[:1] == ["build"]:
        return
    fits = [fit_in_subprocess(backend, units, kind) for units, backend, kind in FITS]
    print()
    print(fit_table(fits))
    print(load_average())


if __name__ == "__main__":
    main(sys.argv[1:])
