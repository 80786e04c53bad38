"""The dataset registry: each spec dataset name maps to a loader that returns arrays."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from sklearn.datasets import load_digits, make_circles

from models.spec_datasets import CirclesDataset, DatasetSpec, DigitsDataset


@dataclass(frozen=True)
class LoadedData:
    x_train: np.ndarray
    y_train: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])


Loader = Callable[[Any], LoadedData]
_REGISTRY: dict[str, Loader] = {}
S = TypeVar("S")


def register(name: str) -> Callable[[Callable[[S], LoadedData]], Callable[[S], LoadedData]]:
    def add(loader: Callable[[S], LoadedData]) -> Callable[[S], LoadedData]:
        _REGISTRY[name] = loader
        return loader

    return add


def load_dataset(spec: DatasetSpec) -> LoadedData:
    try:
        loader = _REGISTRY[spec.name]
    except KeyError:
        raise ValueError(f"dataset '{spec.name}' has no loader in this worker") from None
    return loader(spec)


@register("circles")
def _circles(spec: CirclesDataset) -> LoadedData:
    x, y = make_circles(
        n_samples=spec.n_samples, noise=spec.noise, factor=spec.factor,
        random_state=spec.random_state,
    )  # fmt: skip
    x, y = x.astype("float32"), y.astype("float32")
    if spec.n_train is None:
        return LoadedData(x, y)
    n = spec.n_train
    return LoadedData(x[:n], y[:n], (x[n:], y[n:]))


@register("digits")
def _digits(spec: DigitsDataset) -> LoadedData:
    bunch = load_digits()
    # Pixel values are 0..16; scale to [0, 1] as the notebooks scale MNIST's 0..255.
    x = (bunch.data / 16.0).astype("float32")
    return LoadedData(x, bunch.target.astype("int32"))
