"""A running job's background thread: its heartbeat, and the epoch writes the fit does not
wait for.

Every `every_seconds`, whatever the epochs are doing, it calls `beat`, which writes the epochs
finished since the last write with the heartbeat, or beats alone (see EpochWriter); the same
UPDATE reads the cancel flag and the claim's fence. When a beat finds the job cancelled or
taken over it calls `on_stop` with the reason, from this thread: `on_stop` must only note it,
never touch the model (see EpochWriter.request_stop). Between beats, at least every
`tick_seconds`, it calls `tick`: checks that need no database (is a checkpoint due, was a
warm shutdown asked for), which the fit's epochs then need not make themselves. `nudge`
makes it beat at once (the first epoch's write, which the fit does not wait for)."""

import threading
import time
from collections.abc import Callable

from worker.training.epoch_store import EpochState


class Pulse:
    def __init__(
        self,
        name: str,
        every_seconds: float,
        beat: Callable[[], EpochState],
        on_stop: Callable[[EpochState], None],
        tick: Callable[[], None] | None = None,
        tick_seconds: float = 1.0,
    ) -> None:
        self.every_seconds = every_seconds
        self.tick_seconds = min(tick_seconds, every_seconds)
        self.beat = beat
        self.on_stop = on_stop
        self.tick = tick
        # CPU time of the beats and ticks: what this thread could take from the fit's (the
        # GIL, a core); the time it waits for the database it does not.
        self.cpu_seconds = 0.0
        self._wake = threading.Event()  # set by stop and nudge
        self._stopping = False
        self._nudged = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        """Beat now, not at the next beat's time."""
        self._nudged = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        next_beat = time.monotonic() + self.every_seconds
        while True:
            self._wake.wait(min(self.tick_seconds, max(0.0, next_beat - time.monotonic())))
            self._wake.clear()
            if self._stopping:
                return
            # A nudge that lands between these two lines is not lost: the beat below is
            # after it, and writes what it was for.
            nudged, self._nudged = self._nudged, False
            started = time.thread_time()
            state = EpochState.OK
            if self.tick is not None:
                self.tick()
            if nudged or time.monotonic() >= next_beat:
                state = self.beat()
                next_beat = time.monotonic() + self.every_seconds
            self.cpu_seconds += time.thread_time() - started
            if state != EpochState.OK:
                self.on_stop(state)
                return
