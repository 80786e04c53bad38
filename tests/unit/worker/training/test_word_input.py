"""Multi-hot text as word indices into WordDense: the same rows, the same sums and gradients
as the dense matmul, the same curves through the worker, and a download and checkpoints that
plain Keras and either input load.

This module runs on the suite's Keras backend (TensorFlow: the numba loops behind
tf.numpy_function) and again on JAX (behind jax.pure_callback) from
tests/e2e/test_word_input_on_jax.py."""

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from models import artifacts
from tests.unit.worker.training.imdb_words import (
    DENSE_FIRST,
    IMDB,
    raw_spec,
    spec_of,
    write_imdb,
)
from tests.worker_run import run_spec, stored_copy
from worker.training import datasets_keras as dk
from worker.training import run as run_module
from worker.training import word_kernels
from worker.training.build import build_model, downloadable
from worker.training.checkpoint import restore_from_store, save_to_store
from worker.training.data import load_dataset
from worker.training.sparse_input import InputEncoding
from worker.training.word_bag import gathered_word_bag
from worker.training.word_dense import WordDense

RNG = np.random.default_rng(5)


def random_words(rows: int, vocabulary: int) -> tuple[np.ndarray, np.ndarray]:
    """-1 padded word rows (some empty, one full) and the 0/1 rows they stand for."""
    dense = (RNG.random((rows, vocabulary)) < 0.2).astype(np.float32)
    dense[0] = 0.0
    dense[1] = 1.0
    width = int(dense.sum(axis=1).max())
    words = np.full((rows, width), -1, dtype=np.int32)
    for r in range(rows):
        present = np.flatnonzero(dense[r])
        words[r, : present.size] = present
    return words, dense


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_kernels_equal_the_dense_matmul_and_its_gradient(dtype: type) -> None:
    words, dense = random_words(37, 23)
    kernel: np.ndarray = RNG.normal(size=(23, 5)).astype(dtype)
    grad: np.ndarray = RNG.normal(size=(37, 5)).astype(dtype)
    for array in (kernel, grad, words):  # as JAX hands them to the callback
        array.flags.writeable = False
    sums = word_kernels.word_sums(kernel, words)
    assert sums.dtype == dtype and sums.shape == (37, 5)
    np.testing.assert_allclose(sums, dense.astype(dtype) @ kernel, rtol=1e-5, atol=1e-6)
    assert not sums[0].any()  # an empty review sums to zeros
    gradient = word_kernels.kernel_gradient(grad, words, 23)
    np.testing.assert_allclose(gradient, dense.T.astype(dtype) @ grad, rtol=1e-5, atol=1e-5)
    # One fixed order per sum: the same numbers every time.
    np.testing.assert_array_equal(word_kernels.kernel_gradient(grad, words, 23), gradient)


def test_the_keras_ops_version_equals_the_dense_matmul() -> None:
    # What a torch worker's WordDense would compute (no worker chooses word indices there).
    words, dense = random_words(9, 11)
    kernel = RNG.normal(size=(11, 4)).astype(np.float32)
    sums = keras.ops.convert_to_numpy(gathered_word_bag(kernel, words))
    np.testing.assert_allclose(sums, dense @ kernel, rtol=1e-5, atol=1e-6)


def test_word_rows_are_the_multi_hot_rows(keras_files: Path) -> None:
    write_imdb(keras_files, 50, 30)
    spec = dk.ImdbDataset(name="imdb", num_words=40)
    words, dense = dk.imdb(spec, encoding="words"), dk.imdb(spec)
    assert words.width == 40 and dense.width is None
    for x, rows in [(words.x_train, dense.x_train), (words.x_test, dense.x_test)]:
        assert isinstance(x, np.ndarray) and x.dtype == np.int32
        assert isinstance(rows, np.ndarray)
        back = np.zeros_like(rows)
        for r, row in enumerate(x):
            present = row[row >= 0]
            assert (np.diff(present) > 0).all() and (row[present.size :] == -1).all()
            back[r, present] = 1.0
        np.testing.assert_array_equal(back, rows)
        assert x.shape[1] == int(rows.sum(axis=1).max())  # padded to the longest row only


def test_word_rows_go_through_load_dataset_with_the_multi_hot_width(
    keras_files: Path,
) -> None:
    write_imdb(keras_files, 50, 30)
    spec = dk.ImdbDataset(name="imdb", num_words=40, max_train_samples=20)
    words = load_dataset(spec, encoding="words")
    assert load_dataset(spec, encoding="words") is words  # cached apart from the dense rows
    assert load_dataset(spec) is not words
    assert words.input_shape == (40,) and len(words.x_train) == 20


def test_word_dense_starts_from_the_dense_weights_and_computes_the_same() -> None:
    spec = spec_of(IMDB, [DENSE_FIRST[0] | {"kernel_regularizer": {"l2": 0.01}}, DENSE_FIRST[1]])
    keras.utils.set_random_seed(3)
    words_model = build_model(spec, (40,), encoding="words")
    keras.utils.set_random_seed(3)
    dense_model = build_model(spec, (40,))
    assert isinstance(words_model.layers[0], WordDense)
    for a, b in zip(words_model.get_weights(), dense_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    words, dense = random_words(16, 40)
    np.testing.assert_allclose(
        words_model.predict(words, verbose=0), dense_model.predict(dense, verbose=0), rtol=1e-5
    )
    # The L2 penalty is on the same kernel.
    assert float(sum(words_model.losses)) == pytest.approx(float(sum(dense_model.losses)))


def run_to_the_end(spec: dict[str, Any]) -> tuple[int, list[dict[str, float]], Any]:
    experiment, rows = run_spec(spec)
    return experiment.id, [row.metrics for row in rows], experiment


def test_a_word_index_fit_draws_the_dense_fit_curves(
    sqlite_db: str,
    keras_files: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    write_imdb(keras_files, 200, 80)
    layers = [DENSE_FIRST[0] | {"kernel_regularizer": {"l2": 0.001}}, DENSE_FIRST[1]]
    spec = raw_spec(IMDB, layers, epochs=4, seed=5)
    monkeypatch.setattr(run_module, "input_encoding", lambda *a, **k: "words")
    words_id, words_rows, words_run = run_to_the_end(spec)
    monkeypatch.setattr(run_module, "input_encoding", lambda *a, **k: "dense")
    dense_id, dense_rows, dense_run = run_to_the_end(spec)

    assert words_run.status == dense_run.status == "succeeded", words_run.error
    assert len(words_rows) == len(dense_rows) == 4
    for words_epoch, dense_epoch in zip(words_rows, dense_rows, strict=True):
        assert words_epoch == pytest.approx(dense_epoch, rel=1e-4, abs=1e-6)
    assert words_rows[-1]["loss"] < words_rows[0]["loss"]  # it did train

    # The download is plain Keras: a Dense over dense multi-hot rows, optimizer state kept.
    words_file = stored_copy(artifacts.final_model_key(words_id), tmp_path / "words")
    dense_file = stored_copy(artifacts.final_model_key(dense_id), tmp_path / "dense")
    words_model = keras.models.load_model(words_file)
    dense_model = keras.models.load_model(dense_file)
    assert [type(layer) for layer in words_model.layers] == [keras.layers.Dense] * 2
    rows = load_dataset(spec_of(IMDB, layers).dataset).x_train[:16]
    np.testing.assert_allclose(
        words_model.predict(rows, verbose=0), dense_model.predict(rows, verbose=0), rtol=1e-4
    )
    assert int(words_model.optimizer.iterations) == int(dense_model.optimizer.iterations) > 0


def test_a_checkpoint_of_a_word_index_fit_resumes_either_way(
    sqlite_db: str,
    keras_files: Path,
) -> None:
    # Checkpoints are saved as the download is (a plain Dense), so a job reclaimed by a
    # worker with another backend, so with another input, resumes from them.
    write_imdb(keras_files, 60, 10)
    spec = spec_of(IMDB, DENSE_FIRST)
    data = load_dataset(spec.dataset, encoding="words")
    trained = build_model(spec, data.input_shape, encoding="words")
    trained.fit(data.x_train, data.y_train.reshape(-1, 1), epochs=2, verbose=0)
    key = artifacts.checkpoint_key(1, 2)
    save_to_store(downloadable(trained, spec), key)
    expected = trained.predict(data.x_train, verbose=0)
    dense_rows = load_dataset(spec.dataset).x_train
    inputs: list[tuple[InputEncoding, Any]] = [("words", data.x_train), ("dense", dense_rows)]
    for encoding, rows in inputs:
        fresh = build_model(spec, data.input_shape, encoding=encoding)
        restore_from_store(fresh, key, saved_as=lambda m: downloadable(m, spec))
        np.testing.assert_allclose(fresh.predict(rows, verbose=0), expected, rtol=1e-5)
        assert int(fresh.optimizer.iterations) == int(trained.optimizer.iterations) > 0
