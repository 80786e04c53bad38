"""The experiment spec: what it accepts, and a clear error for each kind of bad input."""

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from models.spec import ExperimentSpec
from models.spec_layers import Dense, Dropout
from tests.helpers import CIRCLES_SPEC


def spec_with(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(CIRCLES_SPEC)
    node: Any = spec
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return spec


def errors_of(spec: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(spec)
    return [(err["loc"], err["msg"]) for err in info.value.errors()]


def test_the_issue_example_is_valid() -> None:
    spec = ExperimentSpec.model_validate(CIRCLES_SPEC)
    assert spec.dataset.name == "circles"
    assert spec.dataset.input_shape == (2,)
    assert isinstance(spec.model.layers[0], Dense)
    assert isinstance(spec.model.layers[1], Dropout)
    assert spec.compile.optimizer.name == "adam"
    assert spec.compile.optimizer.learning_rate is None


def test_optimizer_object_with_learning_rate_and_regularizers() -> None:
    spec = spec_with("compile.optimizer", {"name": "rmsprop", "learning_rate": 0.01})
    spec["model"]["layers"][0]["kernel_regularizer"] = {"l1": 0.001, "l2": 0.01}
    spec["model"]["layers"][0]["kernel_constraint"] = {"max_norm": 3}
    parsed = ExperimentSpec.model_validate(spec)
    assert parsed.compile.optimizer.learning_rate == 0.01
    dense = parsed.model.layers[0]
    assert isinstance(dense, Dense)
    assert dense.kernel_regularizer is not None and dense.kernel_regularizer.l2 == 0.01
    assert dense.kernel_constraint is not None and dense.kernel_constraint.max_norm == 3


@pytest.mark.parametrize(
    ("path", "value", "where", "says"),
    [
        ("model.layers.0.units", 0, ("model", "layers", 0, "Dense", "units"), "greater than"),
        ("model.layers.0.units", 10**6, ("model", "layers", 0, "Dense", "units"), "less than"),
        (
            "model.layers.0.activation",
            "relux",
            ("model", "layers", 0, "Dense", "activation"),
            "relu",
        ),
        ("model.layers.1.rate", 1.0, ("model", "layers", 1, "Dropout", "rate"), "less than 1"),
        ("model.layers.1.type", "Conv9D", ("model", "layers", 1), "'Conv9D'"),
        ("model.layers", [], ("model", "layers"), "at least 1"),
        ("compile.optimizer", "adamx", ("compile", "optimizer", "name"), "'adam'"),
        ("compile.loss", "crossentropy", ("compile", "loss"), "binary_crossentropy"),
        ("compile.metrics", ["accuracy", "accuracy"], ("compile", "metrics"), "once"),
        ("compile.metrics", ["f1"], ("compile", "metrics", 0), "accuracy"),
        ("fit.epochs", 0, ("fit", "epochs"), "greater than"),
        ("fit.batch_size", -1, ("fit", "batch_size"), "greater than"),
        ("dataset.name", "mnist-ish", ("dataset",), "'circles'"),
        ("dataset.n_train", 100, ("dataset", "circles"), "n_train (100) must be less"),
        ("fit.validation_split", 0.2, ("fit",), "already holds out validation"),
        ("model.layers.0.kernel_regularizer", {"l2": 0}, None, "give l1, l2 or both"),
        ("model.layers.0.kernel_regularizer", {"l3": 0.1}, None, "Extra inputs"),
        ("name", "", ("name",), "at least 1 character"),
        ("tags", ["x" * 65], ("tags",), "1 to 64 characters"),
    ],
)
def test_each_kind_of_bad_field_is_named(path: str, value: Any, where: Any, says: str) -> None:
    errors = errors_of(spec_with(path, value))
    assert any(says in msg for _, msg in errors), errors
    if where is not None:
        assert any(loc == where for loc, _ in errors), errors


def test_unknown_fields_are_rejected_everywhere() -> None:
    spec = copy.deepcopy(CIRCLES_SPEC)
    spec["learning_rate"] = 0.1
    spec["fit"]["verbose"] = 2
    spec["model"]["layers"][0]["input_shape"] = [2]
    locs = {loc for loc, _ in errors_of(spec)}
    assert ("learning_rate",) in locs
    assert ("fit", "verbose") in locs
    assert ("model", "layers", 0, "Dense", "input_shape") in locs


def test_digits_takes_validation_split() -> None:
    spec = spec_with("dataset", {"name": "digits"})
    spec["fit"]["validation_split"] = 0.2
    parsed = ExperimentSpec.model_validate(spec)
    assert parsed.dataset.input_shape == (64,)
    assert parsed.fit.validation_split == 0.2
