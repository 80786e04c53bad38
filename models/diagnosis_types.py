"""The vocabulary of a diagnosis: verdicts, remedies, what is known about the model, and the
result itself. Kept apart from models/diagnosis.py (the rules) so that the advice and the API
schema can share these types without importing the rules."""

from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    GOOD_FIT = "good_fit"
    OVERFITTING = "overfitting"
    UNDERFITTING = "underfitting"
    STILL_IMPROVING = "still_improving"
    DIVERGED = "diverged"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True)
class Remedy:
    code: str
    text: str


DROPOUT_TYPES = frozenset({"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"})


@dataclass(frozen=True)
class ModelFacts:
    """What is known about the model. `chance_loss` is the loss of a model that has learned
    nothing (ln 2 for balanced binary crossentropy); it makes "high loss" absolute."""

    layer_types: frozenset[str] = frozenset()
    recurrent_dropout: bool = False
    weight_penalty: bool = False
    early_stopping: bool = False
    chance_loss: float | None = None

    @property
    def dropout(self) -> bool:
        return bool(self.layer_types & DROPOUT_TYPES) or self.recurrent_dropout


@dataclass(frozen=True)
class Rules:
    """The parameters applied (models/diagnosis.py defines them), reported with the result."""

    min_epochs: int
    divergence_factor: float
    smoothing_window: int
    overfit_tolerance: float
    overfit_patience: int
    steep_window: int
    steep_drop: float
    high_loss_fraction: float


@dataclass(frozen=True)
class EpochGap:
    """One epoch's losses and generalization gaps (positive: worse on validation)."""

    epoch: int
    loss: float | None
    val_loss: float | None
    gaps: dict[str, float]


@dataclass(frozen=True)
class Diagnosis:
    verdict: Verdict
    summary: str
    rules: Rules
    epochs: int
    epochs_total: int | None
    finished: bool
    has_validation: bool
    monitor: str
    best_epoch: int | None = None
    best_value: float | None = None
    overfitting_from_epoch: int | None = None
    diverged_epoch: int | None = None
    at_best: EpochGap | None = None
    at_last: EpochGap | None = None
    loss_reference: float | None = None
    loss_reference_kind: str | None = None
    train_drop: float | None = None
    val_drop: float | None = None
    notes: list[str] = field(default_factory=list)
    remedies: list[Remedy] = field(default_factory=list)
