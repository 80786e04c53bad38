"""What a recipe's model must end with for a dataset: binary, multi-class or regression,
read from a table of the built-in datasets or from an upload's stored classes."""

from dataclasses import dataclass
from typing import Any, Literal

from models.spec_datasets import ClassificationDataset, DatasetSpec, UploadedDataset
from models.tables import Dataset

# Classes of the built-in datasets; None: regression. make_classification says its own.
BUILTIN_CLASSES: dict[str, int | None] = {
    "circles": 2, "moons": 2, "breast_cancer": 2, "imdb": 2,
    "iris": 3, "wine": 3, "digits": 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10,
    "reuters": 46, "boston_housing": None,
}  # fmt: skip


class TaskError(ValueError):
    """The dataset's labels do not fit any of the recipe's heads."""


@dataclass(frozen=True)
class Task:
    kind: Literal["binary", "multiclass", "regression"]
    units: int  # output units

    def head(self) -> tuple[dict[str, Any], str, list[str]]:
        """The output layer, the loss and the metrics, as the notebooks compile them."""
        if self.kind == "binary":
            layer = {"type": "Dense", "units": 1, "activation": "sigmoid"}
            return layer, "binary_crossentropy", ["accuracy", "binary_crossentropy"]
        if self.kind == "multiclass":
            layer = {"type": "Dense", "units": self.units, "activation": "softmax"}
            return layer, "sparse_categorical_crossentropy", ["accuracy"]
        return {"type": "Dense", "units": 1}, "mean_squared_error", ["mean_absolute_error"]


def from_classes(classes: int | None) -> Task:
    if classes is None:
        return Task("regression", 1)
    return Task("binary", 1) if classes <= 2 else Task("multiclass", classes)


def task_of(dataset: DatasetSpec, stored: Dataset | None = None) -> Task:
    """`stored` is the upload's row when the dataset is an upload."""
    if isinstance(dataset, ClassificationDataset):
        return from_classes(dataset.n_classes)
    if not isinstance(dataset, UploadedDataset):
        return from_classes(BUILTIN_CLASSES[dataset.name])
    if stored is None or stored.classes is None:
        return Task("regression", 1)  # labels that are not a few whole numbers
    labels = sorted(stored.classes)
    if labels and labels[0] < 0:
        raise TaskError(
            f"dataset {stored.id} has negative labels ({labels[0]}); a classifier needs class "
            "indices 0, 1, ... as labels"
        )
    if set(labels) <= {0, 1}:
        return Task("binary", 1)
    # Sparse categorical losses index the output by the label, so the largest label needs
    # a unit even when some smaller ones never occur.
    return Task("multiclass", labels[-1] + 1)
