"""The Keras callback that records a fit: epochs to SQL in batches, checkpoints, and stops on
cancel, divergence, a lost claim or a warm shutdown."""

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import keras

from models.tables import utcnow
from worker import shutdown
from worker.training import progress
from worker.training.cadence import Cadence
from worker.training.checkpoint import Checkpointer
from worker.training.pulse import Pulse

log = logging.getLogger(__name__)


class EpochWriter(keras.callbacks.Callback):
    """Keeps finished epochs in memory and writes them in one transaction when
    `flush_seconds` have passed (see Cadence), when a checkpoint is due, when the fit stops,
    and always for the first epoch, so a new job shows progress at once. One write a second
    instead of one an epoch is what keeps fitq's share of a millisecond-epoch fit under 2%
    (bench.overhead: ~1.5% on PostgreSQL, ~1.2% on SQLite).

    Rows before checkpoints: a checkpoint is only taken right after a write, of the epoch just
    written, so a checkpoint is never ahead of the history (a crash leaves rows after the
    last checkpoint, which the resume removes and rewrites).

    The heartbeat and the cancel flag are the Pulse thread's; when it stops the fit inside an
    epoch, that partial epoch is not recorded. `stop_reason` says why the fit stopped:
    cancelled, diverged, shutdown, or lost (another attempt owns the job now).

    Only the training thread touches `self.model`: it sets `model.stop_training` at the next
    batch's start when the Pulse asked for a stop, or at the epoch's end. On JAX, reading
    `Callback.model` syncs the fit's state into the model's variables; done from the Pulse
    thread between a step's dispatch (which donates its input buffers) and the trainer taking
    the step's output, it put donated buffers back into the model, the next step failed with
    "Buffer has been deleted or donated", and a cancelled job ended failed (half of the tries
    in the e2e cancel test). A batch-start hook keeps Keras's asynchronous batch dispatch,
    which only batch-end hooks turn off."""

    def __init__(
        self,
        experiment_id: int,
        flush_seconds: float,
        check_seconds: float,
        attempt: int | None = None,
        checkpointer: Checkpointer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.attempt = attempt
        self.checkpointer = checkpointer
        self.clock = clock
        self.stop_reason: str | None = None
        self.diverged_epoch: int | None = None
        self.first_epoch_at: datetime | None = None
        self._pending: list[tuple[int, dict[str, float | None]]] = []
        self._flushes = Cadence(flush_seconds, clock)
        self._written = 0
        self._spent = 0.0
        self._pulse = Pulse(experiment_id, attempt, check_seconds, self.request_stop)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._pulse.start()

    @property
    def spent_seconds(self) -> float:
        """fitq's own time in this fit: these hooks (metrics, writes, checkpoints) and the
        heartbeat thread's beats. Reported in the experiment's timings."""
        return self._spent + self._pulse.spent_seconds

    @property
    def heartbeat_seconds(self) -> float:
        """The heartbeat thread's part of spent_seconds."""
        return self._pulse.spent_seconds

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        try:
            self._epoch_end(epoch, logs)
        finally:
            self._spent += time.perf_counter() - started

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.stop_reason is not None:
            self.model.stop_training = True  # Keras stops after this batch

    def _epoch_end(self, epoch: int, logs: dict[str, Any] | None) -> None:
        if self.stop_reason is not None:
            self.model.stop_training = True
            return  # stopped by the pulse inside this epoch: its metrics are partial
        number = epoch + 1  # users count epochs from 1, as the notebooks' plots do
        metrics = progress.clean_metrics(logs or {})
        self._pending.append((number, metrics))
        if self.first_epoch_at is None:
            self.first_epoch_at = utcnow()
        diverged = "loss" in metrics and metrics["loss"] is None  # None: NaN or infinite
        checkpoint_due = self.checkpointer is not None and self.checkpointer.due()
        if not (
            diverged
            or checkpoint_due
            or shutdown.requested()
            or self._written == 0
            or self._flushes.due()
        ):
            return
        state = self.flush()
        if state == "lost":
            self._stop("lost")
            return
        if diverged:
            self.diverged_epoch = number
            self._stop("diverged")
            return
        if state == "cancelled":
            self._stop("cancelled")
        elif shutdown.requested():
            self._stop("shutdown")
        if self.checkpointer is not None and (checkpoint_due or self.stop_reason == "shutdown"):
            # A hand-back resumes from here, so it forces one.
            self.checkpointer.save(self.model, number)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        self.close()
        self._spent += time.perf_counter() - started

    def close(self) -> None:
        """Stop the pulse and write what is pending."""
        self._pulse.stop()
        if self.stop_reason != "lost" and self.flush() == "lost":
            self.stop_reason = "lost"

    def close_after_failure(self) -> None:
        """Keep the history up to a failed fit, without hiding the fit's own error."""
        try:
            self.close()
        except Exception:
            log.exception(
                "experiment %s: epochs before the failure not written", self.experiment_id
            )

    def flush(self) -> progress.EpochState:
        if not self._pending:
            return "ok"
        started = self.clock()
        rows, self._pending = self._pending, []
        state = progress.write_epochs(self.experiment_id, self.attempt, rows)
        self._flushes.ran(started)
        self._written += len(rows)
        return state

    def request_stop(self, reason: str) -> None:
        """From the Pulse thread: note why; the training thread stops the fit (see above)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def _stop(self, reason: str) -> None:
        self.request_stop(reason)
        self.model.stop_training = True
