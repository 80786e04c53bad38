"""The keras.datasets loaders on small files written in Keras's own cache formats, offline."""

import datetime
import gzip
import os
import socket
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from models.settings import get_settings
from models.spec_datasets import (
    BostonHousingDataset,
    Cifar10Dataset,
    ImdbDataset,
    MnistDataset,
    ReutersDataset,
)
from tests.keras_cache import (
    RNG,
    ragged,
    random_reviews,
    write_cifar_batch,
    write_imdb,
    write_mnist,
)
from worker.training import datasets_keras as dk
from worker.training.data import RawSplits, load_dataset, registered

REAL_DOWNLOAD = dk._download  # the cache fixture replaces it with a recorder


@pytest.fixture
def cache(keras_files: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """keras_files (an empty cache folder, downloads off), and a record of any download
    attempt."""
    attempts: list[str] = []
    monkeypatch.setattr(dk, "_download", lambda fname, *a, **k: attempts.append(fname))
    yield keras_files
    assert attempts == [], "a download was tried although downloads are off"


@dataclass(frozen=True)
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def splits(raw: RawSplits) -> Splits:
    """A loader's result, with the test split that every keras dataset has."""
    assert raw.x_test is not None and raw.y_test is not None
    return Splits(raw.x_train, raw.y_train, raw.x_test, raw.y_test)


def assert_matches_spec(raw: Splits, spec: Any) -> None:
    assert raw.x_train.shape[1:] == raw.x_test.shape[1:] == spec.input_shape


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        # start 1, 5+3=8, 4+3=7, 20+3=23 >= num_words -> oov 2
        ("multi_hot", [[0, 1, 1, 0, 0, 0, 0, 1, 1, 0]]),
        ("sequence", [[0, 0, 1, 8, 7, 2]]),
    ],
)
def test_imdb_applies_keras_offsets_and_the_num_words_cut(
    cache: Path, encoding: str, expected: list[list[int]]
) -> None:
    write_imdb(cache, train=[[5, 4, 20]], test=[[1]])
    spec = ImdbDataset(name="imdb", num_words=10, encoding=encoding, maxlen=6)
    raw = splits(dk.imdb(spec))
    assert raw.x_train.tolist() == expected
    assert raw.x_train.dtype == (np.float32 if encoding == "multi_hot" else np.int32)
    assert raw.y_train.dtype == np.int32 and raw.y_train.shape == (1,)
    assert_matches_spec(raw, spec)


def test_sequences_are_padded_and_truncated_at_the_start(cache: Path) -> None:
    write_imdb(cache, train=[[5, 6]], test=[[1, 2, 3, 4, 5, 6]])
    raw = splits(dk.imdb(ImdbDataset(name="imdb", num_words=100, encoding="sequence", maxlen=4)))
    assert raw.x_train.tolist() == [[0, 1, 8, 9]]
    assert raw.x_test.tolist() == [[6, 7, 8, 9]]  # keras pad_sequences keeps the last words


@pytest.mark.parametrize("name", ["imdb", "reuters"])
def test_text_loaders_equal_keras_load_data(
    cache: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # keras's own loader, pointed at the same small file (its download and hash check skipped)
    if name == "imdb":
        np.savez(
            cache / "imdb.npz", x_train=random_reviews(30), y_train=np.arange(30) % 2,
            x_test=random_reviews(20), y_test=np.arange(20) % 2,
        )  # fmt: skip
    else:
        np.savez(cache / "reuters.npz", x=random_reviews(37), y=np.arange(37) % 46)
    path = str(cache / f"{name}.npz")
    monkeypatch.setattr(f"keras.src.datasets.{name}.get_file", lambda *a, **k: path)
    (kx_train, ky_train), (kx_test, ky_test) = getattr(keras.datasets, name).load_data(num_words=30)
    spec_type = ImdbDataset if name == "imdb" else ReutersDataset
    loader = getattr(dk, name)
    hot = splits(loader(spec_type(name=name, num_words=30)))
    seq = splits(loader(spec_type(name=name, num_words=30, encoding="sequence", maxlen=8)))
    for x, multi_hot, padded in [
        (kx_train, hot.x_train, seq.x_train),
        (kx_test, hot.x_test, seq.x_test),
    ]:
        reference = np.zeros((len(x), 30))  # the notebooks' multi-hot loop
        for i, indices in enumerate(x):
            reference[i, indices] = 1.0
        np.testing.assert_array_equal(multi_hot, reference)
        np.testing.assert_array_equal(padded, keras.utils.pad_sequences(list(x), maxlen=8))
    np.testing.assert_array_equal(hot.y_train, ky_train)
    np.testing.assert_array_equal(hot.y_test, ky_test)


def test_multi_hot_is_built_in_float32_without_a_float64_matrix(cache: Path) -> None:
    write_imdb(cache, train=RNG.integers(1, 5000, (2000, 40)).tolist(), test=[[1]])
    spec = ImdbDataset(name="imdb", num_words=5000)
    tracemalloc.start()
    try:
        raw = splits(dk.imdb(spec))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert raw.x_train.dtype == np.float32 and raw.x_train.shape == (2000, 5000)
    # A float64 (2000 x 5000) intermediate alone would be twice the result (80 MB).
    assert peak < 1.3 * raw.x_train.nbytes, peak
    assert set(np.unique(raw.x_train)) == {0.0, 1.0}


@pytest.mark.parametrize(("fmt", "shape"), [("flat", (784,)), ("image", (28, 28, 1))])
def test_mnist_is_scaled_to_float32_in_the_spec_shape(
    cache: Path, fmt: str, shape: tuple[int, ...]
) -> None:
    write_mnist(cache)
    spec = MnistDataset(name="mnist", format=fmt)
    raw = splits(dk.mnist(spec))
    assert raw.x_train.shape == (5, *shape) and raw.x_test.shape == (3, *shape)
    assert raw.x_train.dtype == np.float32 and 0.0 <= raw.x_train.min() <= raw.x_train.max() <= 1.0
    first = raw.x_train[0].reshape(-1)
    assert first[0] == 1.0 and first[1] == np.float32(51) / 255
    assert raw.y_train.tolist() == [0, 1, 2, 3, 4] and raw.y_test.dtype == np.int32
    assert_matches_spec(raw, spec)


def test_fashion_mnist_reads_the_four_idx_files(cache: Path) -> None:
    folder = cache / "fashion-mnist"
    folder.mkdir()
    images = RNG.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    for split, n, rows in [("train", 4, images[:4]), ("t10k", 2, images[4:])]:
        with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(np.array([2049, n], ">u4").tobytes() + bytes(range(n)))
        with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(np.array([2051, n, 28, 28], ">u4").tobytes() + rows.tobytes())
    raw = splits(dk.mnist(MnistDataset(name="fashion_mnist", format="image")))
    np.testing.assert_array_equal(raw.x_test[..., 0], images[4:] / np.float32(255))
    assert raw.x_train.shape == (4, 28, 28, 1) and raw.y_test.tolist() == [0, 1]


@pytest.mark.parametrize("layout", dk.CIFAR10_DIRS)
def test_cifar10_batches_are_channels_last(cache: Path, layout: str) -> None:
    folder = cache / layout
    folder.mkdir(parents=True)
    for i in range(1, 6):
        write_cifar_batch(folder / f"data_batch_{i}", 2, (255, 0, 51))
    write_cifar_batch(folder / "test_batch", 3, (0, 255, 0))
    image = splits(dk.cifar10(Cifar10Dataset(name="cifar10", format="image")))
    flat = splits(dk.cifar10(Cifar10Dataset(name="cifar10")))
    assert image.x_train.shape == (10, 32, 32, 3) and flat.x_test.shape == (3, 3072)
    assert image.x_train[0, 0, 0].tolist() == [1.0, 0.0, np.float32(51) / 255]
    assert image.x_test[0, 0, 0].tolist() == [0.0, 1.0, 0.0]
    np.testing.assert_array_equal(flat.x_train, image.x_train.reshape(10, -1))
    assert image.y_train.tolist() == [0, 1] * 5 and image.y_test.shape == (3,)
    assert image.y_train.dtype == np.int32


def test_boston_housing_is_shuffled_and_split_like_keras(cache: Path) -> None:
    x, y = RNG.normal(size=(20, 13)), np.arange(20.0)
    np.savez(cache / "boston_housing.npz", x=x, y=y)
    raw = splits(dk.boston_housing(BostonHousingDataset(name="boston_housing")))
    order = np.arange(20)
    np.random.RandomState(113).shuffle(order)  # keras: seed 113, the last 20% test
    np.testing.assert_array_equal(raw.x_train, x[order[:16]].astype(np.float32))
    np.testing.assert_array_equal(raw.y_test, y[order[16:]].astype(np.float32))
    assert raw.x_train.dtype == raw.y_train.dtype == np.float32
    data = load_dataset(BostonHousingDataset(name="boston_housing", max_train_samples=10))
    assert data.x_train.shape == (10, 13) and data.validation is not None
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0.0, atol=1e-5)  # standardized


def test_max_samples_and_test_split_work_through_load_dataset(cache: Path) -> None:
    write_imdb(cache, train=[[i] for i in range(1, 8)], test=[[i] for i in range(1, 6)])
    spec = ImdbDataset(
        name="imdb", num_words=50, max_train_samples=3, max_test_samples=2, test_split="evaluation"
    )
    data = load_dataset(spec)
    assert data.x_train.shape == (3, 50) and data.y_train.shape == (3,)
    assert data.validation is None and data.test is not None and data.test[0].shape == (2, 50)
    write_mnist(cache, n_train=6, n_test=4)
    data = load_dataset(MnistDataset(name="mnist", max_train_samples=2, format="image"))
    assert data.input_shape == (28, 28, 1) and len(data.x_train) == 2
    assert data.validation is not None and len(data.validation[0]) == 4


@pytest.mark.parametrize(
    ("spec", "wanted"),
    [
        (ImdbDataset(name="imdb"), "imdb.npz (from https://storage.googleapis.com/"),
        (ReutersDataset(name="reuters"), "reuters.npz"),
        (MnistDataset(name="mnist"), "mnist.npz"),
        (MnistDataset(name="fashion_mnist"), "train-images-idx3-ubyte.gz"),
        (Cifar10Dataset(name="cifar10"), "cifar-10-python.tar.gz"),
        (BostonHousingDataset(name="boston_housing"), "boston_housing.npz"),
    ],
)
def test_a_missing_file_fails_at_once_naming_file_and_folder(
    cache: Path, spec: Any, wanted: str
) -> None:
    with pytest.raises(dk.DatasetUnavailableError) as failure:
        load_dataset(spec)
    message = str(failure.value)
    assert f"keras dataset '{spec.name}' is not available offline" in message
    assert wanted in message and f" in {cache};" in message
    assert "FITQ_DATASET_DOWNLOADS=false" in message and "Traceback" not in message


def test_a_failed_download_is_reported_and_the_socket_timeout_restored(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITQ_DATASET_DOWNLOADS", "true")
    get_settings.cache_clear()
    timeouts: list[float | None] = []

    def unreachable(fname: str, origin: str, *args: Any, **kwargs: Any) -> None:
        timeouts.append(socket.getdefaulttimeout())
        raise Exception(f"URL fetch failure on {origin}: None -- no route\nTraceback (most...")

    monkeypatch.setattr(dk, "_download", unreachable)
    with pytest.raises(dk.DatasetUnavailableError, match="download failed: URL fetch") as failure:
        dk.mnist(MnistDataset(name="mnist"))
    assert "Traceback" not in str(failure.value) and "put mnist.npz" in str(failure.value)
    assert timeouts == [dk.DOWNLOAD_TIMEOUT_SECONDS]
    assert socket.getdefaulttimeout() is None


def test_keras_get_file_downloads_into_the_configured_folder(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_mnist(tmp_path, n_train=2, n_test=1)  # a file:// origin: keras's downloader, offline
    monkeypatch.setenv("FITQ_DATASET_DOWNLOADS", "true")
    get_settings.cache_clear()
    monkeypatch.setattr(dk, "ORIGIN", f"file://{tmp_path}/")
    monkeypatch.setattr(dk, "HASHES", {"mnist.npz": None})
    monkeypatch.setattr(dk, "_download", REAL_DOWNLOAD)
    assert dk.mnist(MnistDataset(name="mnist")).x_train.shape == (2, 784)
    assert (cache / "mnist.npz").is_file()


def test_an_unreadable_or_tampered_file_is_named(cache: Path) -> None:
    (cache / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(dk.DatasetUnavailableError, match=r"cannot be read from .*mnist\.npz"):
        dk.mnist(MnistDataset(name="mnist"))
    # A pickle naming anything but numpy's array globals is refused, never executed.
    np.savez(cache / "reuters.npz", x=ragged([[1], [datetime.date(2020, 1, 1)]]), y=[0, 1])
    with pytest.raises(dk.DatasetUnavailableError, match=r"refusing datetime\.date"):
        dk.reuters(ReutersDataset(name="reuters"))


def test_the_default_folder_is_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITQ_KERAS_DATASETS_DIR", "")  # as .env.example leaves it
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    get_settings.cache_clear()
    try:
        assert get_settings().keras_datasets_dir is None
        assert dk.datasets_folder() == tmp_path / "keras-home" / "datasets"
        monkeypatch.delenv("KERAS_HOME")
        home = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        assert dk.datasets_folder() == home / ".keras" / "datasets"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_every_keras_dataset_name_has_a_loader() -> None:
    names = {"imdb", "reuters", "mnist", "fashion_mnist", "cifar10", "boston_housing"}
    assert names <= registered()
