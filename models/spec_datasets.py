"""Dataset references in a spec, each with typed, bounded parameters. The input shape comes
from here (or, for uploads, from the stored dataset), never from the user."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from models.spec_layers import StrictModel

# What to do with a dataset's own test split: validate on it every epoch (as the IMDB notebook
# does), evaluate on it once after fit (stored as the experiment's test metrics), or ignore it.
TestSplitUse = Literal["validation", "evaluation", "none"]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class _Generated(StrictModel):
    """sklearn generators: the first n_train samples train, the rest validate (as the dropout
    article splits make_circles); without n_train all samples train."""

    n_samples: int = Field(default=100, ge=4, le=1_000_000)
    random_state: Seed | None = 1
    n_train: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _train_leaves_validation(self) -> Self:
        if self.n_train is not None and self.n_train >= self.n_samples:
            raise ValueError(
                f"n_train ({self.n_train}) must be less than n_samples ({self.n_samples}): "
                "the remaining samples are the validation data"
            )
        return self

    @property
    def has_validation_data(self) -> bool:
        return self.n_train is not None

    @property
    def has_test_evaluation(self) -> bool:
        return False


class CirclesDataset(_Generated):
    name: Literal["circles"]
    noise: float = Field(default=0.1, ge=0.0, le=1.0)
    factor: float = Field(default=0.8, gt=0.0, lt=1.0)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (2,)


class MoonsDataset(_Generated):
    name: Literal["moons"]
    noise: float = Field(default=0.1, ge=0.0, le=1.0)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (2,)


class ClassificationDataset(_Generated):
    """sklearn make_classification."""

    name: Literal["classification"]
    n_features: int = Field(default=20, ge=2, le=1000)
    n_informative: int = Field(default=2, ge=1, le=1000)
    n_redundant: int = Field(default=2, ge=0, le=1000)
    n_classes: int = Field(default=2, ge=2, le=100)
    n_clusters_per_class: int = Field(default=2, ge=1, le=10)

    @model_validator(mode="after")
    def _sklearn_constraints(self) -> Self:
        if self.n_informative + self.n_redundant > self.n_features:
            raise ValueError("n_informative + n_redundant must not exceed n_features")
        if self.n_classes * self.n_clusters_per_class > 2**self.n_informative:
            raise ValueError("n_classes * n_clusters_per_class must be <= 2 ** n_informative")
        return self

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.n_features,)


class _WithTestSplit(StrictModel):
    test_split: TestSplitUse = "validation"
    max_train_samples: int | None = Field(default=None, ge=1, description="Use only the first N")
    max_test_samples: int | None = Field(default=None, ge=1, description="Use only the first N")

    @property
    def has_validation_data(self) -> bool:
        return self.test_split == "validation"

    @property
    def has_test_evaluation(self) -> bool:
        return self.test_split == "evaluation"


class _Bundled(_WithTestSplit):
    """sklearn's bundled tables. With test_fraction, a seeded stratified split is held out
    as the test split; features are standardized with statistics of the training part."""

    test_fraction: float | None = Field(default=None, gt=0.0, lt=0.9)
    random_state: Seed = 0
    standardize: bool = True

    @property
    def has_validation_data(self) -> bool:
        return self.test_fraction is not None and self.test_split == "validation"

    @property
    def has_test_evaluation(self) -> bool:
        return self.test_fraction is not None and self.test_split == "evaluation"


class DigitsDataset(_Bundled):
    """8x8 digits scaled to [0, 1]: 64 features, or an 8x8x1 image for Conv2D."""

    name: Literal["digits"]
    format: Literal["flat", "image"] = "flat"
    standardize: bool = False

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (64,) if self.format == "flat" else (8, 8, 1)


class IrisDataset(_Bundled):
    name: Literal["iris"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (4,)


class WineDataset(_Bundled):
    name: Literal["wine"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (13,)


class BreastCancerDataset(_Bundled):
    name: Literal["breast_cancer"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (30,)


class _Text(_WithTestSplit):
    """Word-index datasets from keras.datasets. multi_hot turns each review into a 0/1 vector
    of num_words (as the notebooks do); sequence pads or truncates to maxlen for Embedding."""

    num_words: int = Field(default=10_000, ge=2, le=100_000)
    encoding: Literal["multi_hot", "sequence"] = "multi_hot"
    maxlen: int = Field(default=500, ge=1, le=10_000, description="For the sequence encoding")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.num_words,) if self.encoding == "multi_hot" else (self.maxlen,)


class ImdbDataset(_Text):
    name: Literal["imdb"]


class ReutersDataset(_Text):
    name: Literal["reuters"]


class _Images(_WithTestSplit):
    """Images scaled to [0, 1]: flattened for Dense models, or kept with a channel axis."""

    format: Literal["flat", "image"] = "flat"


class MnistDataset(_Images):
    name: Literal["mnist", "fashion_mnist"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (784,) if self.format == "flat" else (28, 28, 1)


class Cifar10Dataset(_Images):
    name: Literal["cifar10"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (3072,) if self.format == "flat" else (32, 32, 3)


class BostonHousingDataset(_WithTestSplit):
    """Regression: 13 features (standardized with training statistics), price in k$."""

    name: Literal["boston_housing"]
    standardize: bool = True

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (13,)


class UploadedDataset(StrictModel):
    """A CSV or NPZ uploaded through POST /datasets. Its shape is known once it is stored."""

    name: Literal["upload"]
    dataset_id: int = Field(ge=1)
    standardize: bool = False
    # An NPZ upload may carry x_test/y_test; a CSV has no test split, hence "none".
    test_split: TestSplitUse = "none"

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        return None  # resolved from the stored dataset (see api/experiments/service.py)

    @property
    def has_validation_data(self) -> bool:
        return self.test_split == "validation"  # only when the upload has x_test/y_test

    @property
    def has_test_evaluation(self) -> bool:
        return self.test_split == "evaluation"


def gives_word_indices(dataset: object) -> bool:
    """Whether samples are integer word indices, the only input an Embedding can read."""
    return isinstance(dataset, _Text) and dataset.encoding == "sequence"


def describe_input(dataset: object) -> str:
    """What a dataset's samples are, in the spec's terms, for a message."""
    name = getattr(dataset, "name", "?")
    if isinstance(dataset, _Text):
        return (
            f"dataset '{name}' has encoding '{dataset.encoding}': 0/1 vectors of "
            f"{dataset.num_words} words, not word indices"
        )
    if isinstance(dataset, UploadedDataset):
        return "dataset 'upload' holds float32 features, not word indices"
    return f"dataset '{name}' holds numeric features, not word indices"


DatasetSpec = Annotated[
    CirclesDataset | MoonsDataset | ClassificationDataset
    | DigitsDataset | IrisDataset | WineDataset | BreastCancerDataset
    | ImdbDataset | ReutersDataset | MnistDataset | Cifar10Dataset | BostonHousingDataset
    | UploadedDataset,
    Field(discriminator="name"),
]  # fmt: skip
