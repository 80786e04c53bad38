"""Request and response models of /studies and of /recipes (ready-made studies applied to a
dataset). Never named like the ORM class `Study`."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.core.pages import Page, page_config
from api.experiments.schemas import CIRCLES_EXAMPLE
from api.studies.paths import PathError, parse_path
from models.spec import ExperimentSpec
from models.spec_base import Name, NoNul, PlainText
from models.spec_datasets import DatasetSpec
from models.spec_layers import StrictModel
from models.tables import ExperimentStatus

_BASE = {**CIRCLES_EXAMPLE, "name": "circles", "tags": []}
_BASE = {**_BASE, "fit": {"epochs": 200, "batch_size": 32, "seed": 0}}
STUDY_EXAMPLE: dict[str, Any] = {
    "name": "circles capacity",
    "base": _BASE,
    "variants": [
        {"name": "wide", "override": {}},
        {"name": "narrow", "set": {"model.layers[0].units": 8}},
        {
            "name": "l2",
            "override": {"model": {"layers": [
                {"type": "Dense", "units": 500, "activation": "relu",
                 "kernel_regularizer": {"l2": 0.001}},
                {"type": "Dense", "units": 1, "activation": "sigmoid"},
            ]}},
        },
    ],
    "grid": {"fit.batch_size": [16, 32]},
    "repeats": 3,
}  # fmt: skip


def _check_path(key: str) -> str:
    try:
        parse_path(key)
    except PathError as problem:
        raise ValueError(str(problem)) from None
    return key


class VariantCreate(StrictModel):
    """One variant: the base with `override` deep-merged in (objects merge key by key, lists
    replace), then each `set` path given its value."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul] = Field(
        examples=["smaller"]
    )
    override: dict[str, Any] = Field(
        default_factory=dict,
        description="A partial spec merged into the base",
        examples=[{"fit": {"batch_size": 64}}],
    )
    set: dict[PlainText, Any] = Field(
        default_factory=dict,
        max_length=100,
        description="JSON path -> value, applied after the override",
        examples=[{"model.layers[1].rate": 0.2, "model.layers[0].units": 4}],
    )

    @field_validator("set")
    @classmethod
    def _paths(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            _check_path(key)
        return value


GridValues = Annotated[list[Any], Field(min_length=1, max_length=1000)]


class StudyCreate(StrictModel):
    """Variants of one base spec, each run `repeats` times with seeds base seed (or 0) + the
    repeat index. Without variants or grid the base is the single variant "base"."""

    model_config = ConfigDict(json_schema_extra={"examples": [STUDY_EXAMPLE]})

    name: Name | None = Field(default=None, description="Default: the base's name")
    base: ExperimentSpec
    variants: list[VariantCreate] | None = Field(default=None, min_length=1, max_length=1000)
    grid: dict[PlainText, GridValues] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="JSON path -> values; every variant runs at every point of the product",
        examples=[{"model.layers[1].rate": [0.0, 0.2, 0.4, 0.6]}],
    )
    repeats: int = Field(default=1, ge=1, le=50, description="Runs per variant")

    @field_validator("grid")
    @classmethod
    def _paths(cls, value: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
        for key in value or {}:
            _check_path(key)
        return value


class StudyStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIALLY_FAILED = "partially_failed"
    CANCELLED = "cancelled"


class Stat(BaseModel):
    """One number over a variant's succeeded repeats: the mean and the sample standard
    deviation (n - 1; null with fewer than two values)."""

    mean: float | None
    std: float | None
    n: int = Field(description="Repeats that had this number")


Metrics = dict[str, float | None]


class RunSummary(BaseModel):
    experiment_id: int
    repeat: int
    status: ExperimentStatus
    epochs: int = Field(description="Epochs finished")
    monitor: str | None = Field(description="val_loss, or loss when the run did not validate")
    best_epoch: int | None = Field(description="Lowest val_loss (loss without validation)")
    at_best: Metrics = Field(
        description="Validation metrics at the best epoch (training ones without validation)"
    )
    final_train: Metrics
    final_validation: Metrics


class VariantSummary(BaseModel):
    variant: str
    grid_values: dict[str, Any] | None = Field(description="Grid path -> this variant's value")
    runs: int
    finished: int = Field(description="Runs succeeded, failed or cancelled")
    succeeded: int
    monitor: str | None = Field(description="What the best epoch minimizes: val_loss or loss")
    best_epoch: Stat | None = Field(description="Over the succeeded runs, as all Stats here")
    at_best: dict[str, Stat]
    final_train: dict[str, Stat]
    final_validation: dict[str, Stat]
    per_run: list[RunSummary]
    diagnosis: dict[str, Any] | None = Field(
        default=None,
        description="The diagnosis (as GET /experiments/{id}/diagnosis gives it) of the "
        "variant's mean curve over its repeats; null before any epoch finished",
    )


_COUNTS = {"queued": 0, "running": 0, "succeeded": 3, "failed": 0, "cancelled": 0}
BRIEF_EXAMPLE: dict[str, Any] = {
    "id": 7, "name": "regularization on circles", "notes": None, "repeats": 1,
    "created_at": "2026-11-22T20:00:00Z", "status": "succeeded", "experiments": 3,
    "counts": _COUNTS, "variants": ["baseline", "smaller", "dropout"],
}  # fmt: skip


def _stat(mean: float, std: float | None = None, n: int = 1) -> dict[str, Any]:
    return {"mean": mean, "std": std, "n": n}


VARIANT_EXAMPLE: dict[str, Any] = {
    "variant": "baseline", "grid_values": None, "runs": 1, "finished": 1, "succeeded": 1,
    "monitor": "val_loss", "best_epoch": _stat(4),
    "at_best": {"val_loss": _stat(0.41), "val_accuracy": _stat(0.83)},
    "final_train": {"loss": _stat(0.12), "accuracy": _stat(0.97)},
    "final_validation": {"val_loss": _stat(0.58), "val_accuracy": _stat(0.81)},
    "per_run": [{
        "experiment_id": 31, "repeat": 0, "status": "succeeded", "epochs": 20,
        "monitor": "val_loss", "best_epoch": 4,
        "at_best": {"val_loss": 0.41, "val_accuracy": 0.83},
        "final_train": {"loss": 0.12, "accuracy": 0.97},
        "final_validation": {"val_loss": 0.58, "val_accuracy": 0.81},
    }],
    "diagnosis": None,
}  # fmt: skip


class StudyBrief(BaseModel):
    """A study in a list: its status is derived from its experiments' statuses."""

    model_config = ConfigDict(json_schema_extra={"examples": [BRIEF_EXAMPLE]})

    id: int
    name: str | None
    notes: str | None = Field(default=None, description="Free text kept with it (PATCH)")
    repeats: int
    created_at: datetime
    status: StudyStatus = Field(
        description="queued: nothing started; running: some runs queued or running, others "
        "started or done; succeeded: all succeeded; failed: none succeeded and some failed; "
        "partially_failed: some succeeded, some failed; cancelled: all done, some cancelled, "
        "none failed"
    )
    experiments: int = Field(description="Runs in all: variants x repeats")
    counts: dict[ExperimentStatus, int] = Field(description="Runs by status")
    variants: list[str] = Field(description="Variant names, in the order they were created")


class StudyRead(StudyBrief):
    """A study with its request as submitted and a summary per variant."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                BRIEF_EXAMPLE | {"definition": STUDY_EXAMPLE, "summary": [VARIANT_EXAMPLE]}
            ]
        }
    )

    definition: dict[str, Any] = Field(description="base, variants, grid and repeats as sent")
    summary: list[VariantSummary]


class StudyPage(Page[StudyBrief]):
    """A page of studies, newest first."""

    model_config = page_config(BRIEF_EXAMPLE)


# /recipes: ready-made studies applied to a dataset.

APPLY_EXAMPLE: dict[str, Any] = {
    "dataset": {"name": "circles", "n_samples": 100, "noise": 0.1, "n_train": 30},
    "epochs": 200,
    "repeats": 1,
    "name": "regularization on circles",
}


class RecipeApply(StrictModel):
    """The dataset to run a recipe on, and what to change of the recipe's defaults."""

    model_config = ConfigDict(json_schema_extra={"examples": [APPLY_EXAMPLE]})

    dataset: DatasetSpec
    epochs: int | None = Field(default=None, ge=1, le=100_000, description="Default: 20")
    repeats: int | None = Field(default=None, ge=1, le=50, description="Default: the recipe's")
    batch_size: int | None = Field(
        default=None,
        ge=1,
        le=65_536,
        description="Default: 512 for the large keras datasets (imdb, reuters, mnist, "
        "fashion_mnist, cifar10) and uploads of 10,000 rows or more, else 32",
    )
    name: Name | None = Field(default=None, description="Default: '<recipe> on <dataset>'")


class RecipeVariantRead(BaseModel):
    name: str
    description: str


class RecipeRead(BaseModel):
    """A ready-made study: its variants (or grid) and defaults."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "regularization",
                    "title": "Capacity, weight decay and dropout side by side",
                    "description": "The notebooks' IMDB study on any dataset.",
                    "variants": [
                        {"name": "baseline", "description": "Two hidden Dense(16, relu)"},
                        {"name": "smaller", "description": "Two hidden Dense(4, relu)"},
                    ],
                    "grid": None,
                    "repeats": 1,
                    "epochs": 20,
                }
            ]
        }
    )

    name: str
    title: str
    description: str
    variants: list[RecipeVariantRead]
    grid: dict[str, list[Any]] | None = Field(
        description="JSON path -> values swept (paths of a dataset without Flatten)"
    )
    repeats: int = Field(description="Default runs per variant")
    epochs: int = Field(description="Default epochs")
