"""ExperimentSpec: our own allow-listed schema. User JSON is never handed to Keras
deserialization; the worker builds the model from these typed fields in its own code."""

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from models.spec_base import Name, PlainText
from models.spec_datasets import DatasetSpec, ImdbDataset, ReutersDataset
from models.spec_early_stopping import EarlyStoppingSpec, check_monitor
from models.spec_layers import Embedding, Layer, StrictModel

OptimizerName = Literal["adam", "adamw", "rmsprop", "sgd", "adagrad", "adadelta", "adamax", "nadam"]
LossName = Literal[
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "mean_squared_error", "mean_absolute_error", "huber", "hinge", "kl_divergence",
]  # fmt: skip
MetricName = Literal[
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "mean_squared_error", "mean_absolute_error", "auc", "precision", "recall",
]  # fmt: skip


class OptimizerSpec(StrictModel):
    name: OptimizerName
    learning_rate: float | None = Field(default=None, gt=0.0, le=10.0)


def _name_alone(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


# Either form is accepted, and the schema says so (a generated client can send "adam").
Optimizer = Annotated[
    OptimizerSpec,
    BeforeValidator(_name_alone, json_schema_input_type=OptimizerName | OptimizerSpec),
]


class ModelSpec(StrictModel):
    layers: list[Layer] = Field(min_length=1, max_length=100)


class CompileSpec(StrictModel):
    optimizer: Optimizer = Field(
        description='A name ("adam") or {"name": "adam", "learning_rate": 0.001}'
    )
    loss: LossName
    metrics: list[MetricName] = Field(default_factory=list, max_length=10)

    @field_validator("metrics")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each metric may appear once")
        return value


class FitSpec(StrictModel):
    epochs: int = Field(ge=1, le=100_000)
    batch_size: int = Field(default=32, ge=1, le=65_536)
    validation_split: float | None = Field(
        default=None, gt=0.0, lt=1.0, description="Keras semantics: the last fraction validates"
    )
    shuffle: bool = True
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    early_stopping: EarlyStoppingSpec | None = Field(
        default=None, description="Stop when the monitored quantity stops improving"
    )


class ExperimentSpec(StrictModel):
    name: Name | None = None
    tags: list[PlainText] = Field(default_factory=list, max_length=20)
    dataset: DatasetSpec
    model: ModelSpec
    compile: CompileSpec
    fit: FitSpec

    @field_validator("tags")
    @classmethod
    def _tags_short(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not 1 <= len(tag) <= 64:
                raise ValueError("each tag must be 1 to 64 characters")
        return value

    @field_validator("model")
    @classmethod
    def _vocabulary_fits(cls, model: ModelSpec, info: ValidationInfo) -> ModelSpec:
        # Word indices run up to num_words - 1. A smaller Embedding fails mid-fit on a CPU
        # and, worse, silently looks up zero vectors on a GPU.
        dataset = info.data.get("dataset")
        first = model.layers[0]
        if (
            isinstance(dataset, ImdbDataset | ReutersDataset)
            and dataset.encoding == "sequence"
            and isinstance(first, Embedding)
            and first.input_dim < dataset.num_words
        ):
            raise ValueError(
                f"layers[0].input_dim ({first.input_dim}) must be at least the dataset's "
                f"num_words ({dataset.num_words}): its word indices run up to "
                f"{dataset.num_words - 1}"
            )
        return model

    @field_validator("fit")
    @classmethod
    def _one_source_of_validation(cls, fit: FitSpec, info: ValidationInfo) -> FitSpec:
        # A field validator (not a model one) so the error's location is "fit".
        dataset = info.data.get("dataset")
        if fit.validation_split is not None and dataset is not None and dataset.has_validation_data:
            raise ValueError(
                f"validation_split: dataset '{dataset.name}' already holds out validation "
                "data; give one of the two"
            )
        return fit

    @field_validator("fit")
    @classmethod
    def _monitor_is_logged(cls, fit: FitSpec, info: ValidationInfo) -> FitSpec:
        if fit.early_stopping is None:
            return fit
        dataset, compile_ = info.data.get("dataset"), info.data.get("compile")
        has_validation = None
        if dataset is not None:
            has_validation = dataset.has_validation_data or fit.validation_split is not None
        metrics = None if compile_ is None else list(compile_.metrics)
        check_monitor(fit.early_stopping, has_validation, metrics)
        return fit
