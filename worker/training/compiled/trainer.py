"""The host side of the compiled trainer: calls the program a chunk of epochs at a time and,
between chunks, does what makes it a fitq job: records the chunk's epochs (fenced by the
attempt), sees a cancel or a lost claim, stops on a non-finite loss at its exact epoch,
checkpoints when due and hands the job back on a warm shutdown. A Pulse thread beats while
a chunk runs (docs/compiled-trainer.md)."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from models.spec import ExperimentSpec
from models.tables import utcnow
from worker.training.checkpoint import Checkpointer
from worker.training.compiled import ending, program, programs, stopping
from worker.training.compiled.chunks import ChunkSizer
from worker.training.compiled.state import initial_state, keras_logs, metrics_reset, sync
from worker.training.epoch_store import EpochState
from worker.training.fit_end import FitEnd
from worker.training.pulse import Pulse

log = logging.getLogger(__name__)
# Most epochs one call runs: the size of the logs' buffers, so part of the program.
CAPACITY = 16_384
Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Job:
    """What the host does between chunks: `write` records epochs (rows as the writer takes
    them) with a heartbeat, `beat` beats alone; both answer whether to go on."""

    name: str
    write: Callable[[list[tuple[int, dict]]], EpochState]
    beat: Callable[[], EpochState]
    flush_seconds: float
    check_seconds: float
    checkpointer: Checkpointer | None = None


class CompiledFit:
    """One fit through the compiled program. `prepare` compiles (or reuses) it before any
    epoch runs, so a failure there can still fall back to `fit`; `run` trains."""

    def __init__(
        self, model: keras.Model, spec: ExperimentSpec, train: Pair, validation: Pair | None
    ) -> None:
        self.model, self.spec = model, spec
        fit = spec.fit
        self.rule = stopping.rule_of(spec)
        self.layout = program.Layout(fit.batch_size, fit.shuffle, CAPACITY, self.rule)
        self.train = (jnp.asarray(train[0]), jnp.asarray(train[1]))
        self.validation = None if validation is None else tuple(map(jnp.asarray, validation))
        model._symbolic_build(data_batch=(train[0][:1], train[1][:1], None))
        self.metrics_zero = metrics_reset(model)
        self.key = jax.random.key(fit.seed if fit.seed is not None else _fresh_seed())
        self.ready: programs.Ready | None = None

    def prepare(self) -> programs.Ready:
        state = initial_state(self.model)
        stop = None if self.rule is None else stopping.initial(self.rule, state)
        args = self.args(state, 0, 1, stop)
        architecture = {
            "model": self.spec.model.model_dump(mode="json"),
            "compile": self.spec.compile.model_dump(mode="json"),
            "input": str(self.model.inputs[0].dtype),
        }
        self.ready = programs.ready(self.model, architecture, self.layout, args)
        return self.ready

    def args(self, state: tuple, start: int, count: int, stop: Any) -> tuple:
        """The program's arguments for `count` epochs from epoch `start` (0-based)."""
        return (
            state,
            self.train,
            self.validation,
            self.metrics_zero,
            jnp.int32(start),
            jnp.int32(count),
            self.key,
            stop,
        )

    def run(self, initial_epoch: int, job: Job) -> FitEnd:
        assert self.ready is not None, "prepare() first"
        host = _Host(self, job)
        return host.run(initial_epoch)


class _Host:
    def __init__(self, fit: CompiledFit, job: Job) -> None:
        self.fit, self.job = fit, job
        self.model = fit.model
        self.epochs = fit.spec.fit.epochs
        self.sizer = ChunkSizer(job.flush_seconds, CAPACITY)
        self.end = FitEnd()
        self._noted: EpochState | None = None  # a stop the Pulse found (cancel, lost)
        self._early = False  # early stopping ended the fit
        self._lock = threading.Lock()  # a beat and a write never overlap
        self._spent = 0.0
        self._pulse = Pulse(f"pulse-{job.name}", job.check_seconds, self._beat, self._note)

    def run(self, initial_epoch: int) -> FitEnd:
        state = initial_state(self.model)
        rule = self.fit.rule
        stop = None if rule is None else stopping.initial(rule, state)
        epoch = initial_epoch
        self._pulse.start()
        try:
            while epoch < self.epochs and self.end.stop_reason is None and not self._early:
                state, stop, epoch = self._chunk(state, stop, epoch)
        finally:
            self._pulse.stop()
            self.end.recording_seconds = self._spent + self._pulse.cpu_seconds
        self._finish(state, stop)
        return self.end

    def _chunk(self, state: tuple, stop: Any, epoch: int) -> tuple[tuple, Any, int]:
        count = self.sizer.next(self.epochs - epoch)
        started = time.perf_counter()
        new_state, new_stop, buffers, ran = self.fit.ready.run(  # type: ignore[union-attr]
            *self.fit.args(state, epoch, count, stop)
        )
        ran = int(ran)  # waits for the chunk
        self.sizer.ran(ran, time.perf_counter() - started)
        written = time.perf_counter()
        rows = keras_logs(buffers, ran, first_epoch=epoch + 1)
        if self.end.first_epoch_at is None:
            self.end.first_epoch_at = utcnow()
        with self._lock:
            answer = self.job.write(rows)
        epoch += ran
        self._early = new_stop is not None and bool(stopping.stopped(new_stop))
        self._after_write(answer, rows, new_state, new_stop, epoch)
        self._spent += time.perf_counter() - written
        return new_state, new_stop, epoch

    def _after_write(
        self, answer: EpochState, rows: list, state: tuple, stop: Any, epoch: int
    ) -> None:
        """What the chunk's end decides (ending.py)."""
        reason, diverged = ending.decide(
            (answer, self._noted), rows, epoch, self.epochs, self._early
        )
        self.end.stop_reason, self.end.diverged_epoch = reason, diverged
        checkpointer = self.job.checkpointer
        if checkpointer is not None and ending.checkpoints(reason, checkpointer.due()):
            sync(self.model, state)
            checkpointer.save(self.model, epoch)

    def _finish(self, state: tuple, stop: Any) -> None:
        ending.finish(self.model, self.fit.spec, self.fit.rule, state, stop, self.end)

    def _beat(self) -> EpochState:
        with self._lock:
            return self.job.beat()

    def _note(self, reason: EpochState) -> None:
        self._noted = reason


def _fresh_seed() -> int:
    return int(np.random.default_rng().integers(0, 2**31 - 1))
