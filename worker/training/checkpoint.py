"""Checkpoints of a running fit and the final model, in Keras's own .keras format.

A .keras file holds the weights and the optimizer's variables (its step count, Adam's moments),
so a fit resumed from it continues its curves instead of restarting the optimizer. Keras saves
to a local temporary file, which is then put into the artifact store; a store put is whole or
absent (models/store/), so a crash never leaves half of one."""

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras

from models import artifacts
from models.store import get_store
from worker.training.build import load_into
from worker.training.cadence import Cadence

SavedAs = Callable[[keras.Model], keras.Model]
log = logging.getLogger(__name__)
# A save costing more than this share of FITQ_CHECKPOINT_EVERY_SECONDS is logged once.
COSTLY_SHARE = 0.05


def _itself(model: keras.Model) -> keras.Model:
    return model


def save_to_store(model: keras.Model, key: str) -> None:
    """Saved by Keras to a local file (it insists on the .keras suffix), then put under
    `key`."""
    with artifacts.scratch() as folder:
        path = folder / "model.keras"
        model.save(path)
        get_store().put_file(key, path)


def warm_up() -> None:
    """Save a one-unit model to a temporary file. The first save in a process imports and
    prepares Keras's saving code (seconds, measured inside the first fit that checkpointed);
    a pool process does it once at start instead."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "warm.keras")


def restore(model: keras.Model, path: Path, saved_as: SavedAs = _itself) -> None:
    """Load weights and optimizer state into a model built and compiled from the same spec
    (never deserialized from the file: the spec stays our allow-listed schema). The optimizer
    must have its variables, the training model's, before loading, or Keras skips them.
    `saved_as`: how the checkpoint was saved (build.downloadable): it is loaded into that
    form of `model`, then copied into the layers `model` does not share with it."""
    model.optimizer.build(model.trainable_variables)
    twin = saved_as(model)
    twin.load_weights(path)
    load_into(model, twin)


def restore_from_store(model: keras.Model, key: str, saved_as: SavedAs = _itself) -> None:
    """restore() from a checkpoint in the store, copied to a local file first (a folder
    store's own file is read where it is)."""
    local = get_store().local_path(key)
    if local is not None:
        restore(model, local, saved_as)
        return
    with artifacts.scratch() as folder:
        path = folder / "checkpoint.keras"
        get_store().get_file(key, path)
        restore(model, path, saved_as)


class Checkpointer:
    """Saves when asked, and says when a save is due: `every_seconds` after the last one, so a
    resume redoes at most that much of the fit (plus the epoch running when it came due)."""

    def __init__(
        self,
        experiment_id: int,
        every_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        saved_as: SavedAs = _itself,
    ) -> None:
        """`saved_as`: the form of the model that is saved (see build.downloadable)."""
        self.experiment_id = experiment_id
        self.clock = clock
        self.saved_as = saved_as
        self._cadence = Cadence(every_seconds, clock)
        self.saved_epoch: int | None = None
        self._warned = False

    def due(self) -> bool:
        return self._cadence.due()

    def save(self, model: keras.Model, epoch: int) -> None:
        started = self.clock()
        save_to_store(self.saved_as(model), artifacts.checkpoint_key(self.experiment_id, epoch))
        artifacts.prune_checkpoints(self.experiment_id, keep_last=1)
        self._cadence.ran(started)
        self.saved_epoch = epoch
        self._warn_if_costly()

    def _warn_if_costly(self) -> None:
        if self._warned or not self._cadence.costly(COSTLY_SHARE):
            return
        self._warned = True
        log.warning(
            "experiment %s: a checkpoint took %.2f s, over %d%% of FITQ_CHECKPOINT_EVERY_SECONDS "
            "(%g s); a longer interval costs the fit less and a resume redoes more",
            self.experiment_id,
            self._cadence.last_cost,
            round(COSTLY_SHARE * 100),
            self._cadence.every_seconds,
        )
