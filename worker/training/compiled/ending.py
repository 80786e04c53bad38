"""How a chunk's end ends a fit, and the end itself: one place for the compiled trainer and
for each lane of a packed one, so a packed repeat stops, checkpoints and finishes exactly as
the same fit alone would."""

from typing import Any

import jax
import keras
import numpy as np

from models.spec import ExperimentSpec
from worker import shutdown
from worker.training.compiled import stopping
from worker.training.compiled.state import restore_weights, sync
from worker.training.early_stop import outcome as early_stop_outcome
from worker.training.epoch_store import EpochState
from worker.training.fit_end import FitEnd, StopReason


def decide(
    answers: tuple[EpochState, EpochState | None],
    rows: list[tuple[int, dict]],
    epoch: int,
    epochs: int,
    early: bool,
) -> tuple[StopReason | None, int | None]:
    """(why the fit stops now or None, the diverged epoch), in the order the Keras callback
    decides: `answers` are the chunk's write's and what a beat noted meanwhile; `epoch` the
    epochs done after the chunk's `rows`; `early` whether early stopping stopped it."""
    if EpochState.LOST in answers:
        return StopReason.LOST, None
    loss = rows[-1][1].get("loss") if rows else None
    if loss is not None and not np.isfinite(loss):
        return StopReason.DIVERGED, epoch
    if EpochState.CANCELLED in answers:
        return StopReason.CANCELLED, None
    if shutdown.requested() and not early and epoch < epochs:
        # Handed back only with epochs left: a finished fit is recorded as such.
        return StopReason.SHUTDOWN, None
    return None, None


def checkpoints(reason: StopReason | None, due: bool) -> bool:
    """Whether to checkpoint after the chunk: when due, and always before a hand-back; never
    for a job that is not ours any more or whose weights are no longer finite."""
    if reason in (StopReason.LOST, StopReason.DIVERGED):
        return False
    return due or reason == StopReason.SHUTDOWN


def finish(
    model: keras.Model,
    spec: ExperimentSpec,
    rule: stopping.Rule | None,
    state: tuple,
    stop: Any,
    end: FitEnd,
) -> None:
    """Into the model: the last weights, or the best ones as Keras's callback restores them;
    into `end`: the early stop to record."""
    sync(model, state)
    if rule is None or stop is None:
        return
    host = jax.device_get(stop)
    if rule.restore_best_weights and bool(host["has_weights"]):
        restore_weights(model, stop["weights"])
    if end.stop_reason is None and bool(host["stopped"]):
        end.early_stop = early_stop_outcome(
            spec.fit.early_stopping,  # type: ignore[arg-type]
            stopped_epoch=int(host["stopped_epoch"]),
            best_epoch=int(host["best_epoch"]),
            best=float(host["best"]),
            epochs=spec.fit.epochs,
        )
