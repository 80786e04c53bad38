"""One experiment, start to end. Failures become a readable message; tracebacks go to the log."""

import logging
import re
import resource
import sys
import time
from dataclasses import replace
from enum import StrEnum
from typing import Any, NamedTuple

import keras
import numpy as np

from models import artifacts
from models.settings import Settings, get_settings
from models.spec import ExperimentSpec
from models.tables import ExperimentStatus
from worker import metrics, node
from worker.training import epoch_store, lifecycle, trainers
from worker.training.build import build_model, downloadable
from worker.training.checkpoint import Checkpointer, restore_from_store, save_to_store
from worker.training.data import LoadedData, load_dataset
from worker.training.fit_end import FitEnd, StopReason
from worker.training.sparse_input import input_encoding
from worker.training.targets import shape_targets
from worker.training.trainers import TrainerRecord
from worker.training.versions import versions

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How a job's run ended: a final status, handed back on a warm shutdown (queued again),
    or not ours (finished, held by another worker, or taken over while it ran)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HANDED_BACK = "handed_back"
    NOT_OURS = "not_ours"


# Lines of TensorFlow's embedded graph tracebacks ("File ...", indented code, node names).
_TRACEBACK_LINE = re.compile(r"^\s|most recent call last|^Traceback")


def run_experiment(experiment_id: int) -> Outcome:
    """Run one job; return how it ended."""
    claimed = lifecycle.claim(experiment_id, node.name())
    if claimed is None:
        log.info(
            "experiment %s is not ours to run (finished or held); nothing to do", experiment_id
        )
        return Outcome.NOT_OURS
    settings = get_settings()
    attempt = claimed.attempt
    from worker.training.packed_run import run_packed  # it builds on this module

    packed = run_packed(experiment_id, claimed, settings)
    if packed is not None:
        return packed
    try:
        fitted = _fit(experiment_id, claimed, settings)
    except Exception as exc:
        log.exception("experiment %s failed", experiment_id)
        message = readable_error(exc, settings.max_error_chars)
        lifecycle.finish(
            experiment_id,
            ExperimentStatus.FAILED,
            message,
            attempt=attempt,
            backend=keras.backend.backend(),
        )
        drop_checkpoints_unless_kept(experiment_id, settings)
        return Outcome.FAILED
    return conclude(experiment_id, attempt, claimed.spec, fitted, settings)


def conclude(
    experiment_id: int, attempt: int, spec: dict[str, Any], fitted: "Fitted", settings: Settings
) -> Outcome:
    """Record how the fit ended: the final model and status, or the job handed back or left
    to the attempt that took it over (a packed repeat's end too, see packed_run.py)."""
    end, model = fitted.end, fitted.model
    if end.stop_reason == StopReason.LOST:
        log.warning("experiment %s was taken over by another attempt; stopping", experiment_id)
        return Outcome.NOT_OURS
    if end.stop_reason == StopReason.SHUTDOWN:
        log.info("experiment %s handed back: the worker is shutting down", experiment_id)
        lifecycle.requeue(experiment_id, attempt)
        return Outcome.HANDED_BACK
    status, error = ExperimentStatus.SUCCEEDED, None
    if end.stop_reason == StopReason.DIVERGED:
        status = ExperimentStatus.FAILED
        error = f"diverged: the loss became NaN or infinite at epoch {end.diverged_epoch}"
    elif end.stop_reason == StopReason.CANCELLED:
        status = ExperimentStatus.CANCELLED
    else:
        # The final model before the status: a succeeded experiment always has one.
        final = downloadable(model, ExperimentSpec.model_validate(spec))
        save_to_store(final, artifacts.final_model_key(experiment_id))
    lifecycle.finish(
        experiment_id,
        status,
        error,
        end.early_stop,
        attempt=attempt,
        timings=fitted.timings,
        backend=keras.backend.backend(),
    )
    drop_checkpoints_unless_kept(experiment_id, settings)
    return Outcome(status.value)


def drop_checkpoints_unless_kept(experiment_id: int, settings: Settings) -> None:
    if settings.keep_checkpoints:
        return
    try:
        artifacts.drop_checkpoints(experiment_id)
    except Exception:  # the job's outcome is recorded; stray checkpoints go with the experiment
        log.exception("experiment %s: its checkpoints were not deleted", experiment_id)


def resume_from_checkpoint(
    experiment_id: int, claimed: lifecycle.Claim, model: keras.Model, spec: ExperimentSpec
) -> int:
    """Load the latest checkpoint, if any, and cut the history back to it; the epoch to
    continue from (0: from the start). A checkpoint past the recorded history is not this
    experiment's (a database reset over an old artifact store reuses ids) and is ignored;
    the history is written before each checkpoint, so a real one is never past it."""
    found = [c for c in artifacts.checkpoints(experiment_id) if c[0] <= claimed.recorded_epoch]
    if not found:
        artifacts.drop_checkpoints(experiment_id)
    start, attempt = 0, claimed.attempt
    if found:
        start, key = found[-1]
        restore_from_store(model, key, saved_as=lambda m: downloadable(m, spec))
        log.info("experiment %s resumed from epoch %s (attempt %s)", experiment_id, start, attempt)
    lifecycle.resume_at(experiment_id, start)
    return start


class Fitted(NamedTuple):
    end: FitEnd
    model: keras.Model
    timings: dict[str, Any]
    trainer: TrainerRecord


def _fit(experiment_id: int, claimed: lifecycle.Claim, settings: Settings) -> Fitted:
    spec = ExperimentSpec.model_validate(claimed.spec)
    attempt = claimed.attempt
    lifecycle.record_versions(experiment_id, attempt, versions())
    seed_everything(spec.fit.seed)  # a generated dataset without a random_state draws from it
    # Keras's own answer, however the backend was chosen (KERAS_BACKEND, keras.json, settings).
    encoding = input_encoding(spec, keras.backend.backend(), on_cpu=running_on_cpu())
    if encoding != "dense":
        log.info("experiment %s: multi-hot rows go in as %s", experiment_id, encoding)
    clock = Stopwatch()
    data = load_dataset(spec.dataset, encoding=encoding)
    load_seconds = clock.lap()
    # Seeded again: the weights, dropout masks and batch orders then start from the seed
    # whatever the loading drew (a first load may draw or import, a cached one does neither).
    seed_everything(spec.fit.seed)
    model = build_model(spec, data.input_shape, encoding=encoding)
    data = shaped_for_model(model, spec, data)
    initial_epoch = resume_from_checkpoint(experiment_id, claimed, model, spec)
    build_seconds = clock.lap()
    checkpointer = checkpointer_for(experiment_id, spec, settings)
    end, trainer = trainers.train(
        model,
        spec,
        data,
        initial_epoch,
        experiment_id=experiment_id,
        attempt=attempt,
        settings=settings,
        checkpointer=checkpointer,
    )
    fit_seconds = clock.lap()
    metrics.fit_ended(trainer.name, fit_seconds)
    timings = {
        "load_seconds": round(load_seconds, 4),
        "build_seconds": round(build_seconds, 4),
        "fit_seconds": round(fit_seconds, 4),
        "recording_seconds": round(end.recording_seconds, 4),
        "first_epoch_at": None if end.first_epoch_at is None else end.first_epoch_at.isoformat(),
        "max_rss_bytes": max_rss_bytes(),
    }
    if data.test is not None and end.stop_reason is None:
        evaluate_test_split(experiment_id, model, data.test, spec.fit.batch_size)
    return Fitted(end, model, timings, trainer)


def checkpointer_for(experiment_id: int, spec: ExperimentSpec, settings: Settings) -> Checkpointer:
    """Checkpoints of the downloadable form of the model, as often as the settings ask: a
    fit alone and each repeat of a pack save alike."""
    return Checkpointer(
        experiment_id,
        settings.checkpoint_every_seconds,
        saved_as=lambda model: downloadable(model, spec),
    )


def seed_everything(seed: int | None) -> None:
    """Python's, numpy's and the backend's global generators, and Keras's own: on JAX the
    initializers and dropout layers take their seeds from Python's, the batch order from
    numpy's (docs/operations.md, "Reproducibility")."""
    if seed is not None:
        keras.utils.set_random_seed(seed)


def running_on_cpu() -> bool:
    """Whether the backend computes on the CPU (asked of JAX and TensorFlow, the backends
    whose multi-hot input depends on it)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return bool(jax.default_backend() == "cpu")
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.config.list_physical_devices("GPU")
    return True


def evaluate_test_split(
    experiment_id: int, model: keras.Model, test: tuple[np.ndarray, np.ndarray], batch_size: int
) -> None:
    """The held-out test evaluation (with the best weights when early stopping restored them)."""
    x_test, y_test = test
    scores = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0, return_dict=True)
    lifecycle.store_test_metrics(experiment_id, epoch_store.clean_metrics(scores))


def shaped_for_model(model: keras.Model, spec: ExperimentSpec, data: LoadedData) -> LoadedData:
    """Every label array shaped to the model's output (see targets.py)."""
    output_shape = tuple(model.output_shape)

    def pair(split: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray] | None:
        if split is None:
            return None
        return split[0], shape_targets(split[1], output_shape, spec.compile.loss)

    y_train = shape_targets(data.y_train, output_shape, spec.compile.loss)
    return replace(data, y_train=y_train, validation=pair(data.validation), test=pair(data.test))


def readable_error(exc: BaseException, limit: int) -> str:
    """The exception's own words without embedded tracebacks, cut to `limit` characters."""
    lines = [line for line in str(exc).splitlines() if not _TRACEBACK_LINE.search(line)]
    text = "\n".join(line for line in lines if line.strip()) or "no message"
    message = f"{type(exc).__name__}: {text}"
    return message if len(message) <= limit else message[: limit - 1] + "…"


class Stopwatch:
    def __init__(self) -> None:
        self._last = time.perf_counter()

    def lap(self) -> float:
        """Seconds since the last lap (or the start)."""
        now = time.perf_counter()
        elapsed, self._last = now - self._last, now
        return elapsed


def max_rss_bytes() -> int:
    """The worker process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
