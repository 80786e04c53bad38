"""A worker keeps recently used, preprocessed datasets in memory within a byte bound."""

import numpy as np
import pytest

from models.spec import ExperimentSpec
from tests.helpers import circles_spec
from worker.training import data as data_module
from worker.training.cache import DatasetCache
from worker.training.data import LoadedData, load_dataset


def arrays(n_bytes: int) -> LoadedData:
    return LoadedData(
        np.zeros(n_bytes // 2, dtype=np.uint8), np.zeros(n_bytes // 2, dtype=np.uint8)
    )


def test_second_load_of_the_same_dataset_is_a_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_module, "_cache", None)
    spec = ExperimentSpec.model_validate(circles_spec()).dataset
    calls = []
    real = data_module.load_uncached

    def counting(dataset: object, encoding: str = "dense") -> LoadedData:
        calls.append(dataset)
        return real(dataset, encoding)  # type: ignore[arg-type]

    monkeypatch.setattr(data_module, "load_uncached", counting)
    first = load_dataset(spec)
    second = load_dataset(spec)
    assert second is first
    assert len(calls) == 1
    cache = data_module._cache
    assert cache is not None
    assert (cache.hits, cache.misses) == (1, 1)
    other = spec.model_copy(update={"noise": 0.2})
    assert load_dataset(other) is not first
    assert (cache.hits, cache.misses) == (1, 2)


def test_cached_arrays_are_read_only() -> None:
    cache = DatasetCache(max_bytes=10_000)
    loaded = cache.get_or_load("a", lambda: arrays(100))
    with pytest.raises(ValueError, match="read-only"):
        loaded.x_train[0] = 1


def test_least_recently_used_goes_first_past_the_bound() -> None:
    cache = DatasetCache(max_bytes=250)
    cache.get_or_load("a", lambda: arrays(100))
    cache.get_or_load("b", lambda: arrays(100))
    cache.get_or_load("a", lambda: arrays(100))  # a is now the most recent
    cache.get_or_load("c", lambda: arrays(100))  # 300 bytes > 250: b goes
    assert cache.nbytes == 200
    cache.get_or_load("a", lambda: arrays(100))
    assert (cache.hits, cache.misses) == (2, 3)
    cache.get_or_load("b", lambda: arrays(100))
    assert cache.misses == 4


def test_a_dataset_larger_than_the_bound_is_not_kept() -> None:
    cache = DatasetCache(max_bytes=50)
    cache.get_or_load("big", lambda: arrays(100))
    assert cache.nbytes == 0
    cache.get_or_load("big", lambda: arrays(100))
    assert cache.misses == 2
