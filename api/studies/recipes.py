"""Ready-made studies: the notebooks' regularization comparison and a dropout-rate grid,
fitted to any dataset (its input shape, its output head and loss)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.studies.heads import Task, TaskError
from api.studies.schemas import RecipeApply, RecipeRead, RecipeVariantRead
from models.spec_datasets import UploadedDataset

DEFAULT_EPOCHS = 20
# Batches of 512 as the IMDB notebook trains; smaller data gets Keras's default of 32, so
# an epoch still has more than a step or two.
LARGE_DATASETS = frozenset({"imdb", "reuters", "mnist", "fashion_mnist", "cifar10"})
LARGE_ROWS = 10_000
# Without held-out data of its own, a recipe validates on the last 20% of the training
# data: a regularization study is about the validation curve.
VALIDATION_SPLIT = 0.2
L2 = {"l2": 0.001}
DROPOUT_RATES = [0.0, 0.2, 0.4, 0.6]


def dense(units: int, **extra: Any) -> dict[str, Any]:
    return {"type": "Dense", "units": units, "activation": "relu", **extra}


def dropout(rate: float) -> dict[str, Any]:
    return {"type": "Dropout", "rate": rate}


# The notebooks' five models, by their hidden layers (the output head depends on the data).
REGULARIZATION: list[tuple[str, str, list[dict[str, Any]]]] = [
    ("baseline", "Two hidden Dense(16, relu): the notebooks' original model",
     [dense(16), dense(16)]),
    ("smaller", "Two hidden Dense(4, relu): less capacity, starts overfitting later",
     [dense(4), dense(4)]),
    ("bigger", "Two hidden Dense(512, relu): more capacity, overfits almost at once",
     [dense(512), dense(512)]),
    ("l2", "The baseline with an L2 penalty of 0.001 on each hidden layer's kernel",
     [dense(16, kernel_regularizer=L2), dense(16, kernel_regularizer=L2)]),
    ("dropout", "The baseline with Dropout(0.5) after each hidden layer",
     [dense(16), dropout(0.5), dense(16), dropout(0.5)]),
]  # fmt: skip
# The dropout article's model: one wide hidden layer that overfits, then dropout.
DROPOUT_GRID_HIDDEN = [dense(512), dropout(0.0)]


@dataclass(frozen=True)
class Frame:
    """What every model of a recipe needs for this dataset: a Flatten for images, the head."""

    flatten: bool
    task: Task

    def layers(self, hidden: list[dict[str, Any]]) -> list[dict[str, Any]]:
        prefix = [{"type": "Flatten"}] if self.flatten else []
        return [*prefix, *hidden, self.task.head()[0]]


def frame_for(apply: RecipeApply, task: Task, input_shape: tuple[int, ...] | None) -> Frame:
    if getattr(apply.dataset, "encoding", None) == "sequence":
        # Word indices are not features a Dense layer can weigh; the notebooks multi-hot them.
        raise TaskError("the recipes build Dense models: use encoding 'multi_hot'")
    return Frame(flatten=input_shape is not None and len(input_shape) > 1, task=task)


def batch_size(apply: RecipeApply, upload_rows: int | None) -> int:
    if apply.batch_size is not None:
        return apply.batch_size
    large = apply.dataset.name in LARGE_DATASETS or (upload_rows or 0) >= LARGE_ROWS
    return 512 if large else 32


def base_spec(
    recipe: str, apply: RecipeApply, frame: Frame, hidden: list[dict[str, Any]], batch: int
) -> dict[str, Any]:
    _, loss, metrics = frame.task.head()
    fit: dict[str, Any] = {"epochs": apply.epochs or DEFAULT_EPOCHS, "batch_size": batch}
    if not apply.dataset.has_validation_data:
        fit["validation_split"] = VALIDATION_SPLIT
    return {
        "tags": [recipe],
        "dataset": apply.dataset.model_dump(mode="json", exclude_unset=True),
        "model": {"layers": frame.layers(hidden)},
        "compile": {"optimizer": "adam", "loss": loss, "metrics": metrics},
        "fit": fit,
    }


def regularization(apply: RecipeApply, frame: Frame, batch: int) -> dict[str, Any]:
    base = base_spec("regularization", apply, frame, REGULARIZATION[0][2], batch)
    variants = [
        {"name": name, "override": {"model": {"layers": frame.layers(hidden)}} if i else {}}
        for i, (name, _, hidden) in enumerate(REGULARIZATION)
    ]
    return {"base": base, "variants": variants, "repeats": apply.repeats or 1}


def dropout_grid(apply: RecipeApply, frame: Frame, batch: int) -> dict[str, Any]:
    base = base_spec("dropout_grid", apply, frame, DROPOUT_GRID_HIDDEN, batch)
    rate_path = f"model.layers[{int(frame.flatten) + 1}].rate"
    return {"base": base, "grid": {rate_path: DROPOUT_RATES}, "repeats": apply.repeats or 3}


@dataclass(frozen=True)
class Recipe:
    read: RecipeRead
    build: Callable[[RecipeApply, Frame, int], dict[str, Any]]


RECIPES: dict[str, Recipe] = {
    "regularization": Recipe(
        RecipeRead(
            name="regularization",
            title="Capacity, weight decay and dropout side by side",
            description="The notebooks' IMDB study on any dataset: the baseline, a smaller and "
            "a bigger model, the baseline with L2 and with dropout, compared on one chart.",
            variants=[RecipeVariantRead(name=n, description=d) for n, d, _ in REGULARIZATION],
            grid=None,
            repeats=1,
            epochs=DEFAULT_EPOCHS,
        ),
        regularization,
    ),
    "dropout_grid": Recipe(
        RecipeRead(
            name="dropout_grid",
            title="Grid search of the dropout rate, repeated",
            description="Dense(512, relu), Dropout(rate), the output: the rate over "
            f"{DROPOUT_RATES}, each run 3 times with different seeds and averaged.",
            variants=[],
            grid={"model.layers[1].rate": DROPOUT_RATES},
            repeats=3,
            epochs=DEFAULT_EPOCHS,
        ),
        dropout_grid,
    ),
}


def study_request(
    name: str, apply: RecipeApply, frame: Frame, upload_rows: int | None
) -> dict[str, Any]:
    """The POST /studies body a recipe makes for this dataset."""
    recipe = RECIPES[name]
    body = recipe.build(apply, frame, batch_size(apply, upload_rows))
    where = (
        f"upload {apply.dataset.dataset_id}"
        if isinstance(apply.dataset, UploadedDataset)
        else apply.dataset.name
    )
    return {"name": apply.name or f"{name} on {where}", **body}
