"""Checkpoints of a running fit and the final model, in Keras's own .keras format.

A .keras file holds the weights and the optimizer's variables (its step count, Adam's moments),
so a fit resumed from it continues its curves instead of restarting the optimizer. Each file is
written under a temporary name and renamed into place, so a crash never leaves half of one."""

import os
import time
from collections.abc import Callable
from pathlib import Path

import keras

from models import artifacts


def save_atomically(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras insists on the .keras suffix; the "tmp-" prefix keeps it out of checkpoints().
    tmp = path.with_name(f"tmp-{os.getpid()}-{path.name}")
    model.save(tmp)
    os.replace(tmp, path)


def restore(model: keras.Model, path: Path) -> None:
    """Load weights and optimizer state into a model built and compiled from the same spec
    (never deserialized from the file: the spec stays our allow-listed schema). The optimizer
    must have its variables before loading, or Keras skips them."""
    model.optimizer.build(model.trainable_variables)
    model.load_weights(path)


class Checkpointer:
    """Saves at most every `every_seconds` (saving the circles model costs ~30 ms, a fifth of
    its epoch), and always when asked to force (the fit is stopping)."""

    def __init__(
        self,
        experiment_id: int,
        every_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.experiment_id = experiment_id
        self.every_seconds = every_seconds
        self.clock = clock
        self._last = clock()
        self.saved_epoch: int | None = None

    def maybe_save(self, model: keras.Model, epoch: int, force: bool = False) -> None:
        if not force and self.clock() - self._last < self.every_seconds:
            return
        save_atomically(model, artifacts.checkpoint_path(self.experiment_id, epoch))
        artifacts.prune_checkpoints(self.experiment_id, keep_last=1)
        self._last = self.clock()
        self.saved_epoch = epoch
