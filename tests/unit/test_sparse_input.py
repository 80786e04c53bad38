"""Which multi-hot input a worker chooses; and scipy CSR rows on TensorFlow (no longer chosen,
but built and fitted by bench/multihot.py): the same rows as the dense float32 encoding, built
without a dense matrix, trained to the same curves, saved as a model that takes dense rows."""

import tracemalloc
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import scipy.sparse

from models import artifacts
from models.spec import ExperimentSpec
from models.tables import Experiment
from tests.worker_run import run_spec
from worker.training import data as data_module
from worker.training import datasets_keras as dk
from worker.training import run as run_module
from worker.training.build import build_model
from worker.training.checkpoint import restore, save_atomically
from worker.training.data import LoadedData, RawSplits, load_dataset
from worker.training.sparse_input import InputEncoding, input_encoding

RNG = np.random.default_rng(11)
ON_TENSORFLOW = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="sparse input is TensorFlow's path"
)
DENSE_FIRST = [
    {"type": "Dense", "units": 8, "activation": "relu"},
    {"type": "Dense", "units": 1, "activation": "sigmoid"},
]


def reviews(n: int, words: int, length: int) -> np.ndarray:
    """Ragged word-index lists as imdb.npz holds them; repeats and words past num_words
    included, and some empty reviews."""
    array = np.empty(n, dtype=object)
    for i in range(n):
        array[i] = RNG.integers(1, words, RNG.integers(0, length)).tolist()
    return array


def as_csr(x: Any) -> Any:
    """`x`, checked to be a float32 CSR matrix (scipy has no type hints for mypy to narrow)."""
    assert isinstance(x, scipy.sparse.csr_matrix) and x.dtype == np.float32
    return x


def write_imdb(folder: Path, n_train: int, n_test: int, words: int = 60, length: int = 30) -> None:
    x_train, x_test = reviews(n_train, words, length), reviews(n_test, words, length)
    # A label that depends on the words, so the fits below have something to learn.
    y_train = np.array([int(7 in r or 9 in r) for r in x_train])
    y_test = np.array([int(7 in r or 9 in r) for r in x_test])
    np.savez(folder / "imdb.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def raw_spec(dataset: dict[str, Any], layers: list[dict[str, Any]], **fit: Any) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "model": {"layers": layers},
        "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": 1, "batch_size": 16} | fit,
    }


def spec_of(dataset: dict[str, Any], layers: list[dict[str, Any]]) -> ExperimentSpec:
    return ExperimentSpec.model_validate(raw_spec(dataset, layers))


IMDB = {"name": "imdb", "num_words": 40}


WIDE = [DENSE_FIRST[0] | {"units": 512}, DENSE_FIRST[1]]


@pytest.mark.parametrize(
    ("dataset", "layers", "backend", "encoding"),
    [
        # Word indices into WordDense on JAX and TensorFlow, however wide the layer.
        (IMDB, DENSE_FIRST, "tensorflow", "words"),
        ({"name": "reuters"}, DENSE_FIRST, "tensorflow", "words"),
        (IMDB, WIDE, "tensorflow", "words"),
        (IMDB, DENSE_FIRST, "jax", "words"),
        (IMDB, WIDE, "jax", "words"),
        ({"name": "reuters"}, DENSE_FIRST, "jax", "words"),
        (IMDB, DENSE_FIRST, "torch", "dense"),  # keras.ops' gather path is not tuned
        (IMDB, [{"type": "Dropout", "rate": 0.2}, *DENSE_FIRST], "tensorflow", "dense"),
        (IMDB, [{"type": "Dropout", "rate": 0.2}, *DENSE_FIRST], "jax", "dense"),
        (IMDB, [{"type": "BatchNormalization"}, *DENSE_FIRST], "tensorflow", "dense"),
        (IMDB | {"encoding": "sequence"}, DENSE_FIRST, "tensorflow", "dense"),  # int32 indices
        (IMDB | {"encoding": "sequence"}, DENSE_FIRST, "jax", "dense"),
        ({"name": "mnist"}, DENSE_FIRST, "tensorflow", "dense"),
        ({"name": "circles"}, DENSE_FIRST, "jax", "dense"),
    ],
)
def test_multi_hot_into_a_first_dense_gets_word_indices_on_jax_and_tensorflow(
    dataset: dict[str, Any], layers: list[dict[str, Any]], backend: str, encoding: str
) -> None:
    assert input_encoding(spec_of(dataset, layers), backend) == encoding


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_on_a_gpu_the_rows_stay_dense(backend: str) -> None:
    # The numba loops run on the host: on a GPU the kernel would cross over every step.
    assert input_encoding(spec_of(IMDB, DENSE_FIRST), backend, on_cpu=False) == "dense"


@pytest.mark.parametrize("name", ["imdb", "reuters"])
def test_csr_equals_the_dense_float32_multi_hot(keras_files: Path, name: str) -> None:
    def load(sparse: bool) -> RawSplits:
        encoding: InputEncoding = "csr" if sparse else "dense"
        if name == "imdb":
            return dk.imdb(dk.ImdbDataset(name="imdb", num_words=40), encoding)
        return dk.reuters(dk.ReutersDataset(name="reuters", num_words=40), encoding)

    write_imdb(keras_files, 50, 30)
    np.savez(keras_files / "reuters.npz", x=reviews(40, 60, 30), y=np.arange(40) % 46)
    dense, sparse = load(False), load(True)
    for x, array in [(sparse.x_train, dense.x_train), (sparse.x_test, dense.x_test)]:
        csr = as_csr(x)
        assert csr.has_canonical_format and set(csr.data) == {1.0}
        np.testing.assert_array_equal(csr.toarray(), array)
    np.testing.assert_array_equal(sparse.y_train, dense.y_train)


def test_building_the_csr_stays_far_under_the_dense_size(keras_files: Path) -> None:
    write_imdb(keras_files, 4000, 1, words=20_000, length=120)
    spec = dk.ImdbDataset(name="imdb", num_words=20_000)
    tracemalloc.start()
    try:
        raw = dk.imdb(spec, encoding="csr")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dense_bytes = 4000 * 20_000 * 4  # the float32 matrix: 320 MB
    assert raw.x_train.shape == (4000, 20_000)
    # The file's Python lists and the index arrays (about 15 MB here), never a row of zeros.
    assert peak < dense_bytes / 10, peak


def test_csr_goes_through_load_dataset_and_the_cache(keras_files: Path) -> None:
    write_imdb(keras_files, 50, 30)
    spec = dk.ImdbDataset(name="imdb", num_words=40, max_train_samples=20, max_test_samples=10)
    sparse, dense = load_dataset(spec, encoding="csr"), load_dataset(spec)
    assert load_dataset(spec, encoding="csr") is sparse  # cached apart from the dense rows
    assert isinstance(dense.x_train, np.ndarray)
    assert sparse.input_shape == dense.input_shape == (40,)
    assert sparse.validation is not None and dense.validation is not None
    x, x_val = as_csr(sparse.x_train), as_csr(sparse.validation[0])
    np.testing.assert_array_equal(x_val.toarray(), dense.validation[0])
    assert x.shape == (20, 40) and x_val.shape == (10, 40)
    # The cache's byte bound counts what the CSR matrices hold (labels: int32).
    held = sum(a.nbytes for m in (x, x_val) for a in (m.data, m.indices, m.indptr))
    assert sparse.nbytes == held + (20 + 10) * 4 < dense.nbytes
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 2.0


def test_a_dataset_without_sparse_encoding_says_so() -> None:
    circles = spec_of({"name": "circles"}, DENSE_FIRST).dataset
    with pytest.raises(ValueError, match="'circles' has no csr encoding"):
        data_module.load_uncached(circles, encoding="csr")


def run_to_the_end(spec: dict[str, Any]) -> tuple[int, list[dict[str, float]], Experiment]:
    experiment, rows = run_spec(spec)
    return experiment.id, [row.metrics for row in rows], experiment


@ON_TENSORFLOW
@pytest.mark.parametrize(
    ("test_split", "validation_split"), [("validation", None), ("evaluation", 0.25)]
)
def test_a_sparse_fit_draws_the_dense_fit_curves(
    sqlite_db: str,
    keras_files: Path,
    monkeypatch: pytest.MonkeyPatch,
    test_split: str,
    validation_split: float | None,
) -> None:
    write_imdb(keras_files, 200, 80)
    dataset = IMDB | {"test_split": test_split}
    spec = raw_spec(dataset, DENSE_FIRST, epochs=4, seed=5, validation_split=validation_split)
    loaded: list[LoadedData] = []

    def recording(*args: Any, **kwargs: Any) -> LoadedData:
        loaded.append(load_dataset(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(run_module, "load_dataset", recording)
    monkeypatch.setattr(run_module, "input_encoding", lambda *a, **k: "csr")
    sparse_id, sparse_rows, sparse_run = run_to_the_end(spec)
    monkeypatch.setattr(run_module, "input_encoding", lambda *a, **k: "dense")
    dense_id, dense_rows, dense_run = run_to_the_end(spec)

    assert scipy.sparse.issparse(loaded[0].x_train) and isinstance(loaded[1].x_train, np.ndarray)
    assert sparse_run.status == dense_run.status == "succeeded", sparse_run.error
    assert len(sparse_rows) == len(dense_rows) == 4
    assert sparse_rows[0].keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for sparse_epoch, dense_epoch in zip(sparse_rows, dense_rows, strict=True):
        assert sparse_epoch == pytest.approx(dense_epoch, rel=1e-4, abs=1e-6)
    assert sparse_rows[-1]["loss"] < sparse_rows[0]["loss"]  # it did train
    if test_split == "evaluation":
        assert sparse_run.test_metrics == pytest.approx(dense_run.test_metrics, rel=1e-4)
        assert sparse_run.test_metrics is not None

    # The download: plain Keras loads it, and it predicts on dense multi-hot rows.
    sparse_model = keras.models.load_model(artifacts.final_model_path(sparse_id))
    dense_model = keras.models.load_model(artifacts.final_model_path(dense_id))
    assert not sparse_model.inputs[0].sparse
    rows = loaded[1].x_train[:16]
    np.testing.assert_allclose(
        sparse_model.predict(rows, verbose=0), dense_model.predict(rows, verbose=0), rtol=1e-4
    )
    assert int(sparse_model.optimizer.iterations) == int(dense_model.optimizer.iterations) > 0


@ON_TENSORFLOW
def test_a_checkpoint_of_a_sparse_fit_resumes_dense_or_sparse(
    sqlite_db: str, keras_files: Path
) -> None:
    # A reclaimed job may resume on a worker with another backend, so with the other input.
    write_imdb(keras_files, 60, 10)
    spec = spec_of(IMDB, DENSE_FIRST)
    csr = load_dataset(spec.dataset, encoding="csr")
    trained = build_model(spec, csr.input_shape, encoding="csr")
    y = csr.y_train.reshape(-1, 1)
    trained.fit(csr.x_train, y, epochs=2, verbose=0)
    save_atomically(trained, artifacts.checkpoint_path(1, 2))
    expected = trained.predict(csr.x_train, verbose=0)
    for sparse in (True, False):
        fresh = build_model(spec, csr.input_shape, encoding="csr" if sparse else "dense")
        restore(fresh, artifacts.checkpoint_path(1, 2))
        rows = csr.x_train if sparse else as_csr(csr.x_train).toarray()
        np.testing.assert_allclose(fresh.predict(rows, verbose=0), expected, rtol=1e-5)
