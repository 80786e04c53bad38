"""Response models of /datasets. Never named like the ORM class `Dataset`."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.core.pages import Page, page_config

DIABETES_EXAMPLE: dict[str, Any] = {
    "id": 1, "name": "pima-diabetes", "format": "csv", "filename": "diabetes.csv",
    "label": "Outcome", "rows": 768, "features": 8, "feature_shape": [8],
    "x_dtype": "float32", "y_dtype": "int32", "classes": [0, 1], "has_test": False,
    "test_rows": 0, "size_bytes": 23873,
    "sha256": "5a7c9d0e0f4a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef012345",
    "created_at": "2026-11-22T20:00:00Z",
}  # fmt: skip


class DatasetRead(BaseModel):
    """A stored upload. Train on it with `"dataset": {"name": "upload", "dataset_id": ID}`."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [DIABETES_EXAMPLE]}
    )

    id: int
    name: str
    format: Literal["csv", "npz"]
    filename: str = Field(description="The uploaded file's name")
    label: str | None = Field(description="The CSV label column; null for an NPZ (its y)")
    rows: int = Field(description="Training samples")
    features: int = Field(description="Numbers per sample (the product of feature_shape)")
    feature_shape: list[int] = Field(description="The model's input shape, e.g. [8] or [28, 28, 1]")
    x_dtype: str = Field(description="Stored feature type: float32")
    y_dtype: str = Field(description="int32 when every label is a whole number, else float32")
    classes: list[int] | None = Field(
        description="Distinct labels when they are 1-D integers (at most 1000 of them), else null"
    )
    has_test: bool = Field(description="Whether the upload holds a test split (x_test, y_test)")
    test_rows: int
    size_bytes: int = Field(description="Size of the uploaded file")
    sha256: str = Field(
        description="Content address: SHA-256 over the file's SHA-256 and the parse choices"
    )
    created_at: datetime


class DatasetPage(Page[DatasetRead]):
    """A page of datasets, newest first."""

    model_config = page_config(DIABETES_EXAMPLE)
