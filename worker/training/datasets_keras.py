"""keras.datasets loaders that read Keras's own cache files, so a worker without internet trains
on files put there by hand. The preprocessing matches keras.datasets.X.load_data (seed-113
shuffles, start_char=1, oov_char=2, index_from=3), then encodes as the spec asks."""

import gzip
import io
import itertools
import os
import pickle
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse

from models.settings import get_settings
from models.spec_datasets import (
    BostonHousingDataset,
    Cifar10Dataset,
    ImdbDataset,
    MnistDataset,
    ReutersDataset,
    _Text,
)
from worker.training.dataset_registry import register
from worker.training.sparse_input import InputEncoding
from worker.training.splits import RawSplits

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# keras 3's own hashes: get_file checks a download against them (a hand-placed file is trusted).
HASHES = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    "cifar-10": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
}
FASHION_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
# Keras 3 extracts the archive under cifar-10-batches-py-target/; keras 2 and a hand-run
# `tar xzf cifar-10-python.tar.gz` leave cifar-10-batches-py/ in the folder itself.
CIFAR10_DIRS = ("cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py")
# Bounds every socket operation of a download, so an unreachable host fails instead of hanging.
DOWNLOAD_TIMEOUT_SECONDS = 30.0
SEED, START_CHAR, OOV_CHAR, INDEX_FROM = 113, 1, 2, 3
KERAS_TEST_SPLIT = 0.2  # reuters and boston_housing have no test split of their own

# The only globals a numpy array pickle needs; keras 3 unpickles dataset files the same way.
_PICKLE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}
# What a file that is there but cannot be parsed raises while being read.
UNREADABLE = (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError)
Pair = tuple[np.ndarray, np.ndarray]
T = TypeVar("T")


class DatasetUnavailableError(ValueError):
    """A keras dataset is neither in the cache folder nor downloadable."""


def datasets_folder() -> Path:
    configured = get_settings().keras_datasets_dir
    if configured is not None:
        return configured.expanduser()
    # keras.utils.get_file's default: $KERAS_HOME, else ~/.keras (/tmp/.keras if ~ is read-only).
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(home).expanduser() / "datasets"


def _download(fname: str, origin: str, file_hash: str | None, folder: Path, **kw: Any) -> None:
    """keras's own downloader (hash check, extraction) writing into `folder` itself."""
    from keras.utils import get_file  # only a download needs keras here

    get_file(fname, origin=origin, file_hash=file_hash, cache_subdir=str(folder), **kw)


def _cached(
    name: str,
    wanted: str,
    find: Callable[[Path], Path | None],
    fetch: Callable[[Path], None],
    read: Callable[[Path], T],
) -> T:
    """`read` of what `find` locates in the cache folder, downloaded there first if allowed."""
    folder = datasets_folder()
    found, reason = find(folder), "downloads are off (FITQ_DATASET_DOWNLOADS=false)"
    if found is None and get_settings().dataset_downloads:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
        try:
            fetch(folder)
            reason = "the download did not leave it there"
        except Exception as exc:  # whatever stops the download, the dataset is unavailable
            reason = f"the download failed: {_first_line(exc)}"
        finally:
            socket.setdefaulttimeout(previous)
        found = find(folder)
    if found is None:
        raise DatasetUnavailableError(
            f"keras dataset '{name}' is not available offline: put {wanted} in {folder}; {reason}"
        )
    try:
        return read(found)
    except UNREADABLE as exc:  # a truncated or foreign file: say which one, not numpy's words
        raise DatasetUnavailableError(
            f"keras dataset '{name}' cannot be read from {found} ({_first_line(exc)}): "
            f"replace it with {wanted}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    # keras's download errors can embed a traceback; the first line says what failed.
    return next(iter(str(exc).splitlines()), "") or type(exc).__name__


def _npz(name: str, fname: str) -> dict[str, np.ndarray]:
    def fetch(folder: Path) -> None:
        _download(fname, ORIGIN + fname, HASHES[fname], folder)

    def find(folder: Path) -> Path | None:
        return folder / fname if (folder / fname).is_file() else None

    return _cached(name, f"{fname} (from {ORIGIN}{fname})", find, fetch, _load_npz)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global but numpy's array ones, so a tampered file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a keras dataset file")


def _read_npy(fp: io.BytesIO) -> np.ndarray:
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError:  # an object (ragged) array: a pickle follows the .npy header
        fp.seek(0)
        major, _ = np.lib.format.read_magic(fp)
        if major == 1:
            np.lib.format.read_array_header_1_0(fp)
        else:  # 2.0 and 3.0 share the header layout that has to be skipped
            np.lib.format.read_array_header_2_0(fp)
        return np.asarray(_NumpyOnlyUnpickler(fp).load())


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        return {
            member.removesuffix(".npy"): _read_npy(io.BytesIO(archive.read(member)))
            for member in archive.namelist()
            if member.endswith(".npy")
        }


def _shuffled(rng: np.random.RandomState, x: np.ndarray, y: np.ndarray) -> Pair:
    indices = np.arange(len(x))
    rng.shuffle(indices)
    return x[indices], y[indices]


def _word_indices(sequences: np.ndarray, num_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Keras's start_char, index_from and num_words cut-off, applied to all sequences at once:
    the flat word indices and each sequence's length (start character included)."""
    lengths = np.fromiter((len(s) + 1 for s in sequences), dtype=np.int64, count=len(sequences))
    words = itertools.chain.from_iterable(sequences)
    flat = np.full(int(lengths.sum()), START_CHAR, dtype=np.int64)
    is_word = np.ones(flat.size, dtype=bool)
    is_word[np.cumsum(lengths) - lengths] = False
    flat[is_word] = np.fromiter(words, dtype=np.int64, count=flat.size - len(lengths))
    flat[is_word] += INDEX_FROM
    flat[flat >= num_words] = OOV_CHAR  # skip_top=0: no lower cut-off
    return flat, lengths


def _multi_hot(flat: np.ndarray, lengths: np.ndarray, num_words: int) -> np.ndarray:
    # float32 from the start: the notebooks' float64 np.zeros would take twice the memory.
    x = np.zeros((len(lengths), num_words), dtype=np.float32)
    x[np.repeat(np.arange(len(lengths)), lengths), flat] = 1.0
    return x


def _multi_hot_csr(
    flat: np.ndarray, lengths: np.ndarray, num_words: int
) -> scipy.sparse.csr_matrix:
    """The same 0/1 rows as a scipy CSR matrix, built from the index lists alone: a word that
    appears twice in a review is summed into one entry, then every entry set to 1."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    values = np.ones(flat.size, dtype=np.float32)
    shape = (len(lengths), num_words)
    x = scipy.sparse.csr_matrix((values, flat.astype(np.int32), indptr), shape=shape)
    # Also sorts each row's indices: Keras makes a tf.SparseTensor of them without reordering,
    # and TensorFlow's sparse ops want row-major order.
    x.sum_duplicates()
    x.data[:] = 1.0
    return x


def _word_rows(flat: np.ndarray, lengths: np.ndarray, num_words: int) -> np.ndarray:
    """The multi-hot rows as word indices (what WordDense takes): each row's distinct words
    in ascending order, then -1 up to the longest row's count."""
    csr = _multi_hot_csr(flat, lengths, num_words)
    counts = np.diff(csr.indptr)
    x = np.full((len(counts), max(1, int(counts.max(initial=0)))), -1, dtype=np.int32)
    rows = np.repeat(np.arange(len(counts)), counts)
    x[rows, np.arange(csr.indices.size) - np.repeat(csr.indptr[:-1], counts)] = csr.indices
    return x


def _padded(flat: np.ndarray, lengths: np.ndarray, maxlen: int) -> np.ndarray:
    """keras pad_sequences' defaults: zeros before a short sequence, and a long one keeps its
    last maxlen words."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    column = maxlen - np.repeat(lengths, lengths) + position
    keep = column >= 0
    x = np.zeros((len(lengths), maxlen), dtype=np.int32)
    x[rows[keep], column[keep]] = flat[keep]
    return x


def _text(spec: _Text, train: Pair, test: Pair, encoding: InputEncoding) -> RawSplits:
    """`encoding`: multi-hot rows dense or as word indices (sequences stay padded int32)."""
    multi_hot = spec.encoding == "multi_hot"
    encoders = {"words": _word_rows, "dense": _multi_hot}

    def encode(sequences: np.ndarray) -> np.ndarray:
        flat, lengths = _word_indices(sequences, spec.num_words)
        if multi_hot:
            return encoders[encoding](flat, lengths, spec.num_words)
        return _padded(flat, lengths, spec.maxlen)

    (x_train, y_train), (x_test, y_test) = _first(spec, train, test)
    width = spec.num_words if multi_hot and encoding == "words" else None
    return RawSplits(encode(x_train), _labels(y_train), encode(x_test), _labels(y_test), width)


def _first(
    spec: _Text | MnistDataset | Cifar10Dataset, train: Pair, test: Pair
) -> tuple[Pair, Pair]:
    # max_*_samples before encoding: rows that arrange() would drop must not cost memory first.
    n_train, n_test = spec.max_train_samples, spec.max_test_samples
    return (train[0][:n_train], train[1][:n_train]), (test[0][:n_test], test[1][:n_test])


def _labels(y: Any) -> np.ndarray:
    return np.asarray(y).astype(np.int32).ravel()  # cifar's labels are (n, 1) in keras


@register("imdb", encodings=True)
def imdb(spec: ImdbDataset, encoding: InputEncoding = "dense") -> RawSplits:
    arrays = _npz("imdb", "imdb.npz")
    rng = np.random.RandomState(SEED)  # one generator, train first: keras's order
    train = _shuffled(rng, arrays["x_train"], arrays["y_train"])
    return _text(spec, train, _shuffled(rng, arrays["x_test"], arrays["y_test"]), encoding)


@register("reuters", encodings=True)
def reuters(spec: ReutersDataset, encoding: InputEncoding = "dense") -> RawSplits:
    arrays = _npz("reuters", "reuters.npz")
    x, y = _shuffled(np.random.RandomState(SEED), arrays["x"], arrays["y"])
    cut = int(len(x) * (1 - KERAS_TEST_SPLIT))
    return _text(spec, (x[:cut], y[:cut]), (x[cut:], y[cut:]), encoding)


def _images(spec: MnistDataset | Cifar10Dataset, train: Pair, test: Pair) -> RawSplits:
    def scale(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32, order="C")  # one float32 copy, scaled in place
        x /= np.float32(255)
        # The spec's input_shape is (H*W*C,) for "flat" and (H, W, C) for "image".
        return x.reshape((len(x), *spec.input_shape))

    (x_train, y_train), (x_test, y_test) = _first(spec, train, test)
    return RawSplits(scale(x_train), _labels(y_train), scale(x_test), _labels(y_test))


@register("mnist", "fashion_mnist")
def mnist(spec: MnistDataset) -> RawSplits:
    if spec.name == "fashion_mnist":
        return _images(spec, *_fashion_mnist())
    arrays = _npz("mnist", "mnist.npz")
    return _images(
        spec, (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    )


def _fashion_mnist() -> tuple[Pair, Pair]:
    def fetch(folder: Path) -> None:
        for fname in FASHION_FILES:  # keras publishes no hashes for these
            _download(fname, ORIGIN + fname, None, folder / "fashion-mnist")

    def find(folder: Path) -> Path | None:
        found = all((folder / "fashion-mnist" / f).is_file() for f in FASHION_FILES)
        return folder / "fashion-mnist" if found else None

    def read(folder: Path) -> tuple[Pair, Pair]:
        def idx(i: int, offset: int) -> np.ndarray:  # an idx file: a header, then uint8s
            with gzip.open(folder / FASHION_FILES[i], "rb") as f:
                return np.frombuffer(f.read(), np.uint8, offset=offset)

        y_train, y_test = idx(0, 8), idx(2, 8)
        x_train, x_test = idx(1, 16).reshape(-1, 28, 28), idx(3, 16).reshape(-1, 28, 28)
        return (x_train, y_train), (x_test, y_test)

    wanted = f"fashion-mnist/ with {', '.join(FASHION_FILES)} (from {ORIGIN})"
    return _cached("fashion_mnist", wanted, find, fetch, read)


@register("cifar10")
def cifar10(spec: Cifar10Dataset) -> RawSplits:
    def fetch(folder: Path) -> None:
        fname = "cifar-10-batches-py-target"  # keras 3's name: it extracts in that folder
        _download(fname, CIFAR10_ORIGIN, HASHES["cifar-10"], folder, extract=True)

    def find(folder: Path) -> Path | None:
        found = (folder / d for d in CIFAR10_DIRS if (folder / d / "test_batch").is_file())
        return next(found, None)

    def read(batches: Path) -> tuple[Pair, Pair]:
        train = [_cifar_batch(batches / f"data_batch_{i}") for i in range(1, 6)]
        x_train, y_train = (np.concatenate(part) for part in zip(*train, strict=True))
        return (x_train, y_train), _cifar_batch(batches / "test_batch")

    wanted = f"cifar-10-batches-py/ (extract {CIFAR10_ORIGIN})"
    return _images(spec, *_cached("cifar10", wanted, find, fetch, read))


def _cifar_batch(path: Path) -> Pair:
    with path.open("rb") as f:
        # Python 2 pickles: encoding="bytes" keeps their numpy buffers intact (as keras does).
        batch = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    x = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return x.transpose(0, 2, 3, 1), np.asarray(batch["labels"])  # channels last, as the spec


@register("boston_housing")
def boston_housing(spec: BostonHousingDataset) -> RawSplits:
    arrays = _npz("boston_housing", "boston_housing.npz")
    x, y = _shuffled(np.random.RandomState(SEED), arrays["x"], arrays["y"])
    x, y = x.astype(np.float32), y.astype(np.float32)
    cut = int(len(x) * (1 - KERAS_TEST_SPLIT))
    return RawSplits(x[:cut], y[:cut], x[cut:], y[cut:])
