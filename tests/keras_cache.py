"""Small stand-ins for the keras.datasets files, written in Keras's own cache formats (the
tests have no network): imdb.npz, mnist.npz, CIFAR-10 batches. One random generator for them
all, and for the tests that draw beside them."""

import pickle
from pathlib import Path
from typing import Any

import numpy as np

RNG = np.random.default_rng(7)


def ragged(sequences: list[list[Any]]) -> np.ndarray:
    """An object array of plain int lists, as imdb.npz and reuters.npz hold."""
    array = np.empty(len(sequences), dtype=object)
    for i, sequence in enumerate(sequences):
        array[i] = sequence
    return array


def random_reviews(n: int) -> np.ndarray:
    return ragged([RNG.integers(1, 60, RNG.integers(0, 15)).tolist() for _ in range(n)])


def write_imdb(folder: Path, train: list[list[int]], test: list[list[int]]) -> None:
    np.savez(
        folder / "imdb.npz",
        x_train=ragged(train), y_train=np.arange(len(train)) % 2,
        x_test=ragged(test), y_test=np.arange(len(test)) % 2,
    )  # fmt: skip


def write_mnist(folder: Path, n_train: int = 5, n_test: int = 3) -> None:
    pixels = RNG.integers(0, 256, (n_train + n_test, 28, 28), dtype=np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = 255, 51
    labels = np.arange(n_train + n_test, dtype=np.uint8) % 10
    np.savez(
        folder / "mnist.npz",
        x_train=pixels[:n_train], y_train=labels[:n_train],
        x_test=pixels[n_train:], y_test=labels[n_train:],
    )  # fmt: skip


def write_cifar_batch(path: Path, n: int, first_pixel: tuple[int, int, int]) -> None:
    data = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
    data[0, [0, 1024, 2048]] = first_pixel  # the R, G and B planes of pixel (0, 0)
    batch = {b"batch_label": b"batch", b"labels": list(range(n)), b"data": data}
    # Name numpy as the (numpy 1, Python 2) real files do; protocol 3 writes names as text.
    raw = pickle.dumps(batch, protocol=3)
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
