"""fitq's per-epoch hook measured inside fits: EpochWriter sees the epochs of every other
block of `block` epochs, and each block's median epoch is compared with those of the blocks
around it, in which the hook did not run. Adjacent blocks are a few milliseconds apart, so
the machine's drift over seconds cancels (a steady one exactly: the blocks on both sides are
averaged), and the difference holds what the hook costs the fit beyond its own time
(caches, the logs it keeps). Epochs that overlap a beat of the Pulse thread are left out:
bench.interference measures those."""

from typing import Any

import keras
import numpy as np

from bench.interference import epochs_under
from worker.training.callbacks import EpochWriter


class EveryOtherBlock(keras.callbacks.Callback):
    """Forwards the fit's events to `writer`, but its epoch ends only in even blocks."""

    def __init__(self, writer: EpochWriter, block: int) -> None:
        super().__init__()
        self.writer = writer
        self.block = block

    def set_model(self, model: keras.Model) -> None:
        super().set_model(model)
        self.writer.set_model(model)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.writer.on_train_begin(logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.writer.on_train_end(logs)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.writer.on_train_batch_begin(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch // self.block) % 2 == 0:
            self.writer.on_epoch_end(epoch, logs)


def block_differences(
    ends: list[float], windows: list[tuple[float, float]], block: int, margin: float = 0.005
) -> list[tuple[float, float]]:
    """(hooked block's median epoch - the mean of its two neighbours', that mean) for each
    hooked block but the first: against the blocks on both sides a steady drift cancels.
    `ends`: the fit's start, then each epoch's end (EpochClock's, which runs
    before the writer: an epoch's hook falls in the next epoch's time, so the blocks are
    taken one epoch later). Blocks with fewer than half their epochs clear of the windows
    are skipped."""
    starts, stops, busy = epochs_under(ends, windows, margin)
    durations, clear = stops - starts, ~busy

    def median(k: int) -> float | None:
        span = slice(k * block + 1, (k + 1) * block + 1)
        kept = durations[span][clear[span]]
        return float(np.median(kept)) if 2 * kept.size >= block else None

    pairs = []
    for k in range(2, (durations.size - 1) // block - 1, 2):
        hooked, before, after = median(k), median(k - 1), median(k + 1)
        if hooked is not None and before is not None and after is not None:
            plain = (before + after) / 2
            pairs.append((hooked - plain, plain))
    return pairs
