"""The host side of a packed fit: a study's repeats of one variant (one architecture, their
own seeds) trained by one vectorised program (pack.py), each repeat still its own job.

Between chunks each lane does what trainer.py does for a fit alone, through its own Job:
writes its epochs (fenced by its own attempt), hears its own cancel or lost claim, stops at
its own non-finite loss or early stop, checkpoints its own weights. A lane that ends is
frozen in the program (its count is 0) and handed to `on_end` at once, so a cancelled or
early-stopped repeat finishes while the others go on (docs/compiled-trainer.md)."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from models.spec import ExperimentSpec
from models.tables import utcnow
from worker.training.compiled import ending, pack, program, programs, stopping
from worker.training.compiled.chunks import ChunkSizer
from worker.training.compiled.state import initial_state, keras_logs, metrics_reset, sync
from worker.training.compiled.trainer import CAPACITY, Job, Pair
from worker.training.epoch_store import EpochState
from worker.training.fit_end import FitEnd
from worker.training.pulse import Pulse

# Told which lane ended, and how; the lane's model then holds its final weights.
OnEnd = Callable[[int, FitEnd], None]


@dataclass
class Lane:
    """One repeat in the pack: its own model (its variables go in and come out through it),
    its own job, and where its fit stands."""

    model: keras.Model
    job: Job
    epoch: int  # epochs done
    end: FitEnd = field(default_factory=FitEnd)
    noted: EpochState | None = None  # a stop its beat found (cancel, lost)
    done: bool = False


class PackedFit:
    """Repeats of one spec as one fit: `models` built from each repeat's spec (and resumed
    from its checkpoint), `seeds` their fit.seed. `prepare` compiles (or reuses) the program
    before any epoch runs, so a failure there can still send each repeat its own way."""

    def __init__(
        self,
        models: list[keras.Model],
        spec: ExperimentSpec,
        seeds: list[int],
        train: Pair,
        validation: Pair | None,
    ) -> None:
        self.models, self.spec = models, spec
        self.rule = stopping.rule_of(spec)
        self.layout = program.Layout(spec.fit.batch_size, spec.fit.shuffle, CAPACITY, self.rule)
        self.train = (jnp.asarray(train[0]), jnp.asarray(train[1]))
        self.validation = None if validation is None else tuple(map(jnp.asarray, validation))
        for model in models:
            model._symbolic_build(data_batch=(train[0][:1], train[1][:1], None))
        self.metrics_zero = metrics_reset(models[0])
        self.keys = pack.keys(seeds)
        self.ready: programs.Ready | None = None

    def initial(self) -> tuple[Any, Any]:
        """The lanes' variables and early-stopping states, stacked."""
        states = [initial_state(model) for model in self.models]
        stop = None
        if self.rule is not None:
            stop = pack.stack([stopping.initial(self.rule, state) for state in states])
        return pack.stack(states), stop

    def prepare(self) -> programs.Ready:
        state, stop = self.initial()
        lanes = len(self.models)
        args = self.args(state, [0] * lanes, [1] * lanes, stop)
        model = self.models[0]
        architecture = {
            "model": self.spec.model.model_dump(mode="json"),
            "compile": self.spec.compile.model_dump(mode="json"),
            "input": str(model.inputs[0].dtype),
        }
        self.ready = programs.ready(model, architecture, self.layout, args, build=pack.build)
        return self.ready

    def args(self, state: Any, starts: list[int], counts: list[int], stop: Any) -> tuple:
        """The program's arguments: lane i runs counts[i] epochs from epoch starts[i]."""
        return (
            state,
            self.train,
            self.validation,
            self.metrics_zero,
            jnp.asarray(starts, jnp.int32),
            jnp.asarray(counts, jnp.int32),
            self.keys,
            stop,
        )

    def run(self, initial_epochs: list[int], jobs: list[Job], on_end: OnEnd) -> list[FitEnd]:
        """Train every lane to its end; each lane's end goes to `on_end` as it comes."""
        assert self.ready is not None, "prepare() first"
        lanes = [
            Lane(model, job, epoch)
            for model, job, epoch in zip(self.models, jobs, initial_epochs, strict=True)
        ]
        _PackHost(self, lanes, on_end).run()
        return [lane.end for lane in lanes]


class _PackHost:
    def __init__(self, fit: PackedFit, lanes: list[Lane], on_end: OnEnd) -> None:
        self.fit, self.lanes, self.on_end = fit, lanes, on_end
        self.epochs = fit.spec.fit.epochs
        first = lanes[0].job
        self.sizer = ChunkSizer(first.flush_seconds, CAPACITY)
        self._lock = threading.Lock()  # a beat and a write never overlap
        self._spent = 0.0
        self._pulse = Pulse(f"pulse-pack-{first.name}", first.check_seconds, self._beat, _never)

    def run(self) -> None:
        state, stop = self.fit.initial()
        for index, lane in enumerate(self.lanes):
            if lane.epoch >= self.epochs:  # resumed with nothing left to run
                self._end(index, state, stop)
        self._pulse.start()
        try:
            while any(not lane.done for lane in self.lanes):
                state, stop = self._chunk(state, stop)
        finally:
            self._pulse.stop()

    def _chunk(self, state: Any, stop: Any) -> tuple[Any, Any]:
        left = [self.epochs - lane.epoch for lane in self.lanes if not lane.done]
        count = self.sizer.next(max(left))
        counts = [0 if lane.done else min(count, self.epochs - lane.epoch) for lane in self.lanes]
        starts = [lane.epoch for lane in self.lanes]
        started = time.perf_counter()
        new_state, new_stop, buffers, ran = self.fit.ready.run(  # type: ignore[union-attr]
            *self.fit.args(state, starts, counts, stop)
        )
        ran = np.asarray(ran)  # waits for the chunk
        self.sizer.ran(int(ran.max()), time.perf_counter() - started)
        written = time.perf_counter()
        logs = jax.device_get(buffers)
        stopped = None if new_stop is None else np.asarray(stopping.stopped(new_stop))
        for index, lane in enumerate(self.lanes):
            if not lane.done:
                own = {name: values[index] for name, values in logs.items()}
                rows = keras_logs(own, int(ran[index]), first_epoch=lane.epoch + 1)
                early = stopped is not None and bool(stopped[index])
                self._after_chunk(index, rows, early, new_state, new_stop)
        self._spent += time.perf_counter() - written
        return new_state, new_stop

    def _after_chunk(self, index: int, rows: list, early: bool, state: Any, stop: Any) -> None:
        """Lane `index`'s share of the chunk's end: what trainer.py does for a fit alone."""
        lane = self.lanes[index]
        if lane.end.first_epoch_at is None:
            lane.end.first_epoch_at = utcnow()
        with self._lock:
            answer = lane.job.write(rows)
        lane.epoch += len(rows)
        reason, diverged = ending.decide((answer, lane.noted), rows, lane.epoch, self.epochs, early)
        lane.end.stop_reason, lane.end.diverged_epoch = reason, diverged
        checkpointer = lane.job.checkpointer
        if checkpointer is not None and ending.checkpoints(reason, checkpointer.due()):
            sync(lane.model, pack.lane(state, index))
            checkpointer.save(lane.model, lane.epoch)
        if reason is not None or early or lane.epoch >= self.epochs:
            self._end(index, state, stop)

    def _end(self, index: int, state: Any, stop: Any) -> None:
        lane = self.lanes[index]
        lane_stop = None if stop is None else pack.lane(stop, index)
        ending.finish(
            lane.model, self.fit.spec, self.fit.rule, pack.lane(state, index), lane_stop, lane.end
        )
        lane.end.recording_seconds = self._spent + self._pulse.cpu_seconds
        lane.done = True
        self.on_end(index, lane.end)

    def _beat(self) -> EpochState:
        """Every running lane's heartbeat; a lane's cancel or lost claim is noted for its
        next chunk's end, and the beats go on for the others."""
        for lane in self.lanes:
            if not lane.done:
                with self._lock:
                    answer = lane.job.beat()
                if answer != EpochState.OK:
                    lane.noted = answer
        return EpochState.OK


def _never(_: EpochState) -> None:
    """The pack's Pulse never stops on one lane's answer (_beat answers OK)."""
