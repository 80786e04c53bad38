"""fit.early_stopping -> Keras's EarlyStopping, built from our typed fields (never
deserialized), and the words the experiment keeps when it stopped the fit."""

import keras

from models.spec_early_stopping import EarlyStoppingSpec
from worker.training.lifecycle import EarlyStop


class EarlyStopper(keras.callbacks.EarlyStopping):
    """Keras's EarlyStopping that remembers its spec, to say afterwards why it stopped."""

    def __init__(self, spec: EarlyStoppingSpec) -> None:
        super().__init__(
            monitor=spec.monitor,
            min_delta=spec.min_delta,
            patience=spec.patience,
            mode=spec.direction,  # resolved by the spec, so Keras's "auto" never guesses
            restore_best_weights=spec.restore_best_weights,
            start_from_epoch=spec.start_from_epoch,
            verbose=0,
        )
        self.spec = spec

    def outcome(self, epochs: int) -> EarlyStop | None:
        return outcome(
            self.spec,
            stopped_epoch=self.stopped_epoch,
            best_epoch=self.best_epoch,
            best=float(self.best) if self.best is not None else float("nan"),
            epochs=epochs,
        )


def outcome(
    spec: EarlyStoppingSpec, *, stopped_epoch: int, best_epoch: int, best: float, epochs: int
) -> EarlyStop | None:
    """What to record when early stopping ended the fit before `epochs`, else None. The
    epochs are Keras's, from 0; Keras leaves stopped_epoch at 0 unless it stopped, and
    never stops at epoch 0."""
    if stopped_epoch <= 0:
        return None
    stopped = stopped_epoch + 1  # Keras counts from 0, our history rows from 1
    if stopped >= epochs:
        return None  # it stopped at the last epoch: the fit ran in full anyway
    shown_best = best_epoch + 1
    waited = stopped - shown_best
    weights = "best weights restored" if spec.restore_best_weights else "last weights kept"
    reason = (
        f"early stopping: {spec.monitor} did not improve by more than "
        f"{spec.min_delta:g} for {waited} epoch{'' if waited == 1 else 's'} after its "
        f"best value {best:.4g} at epoch {shown_best}; {weights}"
    )
    return EarlyStop(epoch=stopped, reason=reason)
