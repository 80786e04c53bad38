"""The dataset registry: each spec dataset name maps to the loader that returns its raw
splits. Loader modules (datasets_keras.py, datasets_sklearn.py, datasets_upload.py) register
themselves here when imported; data.py imports them, so nothing imports data.py back."""

from collections.abc import Callable
from typing import TypeVar

from worker.training.sparse_input import InputEncoding
from worker.training.splits import RawSplits

_REGISTRY: dict[str, Callable[..., RawSplits]] = {}
_ENCODED: set[str] = set()  # loaders that take encoding="words"
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


def loader_for(name: str, encoding: InputEncoding) -> Callable[..., RawSplits]:
    """The registered loader of dataset `name`; ValueError when there is none, or when it has
    no `encoding` other than dense."""
    try:
        loader = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"dataset '{name}' has no loader in this worker") from None
    if encoding != "dense" and name not in _ENCODED:
        raise ValueError(f"dataset '{name}' has no {encoding} encoding")
    return loader
