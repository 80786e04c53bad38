"""Which trainer fits a job, and the record of it: the compiled trainer on JAX where it can
(worker/training/compiled/), Keras's model.fit where it cannot, saying why."""

import logging
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

import keras

from models.settings import Settings
from models.spec import ExperimentSpec
from worker.training import epoch_store, lifecycle
from worker.training.checkpoint import Checkpointer
from worker.training.data import LoadedData
from worker.training.fit_end import FitEnd
from worker.training.keras_fit import fit_with_keras
from worker.training.validation_split import split_validation

log = logging.getLogger(__name__)
TrainerName = Literal["compiled", "fit"]


@dataclass
class TrainerRecord:
    """What GET /experiments/{id} shows as `trainer`."""

    name: TrainerName
    compile_seconds: float | None = None
    program: str | None = None  # compiled, reused or disk cache (programs.Ready.source)
    fallback: str | None = None  # why the compiled trainer did not run it
    # The experiments trained as one program with it, itself included (packed_run.py).
    packed: list[int] | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def fallback_reason(settings: Settings, backend: str, data: LoadedData) -> str | None:
    """Why this job cannot take the compiled trainer, or None when it can. Multi-hot rows as
    word indices take it too: their numba loops run as host callbacks inside the program,
    measured faster than through fit (docs/compiled-trainer.md)."""
    if settings.trainer == "fit":
        return "FITQ_TRAINER=fit"
    if backend != "jax":
        return f"the compiled trainer runs on JAX; this worker runs {backend}"
    if data.nbytes > settings.compiled_max_data_bytes:
        return (
            f"the data ({data.nbytes:,} bytes) is over FITQ_COMPILED_MAX_DATA_BYTES "
            f"({settings.compiled_max_data_bytes:,})"
        )
    return None


def train(
    model: keras.Model,
    spec: ExperimentSpec,
    data: LoadedData,
    initial_epoch: int,
    *,
    experiment_id: int,
    attempt: int,
    settings: Settings,
    checkpointer: Checkpointer,
) -> tuple[FitEnd, TrainerRecord]:
    reason = fallback_reason(settings, keras.backend.backend(), data)
    compiled = None
    if reason is None:
        compiled, reason = _compiled(model, spec, data)
    if compiled is not None:
        ready = compiled.ready
        record = TrainerRecord("compiled", round(ready.compile_seconds, 4), ready.source)
        lifecycle.record_trainer(experiment_id, attempt, record.as_json())
        from worker.training.compiled.trainer import Job

        job = Job(
            name=str(experiment_id),
            write=partial(epoch_store.write_epochs, experiment_id, attempt),
            beat=partial(epoch_store.heartbeat, experiment_id, attempt),
            flush_seconds=settings.history_flush_seconds,
            check_seconds=settings.cancel_check_seconds,
            checkpointer=checkpointer,
        )
        return compiled.run(initial_epoch, job), record
    record = TrainerRecord("fit", fallback=reason)
    lifecycle.record_trainer(experiment_id, attempt, record.as_json())
    end = fit_with_keras(
        model,
        spec,
        data,
        initial_epoch,
        experiment_id=experiment_id,
        attempt=attempt,
        flush_seconds=settings.history_flush_seconds,
        check_seconds=settings.cancel_check_seconds,
        checkpointer=checkpointer,
    )
    return end, record


def _compiled(model: keras.Model, spec: ExperimentSpec, data: LoadedData) -> tuple[Any, str | None]:
    """The compiled fit, ready to run, or why it could not be built (then `fit` runs it: a
    model the program cannot trace is still a model Keras can fit)."""
    from worker.training.compiled.trainer import CompiledFit

    train_pair, validation = (data.x_train, data.y_train), data.validation
    if validation is None and spec.fit.validation_split:
        train_pair, validation = split_validation(*train_pair, spec.fit.validation_split)
    try:
        compiled = CompiledFit(model, spec, train_pair, validation)
        compiled.prepare()
    except Exception as exc:  # the fallback says why; the traceback goes to the log
        log.warning(
            "the compiled trainer could not build this fit; model.fit runs it", exc_info=True
        )
        return None, f"the compiled trainer could not build it: {type(exc).__name__}: {exc}"[:500]
    return compiled, None
