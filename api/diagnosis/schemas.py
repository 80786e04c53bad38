"""The response of GET /experiments/{id}/diagnosis. It mirrors models/diagnosis_types.py;
the rules are in models/diagnosis.py."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.diagnosis_types import Verdict
from models.tables import ExperimentStatus

# The bigger IMDB model of TensorFlow's overfit-and-underfit notebook, as diagnosed.
BIGGER_EXAMPLE: dict[str, Any] = {
    "experiment_id": 3, "status": "succeeded", "verdict": "overfitting",
    "summary": "Overfitting from epoch 2: val_loss was lowest at epoch 1, then stayed more "
    "than 2% above it while the training loss kept falling.",
    "rules": {"min_epochs": 3, "divergence_factor": 3.0, "smoothing_window": 3,
              "overfit_tolerance": 0.02, "overfit_patience": 3, "steep_window": 3,
              "steep_drop": 0.01, "high_loss_fraction": 0.5},
    "epochs": 20, "epochs_total": 20, "finished": True, "has_validation": True,
    "monitor": "val_loss", "best_epoch": 1, "best_value": 0.2926, "overfitting_from_epoch": 2,
    "diverged_epoch": None,
    "at_best": {"epoch": 1, "loss": 0.3532, "val_loss": 0.2926,
                "gaps": {"loss": -0.0606, "accuracy": -0.0356}},
    "at_last": {"epoch": 20, "loss": 1.2884e-05, "val_loss": 0.9433,
                "gaps": {"loss": 0.943287116, "accuracy": 0.1293}},
    "loss_reference": 0.6931471805599453, "loss_reference_kind": "chance",
    "train_drop": 5.78e-06, "val_drop": -0.0355, "notes": [],
    "remedies": [
        {"code": "early_stopping", "text": "Stop at the best epoch (1): keep that epoch's "
         "weights, or stop when val_loss has not improved for a few epochs (early stopping)."},
        {"code": "more_data", "text": "Train on more data: a model trained on more data "
         "generalizes better; when more data can be had it is the best remedy."},
    ],
}  # fmt: skip


class DiagnosisRulesRead(BaseModel):
    """The parameters the rules applied (see docs/plots-and-diagnosis.md, "Diagnosis")."""

    min_epochs: int = Field(description="Fewer finished epochs: insufficient_data")
    divergence_factor: float = Field(description="Training loss above this times epoch 1's")
    smoothing_window: int = Field(description="Running median over this many epochs")
    overfit_tolerance: float = Field(description="Relative rise over the smoothed minimum")
    overfit_patience: int = Field(description="Consecutive risen epochs that make overfitting")
    steep_window: int = Field(description="Last epochs over which the fall is averaged")
    steep_drop: float = Field(description="Per-epoch fall, as a fraction of epoch 1's value")
    high_loss_fraction: float = Field(description="Of the chance-level (or epoch 1) loss")


class EpochGapRead(BaseModel):
    epoch: int
    loss: float | None
    val_loss: float | None
    gaps: dict[str, float] = Field(
        description="val - train for losses, train - val for accuracy-like metrics: "
        "positive means worse on validation"
    )


class RemedyRead(BaseModel):
    code: str = Field(examples=["dropout"])
    text: str


class DiagnosisRead(BaseModel):
    """Over- or underfitting, judged from the stored history by fixed, documented rules."""

    model_config = ConfigDict(json_schema_extra={"examples": [BIGGER_EXAMPLE]})

    experiment_id: int
    status: ExperimentStatus
    verdict: Verdict
    summary: str
    rules: DiagnosisRulesRead
    epochs: int = Field(description="Finished epochs read")
    epochs_total: int | None
    finished: bool = Field(description="False while the run goes on: the verdict is provisional")
    has_validation: bool
    monitor: str = Field(description="val_loss, or loss when there is no validation data")
    best_epoch: int | None = Field(description="Lowest monitored loss, the earliest on ties")
    best_value: float | None
    overfitting_from_epoch: int | None = Field(description="The epoch after the minimum")
    diverged_epoch: int | None
    at_best: EpochGapRead | None
    at_last: EpochGapRead | None
    loss_reference: float | None = Field(description='What "high training loss" is measured by')
    loss_reference_kind: str | None = Field(examples=["chance", "first_epoch"])
    train_drop: float | None = Field(
        description="Mean fall of the training loss per epoch over the last epochs, as a "
        "fraction of epoch 1's; negative while rising"
    )
    val_drop: float | None = Field(description="The same for val_loss")
    notes: list[str]
    remedies: list[RemedyRead]
