"""sklearn's generated (seeded) and bundled datasets; they work offline."""

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_circles,
    make_classification,
    make_moons,
)
from sklearn.model_selection import train_test_split

from models.spec_datasets import (
    BreastCancerDataset,
    CirclesDataset,
    ClassificationDataset,
    DigitsDataset,
    IrisDataset,
    MoonsDataset,
    WineDataset,
    _Bundled,
    _Generated,
)
from worker.training.dataset_registry import register
from worker.training.splits import RawSplits


def _first_n_train(spec: _Generated, x: np.ndarray, y: np.ndarray) -> RawSplits:
    x, y = x.astype("float32"), y.astype("int32")
    if spec.n_train is None:
        return RawSplits(x, y)
    n = spec.n_train
    return RawSplits(x[:n], y[:n], x[n:], y[n:])


@register("circles")
def circles(spec: CirclesDataset) -> RawSplits:
    x, y = make_circles(
        n_samples=spec.n_samples, noise=spec.noise, factor=spec.factor,
        random_state=spec.random_state,
    )  # fmt: skip
    return _first_n_train(spec, x, y)


@register("moons")
def moons(spec: MoonsDataset) -> RawSplits:
    x, y = make_moons(n_samples=spec.n_samples, noise=spec.noise, random_state=spec.random_state)
    return _first_n_train(spec, x, y)


@register("classification")
def classification(spec: ClassificationDataset) -> RawSplits:
    x, y = make_classification(
        n_samples=spec.n_samples, n_features=spec.n_features, n_informative=spec.n_informative,
        n_redundant=spec.n_redundant, n_classes=spec.n_classes,
        n_clusters_per_class=spec.n_clusters_per_class, random_state=spec.random_state,
    )  # fmt: skip
    return _first_n_train(spec, x, y)


def _held_out(spec: _Bundled, x: np.ndarray, y: np.ndarray) -> RawSplits:
    x, y = x.astype("float32"), y.astype("int32")
    if spec.test_fraction is None:
        return RawSplits(x, y)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=spec.test_fraction, random_state=spec.random_state, stratify=y
    )
    return RawSplits(x_train, y_train, x_test, y_test)


@register("digits")
def digits(spec: DigitsDataset) -> RawSplits:
    bunch = load_digits()
    # Pixel values are 0..16; scale to [0, 1] as the notebooks scale MNIST's 0..255.
    x = bunch.data / 16.0
    if spec.format == "image":
        x = x.reshape(-1, 8, 8, 1)
    return _held_out(spec, x, bunch.target)


@register("iris")
def iris(spec: IrisDataset) -> RawSplits:
    bunch = load_iris()
    return _held_out(spec, bunch.data, bunch.target)


@register("wine")
def wine(spec: WineDataset) -> RawSplits:
    bunch = load_wine()
    return _held_out(spec, bunch.data, bunch.target)


@register("breast_cancer")
def breast_cancer(spec: BreastCancerDataset) -> RawSplits:
    bunch = load_breast_cancer()
    return _held_out(spec, bunch.data, bunch.target)
