"""When a recurring cost (a checkpoint) is due during a fit."""

import time
from collections.abc import Callable


class Cadence:
    """Due once `every_seconds` have passed since the last run: the setting bounds the work a
    resume redoes, whatever a run costs. `every_seconds` 0 is due every time."""

    def __init__(self, every_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_seconds = every_seconds
        self.clock = clock
        self._last = clock()
        self.last_cost = 0.0  # seconds the last run took

    def due(self) -> bool:
        return self.every_seconds == 0 or self.clock() - self._last >= self.every_seconds

    def ran(self, started: float) -> None:
        """Record a run that began at `started` (a reading of the same clock)."""
        self._last = self.clock()
        self.last_cost = self._last - started

    def costly(self, share: float) -> bool:
        """Did the last run take more than `share` of the interval? (0 asks for every epoch.)"""
        return self.every_seconds > 0 and self.last_cost > share * self.every_seconds
