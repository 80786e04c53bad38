"""How many epochs the next call of the compiled program runs: about `target_seconds` of
them at the epoch time measured so far, so the history is written, the heartbeat beats and a
cancel is seen about as often as with `fit` (FITQ_HISTORY_FLUSH_SECONDS). The first call runs
one epoch, which shows progress at once and measures the epoch."""

import math


class ChunkSizer:
    def __init__(self, target_seconds: float, capacity: int) -> None:
        self.target_seconds = target_seconds
        self.capacity = capacity
        self._seconds_per_epoch: float | None = None

    def next(self, remaining: int) -> int:
        """Epochs for the next call, at least one and at most `remaining`."""
        count = 1
        if self._seconds_per_epoch is not None and self.target_seconds > 0:
            fits = self.target_seconds / max(self._seconds_per_epoch, 1e-9)
            count = max(1, math.floor(fits))
        return max(1, min(count, self.capacity, remaining))

    def ran(self, epochs: int, seconds: float) -> None:
        """A call ran `epochs` in `seconds`; the latest measure wins (one epoch's figure
        includes the call's fixed cost, so it errs towards shorter chunks)."""
        if epochs > 0:
            self._seconds_per_epoch = seconds / epochs
