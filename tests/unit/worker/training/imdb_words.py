"""IMDB-shaped word-index files and the small specs that fit them, shared by the multi-hot input
tests (test_sparse_input.py, test_word_input.py)."""

from pathlib import Path
from typing import Any

import numpy as np

from models.spec import ExperimentSpec

RNG = np.random.default_rng(11)
IMDB = {"name": "imdb", "num_words": 40}
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


def write_imdb(folder: Path, n_train: int, n_test: int, words: int = 60, length: int = 30) -> None:
    x_train, x_test = reviews(n_train, words, length), reviews(n_test, words, length)
    # A label that depends on the words, so fits on the file have something to learn.
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
