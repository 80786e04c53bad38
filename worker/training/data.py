"""The dataset registry: each spec dataset name maps to a loader returning raw splits; the
shared code here truncates, standardizes and decides what the test split is used for.

Features are numpy arrays; multi-hot text asked for as "words" is int32 word indices per row,
-1 padded (word_kernels.py), with `width` the multi-hot width the model sees."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from models.settings import get_settings
from models.spec_datasets import DatasetSpec, _Generated
from worker.training.sparse_input import InputEncoding

if TYPE_CHECKING:
    from worker.training.cache import DatasetCache

Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class RawSplits:
    """What a loader returns: training arrays and, if the dataset has one, a test split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    width: int | None = None  # word-index rows: the multi-hot width they stand for


@dataclass(frozen=True)
class LoadedData:
    x_train: np.ndarray
    y_train: np.ndarray
    validation: Pair | None = None
    test: Pair | None = None
    width: int | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The rows' shape as the model's spec sees them (multi-hot width for word indices)."""
        if self.width is not None:
            return (self.width,)
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in buffers(self))


def buffers(data: LoadedData) -> list[np.ndarray]:
    """Every numpy array the data holds."""
    return [data.x_train, data.y_train, *(data.validation or ()), *(data.test or ())]


_REGISTRY: dict[str, Callable[..., RawSplits]] = {}
_ENCODED: set[str] = set()  # loaders that take encoding="words"
_cache: "DatasetCache | None" = None
F = TypeVar("F", bound=Callable[..., RawSplits])


def register(*names: str, encodings: bool = False) -> Callable[[F], F]:
    """`encodings`: the loader also takes encoding="words" (see sparse_input.py)."""

    def add(loader: F) -> F:
        for name in names:
            _REGISTRY[name] = loader
            if encodings:
                _ENCODED.add(name)
        return loader

    return add


def registered() -> set[str]:
    return set(_REGISTRY)


def load_dataset(spec: DatasetSpec, encoding: InputEncoding = "dense") -> LoadedData:
    """The preprocessed dataset, from this process's cache when a recent job used it; with
    `encoding` "words", its multi-hot rows as word indices (cached apart from the dense ones)."""
    from worker.training.cache import DatasetCache

    global _cache
    if drawn_per_run(spec):
        return load_uncached(spec, encoding)
    if _cache is None:
        _cache = DatasetCache(get_settings().dataset_cache_bytes)
    key = spec.model_dump_json() + ("" if encoding == "dense" else f" {encoding}")
    return _cache.get_or_load(key, lambda: load_uncached(spec, encoding))


def drawn_per_run(spec: DatasetSpec) -> bool:
    """A generated dataset without a random_state draws from numpy's global generator, which
    the fit's seed has just set: each run draws its own. Cached, a later job in the same
    worker would get the first job's draw whatever its own seed (another history than in a
    fresh worker for the same spec)."""
    return isinstance(spec, _Generated) and spec.random_state is None


def load_uncached(spec: DatasetSpec, encoding: InputEncoding = "dense") -> LoadedData:
    # Importing the loader modules fills the registry (they register themselves).
    from worker.training import datasets_keras, datasets_sklearn, datasets_upload  # noqa: F401

    try:
        loader = _REGISTRY[spec.name]
    except KeyError:
        raise ValueError(f"dataset '{spec.name}' has no loader in this worker") from None
    if encoding == "dense":
        return arrange(spec, loader(spec))
    if spec.name not in _ENCODED:
        raise ValueError(f"dataset '{spec.name}' has no {encoding} encoding")
    return arrange(spec, loader(spec, encoding=encoding))


def arrange(spec: DatasetSpec, raw: RawSplits) -> LoadedData:
    x_train, y_train, x_test, y_test = raw.x_train, raw.y_train, raw.x_test, raw.y_test
    if (limit := getattr(spec, "max_train_samples", None)) is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    limit = getattr(spec, "max_test_samples", None)
    if x_test is not None and y_test is not None and limit is not None:
        x_test, y_test = x_test[:limit], y_test[:limit]
    if getattr(spec, "standardize", False):
        x_train, x_test = standardize(x_train, x_test)
    held = (x_test, y_test) if x_test is not None and y_test is not None else None
    # Generated datasets have no test_split field: their held-out part always validates.
    use = getattr(spec, "test_split", "validation")
    return LoadedData(
        x_train,
        y_train,
        validation=held if use == "validation" else None,
        test=held if use == "evaluation" else None,
        width=raw.width,
    )


def standardize(x_train: np.ndarray, x_test: np.ndarray | None) -> tuple[np.ndarray, Any]:
    """Zero mean, unit variance per feature, with statistics of the training part only."""
    mean = x_train.mean(axis=0, dtype=np.float64)
    std = x_train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0

    def scale(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype("float32")

    return scale(x_train), None if x_test is None else scale(x_test)
