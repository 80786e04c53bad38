"""fit.early_stopping: its fields, their bounds, and a monitor Keras will actually log."""

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from api.core.errors import json_path
from api.experiments.schemas import EARLY_STOPPING_EXAMPLE, ExperimentCreate, ExperimentRead
from models.spec import ExperimentSpec, MetricName
from models.spec_early_stopping import Monitor
from tests.helpers import circles_spec

MONITOR = ("fit", "early_stopping", "monitor")


def with_stopping(stopping: dict[str, Any], **fit: Any) -> dict[str, Any]:
    """The circles spec (its n_train leaves validation data) with fit.early_stopping."""
    spec = circles_spec(epochs=2000)
    spec["fit"].update(fit, early_stopping=stopping)
    return spec


def errors_of(spec: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, str]]:
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(spec)
    return [(err["loc"], err["type"], err["msg"]) for err in info.value.errors()]


def test_defaults_are_keras_defaults() -> None:
    stopping = ExperimentSpec.model_validate(with_stopping({})).fit.early_stopping
    assert stopping is not None
    assert stopping.model_dump() == {
        "monitor": "val_loss", "patience": 0, "min_delta": 0.0, "mode": "auto",
        "restore_best_weights": False, "start_from_epoch": 0,
    }  # fmt: skip
    assert ExperimentSpec.model_validate(circles_spec()).fit.early_stopping is None


def test_every_field_given() -> None:
    given = {
        "monitor": "val_accuracy", "patience": 10_000, "min_delta": 0.001, "mode": "max",
        "restore_best_weights": True, "start_from_epoch": 20,
    }  # fmt: skip
    stopping = ExperimentSpec.model_validate(with_stopping(given)).fit.early_stopping
    assert stopping is not None and stopping.model_dump() == given


@pytest.mark.parametrize(
    ("monitor", "mode", "direction"),
    [
        ("val_loss", "auto", "min"),
        ("loss", "auto", "min"),
        ("val_accuracy", "auto", "max"),
        ("accuracy", "auto", "max"),
        ("val_loss", "max", "max"),
        ("val_accuracy", "min", "min"),
    ],
)
def test_auto_mode_maximizes_accuracy_and_minimizes_the_rest(
    monitor: str, mode: str, direction: str
) -> None:
    spec = ExperimentSpec.model_validate(with_stopping({"monitor": monitor, "mode": mode}))
    assert spec.fit.early_stopping is not None
    assert spec.fit.early_stopping.direction == direction


def test_a_compiled_metric_may_be_monitored_and_auc_is_maximized() -> None:
    spec = with_stopping({"monitor": "val_auc"})
    spec["compile"]["metrics"] = ["auc", "mean_squared_error"]
    stopping = ExperimentSpec.model_validate(spec).fit.early_stopping
    assert stopping is not None and stopping.direction == "max"
    spec["fit"]["early_stopping"] = {"monitor": "mean_squared_error"}
    stopping = ExperimentSpec.model_validate(spec).fit.early_stopping
    assert stopping is not None and stopping.direction == "min"


def test_validation_split_gives_a_val_monitor_its_data() -> None:
    spec = with_stopping({"monitor": "val_loss"}, validation_split=0.2)
    spec["dataset"].pop("n_train")
    assert ExperimentSpec.model_validate(spec).fit.validation_split == 0.2


def test_a_val_monitor_without_validation_data_is_named() -> None:
    spec = with_stopping({"monitor": "val_loss"})
    spec["dataset"].pop("n_train")
    [(loc, kind, msg)] = errors_of(spec)
    assert (loc, kind) == (MONITOR, "monitor_needs_validation_data")
    assert msg.startswith("val_loss needs validation data: set fit.validation_split")
    spec["fit"]["early_stopping"]["monitor"] = "loss"  # the training loss is always logged
    ExperimentSpec.model_validate(spec)


def test_a_metric_that_is_not_compiled_is_named() -> None:
    [(loc, kind, msg)] = errors_of(with_stopping({"monitor": "val_auc"}))
    assert (loc, kind) == (MONITOR, "monitor_not_compiled")
    assert "add 'auc' to compile.metrics" in msg


def test_both_monitor_problems_are_reported_at_once() -> None:
    spec = with_stopping({"monitor": "val_precision"})
    spec["dataset"].pop("n_train")
    kinds = {(loc, kind) for loc, kind, _ in errors_of(spec)}
    assert kinds == {
        (MONITOR, "monitor_needs_validation_data"),
        (MONITOR, "monitor_not_compiled"),
    }


def test_the_api_names_the_monitor_path() -> None:
    spec = with_stopping({"monitor": "val_auc"})
    assert json_path(MONITOR, spec) == "fit.early_stopping.monitor"


@pytest.mark.parametrize(
    ("stopping", "loc", "says"),
    [
        ({"monitor": "val_f1"}, MONITOR, "'val_loss'"),
        ({"monitor": "lr"}, MONITOR, "'loss'"),
        ({"patience": -1}, ("fit", "early_stopping", "patience"), "greater than or equal to 0"),
        ({"patience": 10_001}, ("fit", "early_stopping", "patience"), "less than or equal"),
        ({"min_delta": -0.1}, ("fit", "early_stopping", "min_delta"), "greater than or equal"),
        ({"mode": "maximum"}, ("fit", "early_stopping", "mode"), "'auto', 'min' or 'max'"),
        ({"start_from_epoch": -1}, ("fit", "early_stopping", "start_from_epoch"), "greater"),
        ({"restore_best_weights": "maybe"}, ("fit", "early_stopping", "restore_best_weights"), ""),
        ({"baseline": 0.5}, ("fit", "early_stopping", "baseline"), "Extra inputs"),
        ({"verbose": 1}, ("fit", "early_stopping", "verbose"), "Extra inputs"),
        ("val_loss", ("fit", "early_stopping"), "valid dictionary"),
    ],
)
def test_bad_fields_are_named(stopping: Any, loc: tuple[Any, ...], says: str) -> None:
    errors = errors_of(with_stopping(stopping))
    assert any(where == loc and says in msg for where, _, msg in errors), errors


def test_monitors_are_loss_and_every_metric_plain_and_validated() -> None:
    names = {"loss", *get_args(MetricName)}
    assert set(get_args(Monitor)) == names | {f"val_{name}" for name in names}


def test_openapi_examples_are_valid() -> None:
    ExperimentCreate.model_validate(EARLY_STOPPING_EXAMPLE)
    for example in ExperimentRead.model_json_schema()["examples"]:
        read = ExperimentRead.model_validate(example)
        assert set(example) == set(ExperimentRead.model_fields)
        ExperimentCreate.model_validate(read.spec)
