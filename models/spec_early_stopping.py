"""fit.early_stopping: Keras's EarlyStopping, described by allow-listed fields. Whether the
monitored quantity will exist depends on the dataset and compile sections, so that check is
a function the ExperimentSpec calls (see check_monitor)."""

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from models.spec_base import StrictModel

# "loss" and every compile metric (models.spec.MetricName), plain and with Keras's "val_"
# prefix: the names Keras logs them under (a test keeps this list in step with MetricName).
Monitor = Literal[
    "loss", "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "mean_squared_error", "mean_absolute_error", "auc", "precision", "recall",
    "val_loss", "val_accuracy", "val_binary_accuracy", "val_categorical_accuracy",
    "val_sparse_categorical_accuracy", "val_binary_crossentropy", "val_categorical_crossentropy",
    "val_sparse_categorical_crossentropy", "val_mean_squared_error", "val_mean_absolute_error",
    "val_auc", "val_precision", "val_recall",
]  # fmt: skip
# Higher is better for these; every other monitor (losses, crossentropies, errors) is lower.
HIGHER_IS_BETTER = frozenset(
    {
        "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
        "auc", "precision", "recall",
    }
)  # fmt: skip


class EarlyStoppingSpec(StrictModel):
    monitor: Monitor = Field(
        default="val_loss", description="val_* needs validation data; a metric must be compiled"
    )
    patience: int = Field(
        default=0, ge=0, le=10_000, description="Epochs without improvement before stopping"
    )
    min_delta: float = Field(
        default=0.0, ge=0.0, description="A change of at most this much is no improvement"
    )
    mode: Literal["auto", "min", "max"] = Field(
        default="auto", description="auto: max for accuracy, auc, precision, recall; else min"
    )
    restore_best_weights: bool = Field(
        default=False, description="Keep the best epoch's weights (also for the test evaluation)"
    )
    start_from_epoch: int = Field(
        default=0, ge=0, description="Epochs of warm-up before the monitor is watched"
    )

    @property
    def metric(self) -> str:
        """The monitored quantity without the validation prefix ("val_loss" -> "loss")."""
        return self.monitor.removeprefix("val_")

    @property
    def direction(self) -> Literal["min", "max"]:
        # Resolved here rather than by Keras's "auto", which raises for names it cannot
        # place; this way the spec alone says which way is better.
        if self.mode != "auto":
            return self.mode
        return "max" if self.metric in HIGHER_IS_BETTER else "min"


def check_monitor(
    stopping: EarlyStoppingSpec, has_validation_data: bool | None, metrics: list[str] | None
) -> None:
    """Raise a ValidationError located at early_stopping.monitor when Keras would never log
    the monitored quantity (its EarlyStopping only warns, then runs every epoch). None for
    either argument means that part of the spec is invalid itself, so it is not judged."""
    monitor, problems = stopping.monitor, []
    if monitor.startswith("val_") and has_validation_data is False:
        problems.append(
            PydanticCustomError(
                "monitor_needs_validation_data",
                f"{monitor} needs validation data: set fit.validation_split or use a "
                "dataset that holds out validation data",
            )
        )
    if stopping.metric != "loss" and metrics is not None and stopping.metric not in metrics:
        problems.append(
            PydanticCustomError(
                "monitor_not_compiled",
                f"{monitor} is never logged: add '{stopping.metric}' to compile.metrics or "
                "monitor the loss",
            )
        )
    if problems:
        # A ValidationError raised inside a field validator keeps its own location, which
        # pydantic prefixes with the field's ("fit"): the 422 names the exact field.
        errors = [
            InitErrorDetails(type=problem, loc=("early_stopping", "monitor"), input=monitor)
            for problem in problems
        ]
        raise ValidationError.from_exception_data("FitSpec", errors)
