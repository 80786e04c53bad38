"""A running job's heartbeat, on a thread of its own.

It beats every `every_seconds` whatever the epochs are doing, and reads the cancel flag and the
claim's fence with the same UPDATE. When it finds the job cancelled or taken over it calls
`on_stop` with the reason, from this thread: `on_stop` must only note it, never touch the
model (see EpochWriter.request_stop)."""

import threading
import time
from collections.abc import Callable

from worker.training import progress


class Pulse:
    def __init__(
        self,
        experiment_id: int,
        attempt: int | None,
        every_seconds: float,
        on_stop: Callable[[str], None],
    ) -> None:
        self.experiment_id = experiment_id
        self.attempt = attempt
        self.every_seconds = every_seconds
        self.on_stop = on_stop
        self.spent_seconds = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"pulse-{experiment_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.every_seconds):
            started = time.perf_counter()
            state = progress.heartbeat(self.experiment_id, self.attempt)
            self.spent_seconds += time.perf_counter() - started
            if state != "ok":
                self.on_stop(state)
                return
