"""A job's dataset: loaded through the registry (dataset_registry.py), truncated,
standardized, its held-out part put to validation or test, and cached in this process."""

from typing import Any

import numpy as np

from models.settings import get_settings
from models.spec_datasets import DatasetSpec, _Generated

# The loader modules register themselves in dataset_registry when imported.
from worker.training import datasets_keras, datasets_sklearn, datasets_upload  # noqa: F401
from worker.training.cache import DatasetCache
from worker.training.dataset_registry import loader_for, registered
from worker.training.sparse_input import InputEncoding
from worker.training.splits import LoadedData, Pair, RawSplits, buffers

__all__ = ["LoadedData", "Pair", "RawSplits", "buffers", "load_dataset", "registered"]
_cache: DatasetCache | None = None


def load_dataset(spec: DatasetSpec, encoding: InputEncoding = "dense") -> LoadedData:
    """The preprocessed dataset, from this process's cache when a recent job used it; with
    `encoding` "words", its multi-hot rows as word indices (cached apart from the dense ones)."""
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
    loader = loader_for(spec.name, encoding)
    if encoding == "dense":
        return arrange(spec, loader(spec))
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
