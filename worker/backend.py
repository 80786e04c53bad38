"""Which Keras 3 backend a worker runs: FITQ_KERAS_BACKEND, set as KERAS_BACKEND before
anything imports Keras (Keras reads it once, at import)."""

import logging
import os
import sys

from models.settings import Settings

log = logging.getLogger(__name__)


def select(settings: Settings) -> None:
    wanted = settings.keras_backend
    os.environ["KERAS_BACKEND"] = wanted
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != wanted:
        # Only an embedding process (a test, a notebook) gets here: workers import Keras
        # after this, in their pool processes.
        log.warning(
            "Keras was imported with the %s backend before FITQ_KERAS_BACKEND=%s was applied",
            keras.backend.backend(),
            wanted,
        )
