"""The `fit` trainer: Keras's model.fit with fitq's callbacks (EpochWriter, EarlyStopper).
Every backend runs it; on JAX it is the fallback of the compiled trainer."""

import keras

from models.spec import ExperimentSpec
from worker.training.callbacks import EpochWriter
from worker.training.checkpoint import Checkpointer
from worker.training.data import LoadedData
from worker.training.early_stop import EarlyStopper
from worker.training.fit_end import FitEnd
from worker.training.shuffled import fit_input


def fit_with_keras(
    model: keras.Model,
    spec: ExperimentSpec,
    data: LoadedData,
    initial_epoch: int,
    *,
    experiment_id: int,
    attempt: int | None,
    flush_seconds: float,
    check_seconds: float,
    checkpointer: Checkpointer,
) -> FitEnd:
    writer = EpochWriter(
        experiment_id,
        flush_seconds=flush_seconds,
        check_seconds=check_seconds,
        attempt=attempt,
        checkpointer=checkpointer,
    )
    stopping = spec.fit.early_stopping
    stopper = None if stopping is None else EarlyStopper(stopping)
    given = fit_input(
        data.x_train,
        data.y_train,
        seed=spec.fit.seed,
        shuffle=spec.fit.shuffle,
        batch_size=spec.fit.batch_size,
        validation=data.validation,
        validation_split=spec.fit.validation_split or 0.0,
    )
    try:
        model.fit(
            given.x,
            given.y,
            validation_data=given.validation_data,
            validation_split=given.validation_split,
            epochs=spec.fit.epochs,
            initial_epoch=initial_epoch,
            batch_size=given.batch_size,
            # Keras validates in batches of batch_size, or of 32 when the training input is
            # a dataset (shuffled.py): say it, or validation takes 16x the steps at 512.
            validation_batch_size=spec.fit.batch_size,
            shuffle=given.shuffle,
            # The stopper after the writer: each epoch is recorded before the stop decision,
            # so the history ends exactly at the epoch recorded as stopped_epoch.
            callbacks=[writer] if stopper is None else [writer, stopper],
            verbose=0,
        )
    except BaseException:
        writer.close_after_failure()  # the history up to the failure is kept
        raise
    end = FitEnd(
        stop_reason=writer.stop_reason,
        diverged_epoch=writer.diverged_epoch,
        first_epoch_at=writer.first_epoch_at,
        recording_seconds=writer.spent_seconds,
    )
    if stopper is not None and writer.stop_reason is None:  # cancel, NaN, shutdown come first
        end.early_stop = stopper.outcome(spec.fit.epochs)
    return end
