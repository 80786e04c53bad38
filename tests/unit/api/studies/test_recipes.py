"""Recipes fitted to a dataset: the head and loss per task, Flatten for images, the
notebooks' five models, the dropout grid, and that every variant is a valid spec."""

from typing import Any, cast

import pytest
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from api.studies.check import check_variants
from api.studies.expand import VariantInput, expand
from api.studies.heads import Task, TaskError, task_of
from api.studies.recipes import RECIPES, frame_for, study_request
from api.studies.schemas import RecipeApply, StudyCreate
from models.spec_datasets import DatasetSpec
from models.tables import LOCAL_OWNER, Dataset

DATASET: TypeAdapter[DatasetSpec] = TypeAdapter(DatasetSpec)


def dataset(**fields: Any) -> DatasetSpec:
    return DATASET.validate_python(fields)


def upload(classes: list[int] | None, rows: int = 50) -> Dataset:
    return Dataset(id=3, classes=classes, feature_shape=[8], rows=rows)


def build(recipe: str, input_shape: tuple[int, ...], stored: Dataset | None = None, **apply: Any):
    body = RecipeApply.model_validate(apply)
    frame = frame_for(body, task_of(body.dataset, stored), input_shape)
    rows = None if stored is None else stored.rows
    return StudyCreate.model_validate(study_request(recipe, body, frame, rows))


def expanded_specs(study: StudyCreate) -> dict[str, Any]:
    """Variant name -> its first repeat's validated spec (built-in data needs no database)."""
    variants = [VariantInput(v.name, v.override, v.set) for v in study.variants or []]
    base = study.base.model_dump(mode="json", exclude_unset=True)
    planned = expand(base, variants or None, study.grid)
    checked = check_variants(cast(Session, None), planned, study.repeats, LOCAL_OWNER)
    return {variant.name: specs[0] for variant, specs in checked}


@pytest.mark.parametrize(
    ("fields", "task"),
    [
        ({"name": "circles"}, Task("binary", 1)),
        ({"name": "imdb"}, Task("binary", 1)),
        ({"name": "breast_cancer"}, Task("binary", 1)),
        ({"name": "digits"}, Task("multiclass", 10)),
        ({"name": "iris"}, Task("multiclass", 3)),
        ({"name": "reuters"}, Task("multiclass", 46)),
        ({"name": "classification", "n_classes": 4, "n_informative": 3}, Task("multiclass", 4)),
        ({"name": "boston_housing"}, Task("regression", 1)),
    ],
)
def test_builtin_tasks(fields: dict[str, Any], task: Task) -> None:
    assert task_of(dataset(**fields)) == task


def test_upload_tasks_come_from_the_stored_classes() -> None:
    spec = dataset(name="upload", dataset_id=3)
    assert task_of(spec, upload([0, 1])) == Task("binary", 1)
    assert task_of(spec, upload([0, 1, 2])) == Task("multiclass", 3)
    assert task_of(spec, upload([1, 2])) == Task("multiclass", 3)  # label 2 needs unit 2
    assert task_of(spec, upload(None)) == Task("regression", 1)
    with pytest.raises(TaskError, match="negative labels"):
        task_of(spec, upload([-1, 1]))


def test_heads_per_task() -> None:
    assert Task("binary", 1).head() == (
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
        "binary_crossentropy", ["accuracy", "binary_crossentropy"],
    )  # fmt: skip
    layer, loss, _ = Task("multiclass", 3).head()
    assert (layer["units"], layer["activation"], loss) == (
        3,
        "softmax",
        "sparse_categorical_crossentropy",
    )
    assert Task("regression", 1).head() == (
        {"type": "Dense", "units": 1}, "mean_squared_error", ["mean_absolute_error"]
    )  # fmt: skip


def test_regularization_on_imdb_is_the_notebooks_study() -> None:
    study = build("regularization", (10000,), dataset={"name": "imdb"})
    assert study.name == "regularization on imdb"
    assert [v.name for v in study.variants or []] == [
        "baseline", "smaller", "bigger", "l2", "dropout"
    ]  # fmt: skip
    specs = expanded_specs(study)
    units = {
        name: [getattr(layer, "units", layer.type) for layer in spec.model.layers]
        for name, spec in specs.items()
    }
    assert units == {
        "baseline": [16, 16, 1], "smaller": [4, 4, 1], "bigger": [512, 512, 1],
        "l2": [16, 16, 1], "dropout": [16, "Dropout", 16, "Dropout", 1],
    }  # fmt: skip
    l2 = specs["l2"].model.layers
    assert [getattr(layer, "kernel_regularizer", None) for layer in l2][:2] != [None, None]
    assert l2[2].kernel_regularizer is None
    baseline = specs["baseline"]
    assert baseline.compile.loss == "binary_crossentropy"
    assert (baseline.fit.epochs, baseline.fit.batch_size) == (20, 512)
    assert baseline.fit.validation_split is None  # imdb validates on its test split


def test_multiclass_image_data_gets_flatten_softmax_and_a_validation_split() -> None:
    study = build(
        "regularization", (8, 8, 1), dataset={"name": "digits", "format": "image"}, epochs=3
    )
    spec = expanded_specs(study)["dropout"]
    assert [layer.type for layer in spec.model.layers] == [
        "Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"
    ]  # fmt: skip
    assert spec.model.layers[-1].units == 10
    assert spec.compile.loss == "sparse_categorical_crossentropy"
    assert (spec.fit.epochs, spec.fit.batch_size, spec.fit.validation_split) == (3, 32, 0.2)


def test_regression_gets_a_linear_unit_and_mse() -> None:
    study = build("regularization", (13,), dataset={"name": "boston_housing"}, repeats=2)
    spec = expanded_specs(study)["bigger"]
    assert spec.model.layers[-1].model_dump(exclude_unset=True) == {"type": "Dense", "units": 1}
    assert (spec.compile.loss, spec.compile.metrics) == (
        "mean_squared_error",
        ["mean_absolute_error"],
    )
    assert study.repeats == 2


def test_a_large_upload_trains_in_batches_of_512() -> None:
    study = build(
        "regularization",
        (8,),
        upload([0, 1], rows=20_000),
        dataset={"name": "upload", "dataset_id": 3},
    )
    assert study.base.fit.batch_size == 512
    assert study.name == "regularization on upload 3"


def test_dropout_grid_sweeps_the_rate_after_any_flatten() -> None:
    flat = build("dropout_grid", (2,), dataset={"name": "circles", "n_train": 30})
    assert (flat.grid, flat.repeats) == ({"model.layers[1].rate": [0.0, 0.2, 0.4, 0.6]}, 3)
    image = build("dropout_grid", (28, 28, 1), dataset={"name": "mnist", "format": "image"})
    assert image.grid == {"model.layers[2].rate": [0.0, 0.2, 0.4, 0.6]}
    specs = expanded_specs(image)
    assert list(specs) == [f"model.layers[2].rate={r}" for r in ("0.0", "0.2", "0.4", "0.6")]
    assert specs["model.layers[2].rate=0.4"].model.layers[2].rate == 0.4


def test_sequence_encoded_text_is_refused() -> None:
    body = RecipeApply.model_validate({"dataset": {"name": "imdb", "encoding": "sequence"}})
    with pytest.raises(TaskError, match="multi_hot"):
        frame_for(body, task_of(body.dataset), (500,))


def test_the_recipe_list_describes_every_variant() -> None:
    regularization = RECIPES["regularization"].read
    assert all(v.description for v in regularization.variants)
    assert RECIPES["dropout_grid"].read.repeats == 3
