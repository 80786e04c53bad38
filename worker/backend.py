"""Which Keras 3 backend a worker runs: FITQ_KERAS_BACKEND, set as KERAS_BACKEND before
anything imports Keras (Keras reads it once, at import)."""

import logging
import os
import sys
from pathlib import Path

from models.settings import Settings

log = logging.getLogger(__name__)


def select(settings: Settings) -> None:
    wanted = settings.keras_backend
    os.environ["KERAS_BACKEND"] = wanted
    if wanted == "jax":
        use_compilation_cache(settings.compilation_cache_path)
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != wanted:
        # Only an embedding process (a test, a notebook) gets here: workers import Keras
        # after this, in their pool processes.
        log.warning(
            "Keras was imported with the %s backend before FITQ_KERAS_BACKEND=%s was applied",
            keras.backend.backend(),
            wanted,
        )


def use_compilation_cache(folder: Path) -> None:
    """JAX's persistent compilation cache in `folder`, for every program however quick to
    compile (JAX's defaults keep only those over a second): a restarted worker loads the
    compiled trainer's programs instead of compiling them. Read by JAX when it is imported."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder.resolve())
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
