"""When a recurring cost (an SQL write, a checkpoint) is due during a fit."""

import time
from collections.abc import Callable


class Cadence:
    """Due once `every_seconds` have passed since the last run, and never sooner than
    `ratio` x that run's own duration: at ratio 100 the action takes at most ~1% of the
    fit, however short its epochs and however slow the database or disk is today.
    `every_seconds` 0 is due every time: the caller asked for no bound."""

    def __init__(
        self, every_seconds: float, clock: Callable[[], float] = time.monotonic, ratio: float = 100
    ) -> None:
        self.every_seconds = every_seconds
        self.ratio = ratio
        self.clock = clock
        self._last = clock()
        self._cost = 0.0

    def due(self) -> bool:
        if self.every_seconds == 0:
            return True
        return self.clock() - self._last >= max(self.every_seconds, self.ratio * self._cost)

    def ran(self, started: float) -> None:
        """Record a run that began at `started` (a reading of the same clock)."""
        self._last = self.clock()
        self._cost = self._last - started
