"""Keras callbacks: write every epoch as it ends, checkpoint, and stop on cancel or divergence."""

import math
import time
from collections.abc import Callable
from typing import Any

import keras

from worker import shutdown
from worker.training import progress
from worker.training.checkpoint import Checkpointer


class EpochWriter(keras.callbacks.Callback):
    """Upserts each finished epoch's metrics, then checkpoints when one is due (row first: a
    crash between the two leaves a row after the checkpoint, which the resume removes and
    rewrites, never a checkpoint ahead of the history). Checks the cancel flag at every epoch
    end and, inside long epochs, every `check_seconds` (also the heartbeat). Sets
    `stop_reason` when it stops the fit; 'lost' means another attempt owns the job now."""

    def __init__(
        self,
        experiment_id: int,
        check_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        attempt: int | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.attempt = attempt
        self.check_seconds = check_seconds
        self.checkpointer = checkpointer
        self.clock = clock
        self.stop_reason: str | None = None
        self.diverged_epoch: int | None = None
        self._last_check = clock()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = progress.clean_metrics(logs or {})
        number = epoch + 1  # users count epochs from 1, as the notebooks' plots do
        state = progress.write_epoch(self.experiment_id, self.attempt, number, metrics)
        self._last_check = self.clock()
        loss = (logs or {}).get("loss")
        if state == "lost":
            self._stop("lost")
            return
        if loss is not None and not math.isfinite(float(loss)):
            self._stop("diverged")
            self.diverged_epoch = number
            return
        if state == "cancelled":
            self._stop("cancelled")
        elif shutdown.requested():
            self._stop("shutdown")
        if self.checkpointer is not None:
            # A hand-back resumes from here, so it forces one.
            self.checkpointer.maybe_save(self.model, number, force=self.stop_reason == "shutdown")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # A warm shutdown is acted on at the epoch's end, not here: only whole epochs are
        # recorded and checkpointed, so the resumed curve continues exactly. (A worker killed
        # before then is reclaimed from its last checkpoint.)
        if self.clock() - self._last_check < self.check_seconds:
            return
        self._last_check = self.clock()
        state = progress.heartbeat(self.experiment_id, self.attempt)
        if state != "ok":
            self._stop(state)

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.model.stop_training = True
