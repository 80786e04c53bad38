"""Request and response models of /recipes: ready-made studies applied to a dataset."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.spec_base import Name
from models.spec_datasets import DatasetSpec
from models.spec_layers import StrictModel

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
