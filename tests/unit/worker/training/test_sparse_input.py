"""Which multi-hot input a worker chooses, and that word-index rows are built without the
dense matrix (their equality to the multi-hot rows, fits and checkpoints: test_word_input.py)."""

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tests.unit.worker.training.imdb_words import DENSE_FIRST, IMDB, spec_of, write_imdb
from worker.training import data as data_module
from worker.training import datasets_keras as dk
from worker.training.sparse_input import input_encoding

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


def test_building_word_rows_stays_far_under_the_dense_size(keras_files: Path) -> None:
    write_imdb(keras_files, 4000, 1, words=20_000, length=120)
    spec = dk.ImdbDataset(name="imdb", num_words=20_000)
    tracemalloc.start()
    try:
        raw = dk.imdb(spec, encoding="words")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dense_bytes = 4000 * 20_000 * 4  # the float32 matrix: 320 MB
    assert raw.width == 20_000 and len(raw.x_train) == 4000
    # The file's Python lists and the index arrays (about 15 MB here), never a row of zeros.
    assert peak < dense_bytes / 10, peak


def test_a_dataset_without_word_rows_says_so() -> None:
    circles = spec_of({"name": "circles"}, DENSE_FIRST).dataset
    with pytest.raises(ValueError, match="'circles' has no words encoding"):
        data_module.load_uncached(circles, encoding="words")
