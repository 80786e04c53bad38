"""The Keras callback that records a fit: epochs to SQL in batches, checkpoints, and stops on
cancel, divergence, a lost claim or a warm shutdown."""

import logging
import math
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any

import keras

from models.tables import utcnow
from worker import shutdown
from worker.training import epoch_store
from worker.training.checkpoint import Checkpointer
from worker.training.epoch_store import EpochState
from worker.training.fit_end import StopReason
from worker.training.pulse import Pulse

log = logging.getLogger(__name__)


class EpochWriter(keras.callbacks.Callback):
    """Records a fit's epochs without making it wait for the database: finished epochs are
    kept in memory and written with a beat by the Pulse thread at most `flush_seconds`
    apart; the fit itself writes only where it must (before a checkpoint, on divergence, on
    a warm shutdown, at the end). Stops the fit on cancel, divergence, a lost claim or a warm
    shutdown (`stop_reason`). Why each part is as it is (the fast path, rows before
    checkpoints, only the training thread touching the model on JAX): docs/epoch-writes.md."""

    def __init__(
        self,
        experiment_id: int,
        flush_seconds: float,
        check_seconds: float,
        attempt: int | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.attempt = attempt
        self.checkpointer = checkpointer
        self.flush_seconds = flush_seconds
        self.stop_reason: StopReason | None = None
        self.diverged_epoch: int | None = None
        self.first_epoch_at: datetime | None = None
        # Epochs not written yet, as (epoch, Keras's logs): appended by the fit, taken by
        # writes; a deque's append and popleft need no lock.
        self._pending: deque[tuple[int, dict[str, Any]]] = deque()
        self._write_lock = threading.Lock()  # one write at a time, in epoch order
        self._failure: Exception | None = None
        self._written = 0
        self._last_write = time.monotonic()
        self._spent = 0.0
        self._calm = False  # the next epoch may take the fast path (the first one does not)
        every = min(check_seconds, flush_seconds) if flush_seconds > 0 else check_seconds
        self._pulse = Pulse(
            f"pulse-{experiment_id}", every, self._beat, self.request_stop, tick=self._tick
        )

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._pulse.start()

    @property
    def spent_seconds(self) -> float:
        """fitq's own time in this fit: these hooks (metrics, the writes the fit waits for,
        checkpoints) and the CPU time of the Pulse thread's beats and writes. Reported in the
        experiment's timings."""
        return self._spent + self._pulse.cpu_seconds

    @property
    def background_seconds(self) -> float:
        """The Pulse thread's part of spent_seconds (CPU time)."""
        return self._pulse.cpu_seconds

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        try:
            logs = logs or {}
            if self._calm and not _diverged(logs):
                self._pending.append((epoch + 1, logs))  # the fast path: the Pulse writes it
            else:
                self._epoch_end(epoch, logs)
        finally:
            self._spent += time.perf_counter() - started

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.stop_reason is not None:
            self.model.stop_training = True  # Keras stops after this batch

    def _epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        try:
            self._slow_epoch_end(epoch, logs)
        finally:
            self._calm = not self._due()

    def _slow_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if self._failure is not None:
            raise self._failure  # a background write gave up: the fit fails, rows kept
        if self.stop_reason is not None:
            self.model.stop_training = True
            return  # stopped by the pulse inside this epoch: its metrics are partial
        number = epoch + 1  # users count epochs from 1, as the notebooks' plots do
        self._pending.append((number, logs))
        if self.first_epoch_at is None:
            self.first_epoch_at = utcnow()
            self._pulse.nudge()  # written at once, unless this epoch writes itself below
        diverged = _diverged(logs)
        checkpoint_due = self.checkpointer is not None and self.checkpointer.due()
        if not (diverged or checkpoint_due or shutdown.requested() or self.flush_seconds == 0):
            return  # the Pulse writes it
        state = self.flush()
        if state == EpochState.LOST:
            self._stop(StopReason.LOST)
            return
        if diverged:
            self.diverged_epoch = number
            self._stop(StopReason.DIVERGED)
            return
        if state == EpochState.CANCELLED:
            self._stop(StopReason.CANCELLED)
        elif shutdown.requested():
            self._stop(StopReason.SHUTDOWN)
        if self.checkpointer is not None and (
            checkpoint_due or self.stop_reason == StopReason.SHUTDOWN
        ):
            # A hand-back resumes from here, so it forces one.
            self.checkpointer.save(self.model, number)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        self.close()
        self._spent += time.perf_counter() - started

    def close(self) -> None:
        """Stop the pulse and write what is pending."""
        self._pulse.stop()
        if self.stop_reason != StopReason.LOST and self.flush() == EpochState.LOST:
            self.stop_reason = StopReason.LOST

    def close_after_failure(self) -> None:
        """Keep the history up to a failed fit, without hiding the fit's own error."""
        try:
            self.close()
        except Exception:
            log.exception(
                "experiment %s: epochs before the failure not written", self.experiment_id
            )

    def flush(self) -> epoch_store.EpochState:
        """Write the pending epochs now (with the heartbeat), after any write under way."""
        with self._write_lock:
            return self._write_pending()

    def _due(self) -> bool:
        """Whether the next epoch must take the slow path: something the fit itself has to
        do or to see is due."""
        return (
            self.flush_seconds == 0
            or self.stop_reason is not None
            or self._failure is not None
            or shutdown.requested()
            or (self.checkpointer is not None and self.checkpointer.due())
        )

    def _tick(self) -> None:
        """The Pulse thread, between beats: only ever ends the fast path; the fit's next slow
        epoch decides when it starts again."""
        if self._due():
            self._calm = False

    def _beat(self) -> epoch_store.EpochState:
        """The Pulse thread's beat: the pending epochs with the heartbeat, or the heartbeat
        alone. A failed write keeps its rows for the fit's own write (see _epoch_end), and
        this thread only beats from then on."""
        with self._write_lock:
            due = self._written == 0 or time.monotonic() - self._last_write >= self.flush_seconds
            if self._failure is not None or not self._pending or not due:
                return epoch_store.heartbeat(self.experiment_id, self.attempt)
            try:
                return self._write_pending()
            except Exception as exc:  # raised in the fit's thread at its next epoch end
                log.warning("experiment %s: background write failed: %s", self.experiment_id, exc)
                self._failure = exc
                self._calm = False
                return epoch_store.EpochState.OK

    def _write_pending(self) -> epoch_store.EpochState:
        """Under _write_lock. Takes the rows the fit has appended so far (it may append more
        meanwhile) and writes them."""
        rows = [self._pending.popleft() for _ in range(len(self._pending))]
        if not rows:
            return epoch_store.EpochState.OK
        try:
            state = epoch_store.write_epochs(self.experiment_id, self.attempt, rows)
        except Exception:
            self._pending.extendleft(reversed(rows))  # back in front of any appended since
            raise
        self._written += len(rows)
        self._last_write = time.monotonic()
        return state

    def request_stop(self, reason: StopReason | EpochState) -> None:
        """From the Pulse thread: note why; the training thread stops the fit (see above)."""
        if self.stop_reason is None:
            self.stop_reason = StopReason(reason)  # a beat's CANCELLED or LOST, by value
        self._calm = False

    def _stop(self, reason: StopReason) -> None:
        self.request_stop(reason)
        self.model.stop_training = True


def _diverged(logs: dict[str, Any]) -> bool:
    """A non-finite loss (NaN or infinite): the fit has diverged."""
    loss = logs.get("loss")
    return loss is not None and not math.isfinite(loss)
