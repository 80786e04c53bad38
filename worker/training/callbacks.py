"""Keras callbacks: write every epoch as it ends, and stop on cancel or divergence."""

import math
import time
from collections.abc import Callable
from typing import Any

import keras

from worker import shutdown
from worker.training import progress


class EpochWriter(keras.callbacks.Callback):
    """Upserts each finished epoch's metrics; checks the cancel flag at every epoch end and,
    inside long epochs, every `check_seconds`. Sets `stop_reason` when it stops the fit."""

    def __init__(
        self,
        experiment_id: int,
        check_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.check_seconds = check_seconds
        self.clock = clock
        self.stop_reason: str | None = None
        self.diverged_epoch: int | None = None
        self._last_check = clock()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = progress.clean_metrics(logs or {})
        number = epoch + 1  # users count epochs from 1, as the notebooks' plots do
        cancelled = progress.record_epoch(self.experiment_id, number, metrics)
        self._last_check = self.clock()
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop("diverged")
            self.diverged_epoch = number
        elif cancelled:
            self._stop("cancelled")
        elif shutdown.requested():
            self._stop("shutdown")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if shutdown.requested():
            self._stop("shutdown")
            return
        if self.clock() - self._last_check < self.check_seconds:
            return
        self._last_check = self.clock()
        if progress.heartbeat(self.experiment_id):
            self._stop("cancelled")

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.model.stop_training = True
