"""The versions that run a job, recorded with each experiment: a seeded run repeats its
history only with the same backend and versions (docs/operations.md, "Reproducibility")."""

import functools
import importlib
import importlib.metadata
import platform

import keras
import numpy as np

# The modules that compute for each backend (JAX's kernels are in jaxlib). Asked of the
# module: TensorFlow is installed as tensorflow or tensorflow-cpu, among others.
_BACKEND_MODULES = {"jax": ("jax", "jaxlib"), "tensorflow": ("tensorflow",), "torch": ("torch",)}


@functools.cache
def versions() -> dict[str, str]:
    """fitq, Keras, the backend's name and packages, numpy and Python, in this process."""
    backend = keras.backend.backend()
    found = {
        "fitq": _installed("fitq"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "keras": keras.__version__,
        "backend": backend,
    }
    for module in _BACKEND_MODULES.get(backend, ()):
        found[module] = str(getattr(importlib.import_module(module), "__version__", "unknown"))
    return found


def _installed(package: str) -> str:
    """A checkout run without being installed has no version to report."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
