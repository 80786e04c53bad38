"""What bench.overhead records around a fit: each epoch's end, the Pulse thread's beats, and
the database server's CPU. Import after the Keras backend is chosen (bench.overhead does)."""

import time
from typing import Any

import keras
import psutil

from worker.training.callbacks import EpochWriter
from worker.training.epoch_store import EpochState


class EpochClock(keras.callbacks.Callback):
    """The fit's start and each epoch's end, on both sides (the same cost to each)."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.ends.append(time.perf_counter())

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.ends.append(time.perf_counter())


def time_beats(writer: EpochWriter) -> list[tuple[float, float]]:
    """The (start, end) of each of the writer's Pulse beats, on EpochClock's clock: wraps the
    beat the Pulse calls (instrumentation for this benchmark only)."""
    windows: list[tuple[float, float]] = []
    pulse = writer._pulse
    beat = pulse.beat

    def timed() -> EpochState:
        started = time.perf_counter()
        try:
            return beat()
        finally:
            windows.append((started, time.perf_counter()))

    pulse.beat = timed
    return windows


def database_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes so far (0 for SQLite, whose writes run
    in the Pulse thread and count in its CPU). Its backends live as long as the pool's
    connections, which outlast a fit."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if process.info["name"] == "postgres" and times is not None:
            total += times.user + times.system
    return total
