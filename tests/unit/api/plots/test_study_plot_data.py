"""Rules the study plots share: the best value of a metric, grid points, curve names."""

from typing import Any

import pytest

from api.plots.data import (
    best_value,
    default_metric,
    experiment_labels,
    grid_points,
    higher_is_better,
    study_variant,
    swept_fields,
    validation_metrics,
)
from api.studies.runs import Run
from models.tables import Experiment


def rows(*val_losses: float | None) -> list[dict[str, Any]]:
    return [
        {"epoch": e, "loss": 0.1, "val_loss": v, "val_accuracy": None if v is None else 1 - v}
        for e, v in enumerate(val_losses, start=1)
    ]


def grid_run(grid: dict[str, Any] | None, *val_losses: float | None) -> Run:
    return Run(Experiment(id=1, grid_values=grid, spec={}), rows(*val_losses))


@pytest.mark.parametrize(
    ("metric", "higher"),
    [("val_loss", False), ("binary_crossentropy", False), ("mean_absolute_error", False),
     ("accuracy", True), ("val_binary_accuracy", True), ("auc", True), ("recall", True)],
)  # fmt: skip
def test_higher_is_better_only_for_accuracy_like_metrics(metric: str, higher: bool) -> None:
    assert higher_is_better(metric) is higher


def test_best_value_is_the_validation_min_or_max_over_epochs() -> None:
    history = rows(0.5, 0.3, None, 0.4)
    assert best_value(history, "loss") == 0.3
    assert best_value(history, "val_loss") == 0.3
    assert best_value(history, "accuracy") == pytest.approx(0.7)
    assert best_value(rows(None), "val_loss") is None
    assert best_value(history, "auc") is None


def test_grid_points_group_repeats_and_split_lines_by_the_other_fields() -> None:
    runs = [
        grid_run({"rate": 0.2, "units": 16}, 0.5, 0.4),
        grid_run({"rate": 0.2, "units": 16}, 0.3),
        grid_run({"rate": 0.5, "units": 16}, 0.6),
        grid_run({"rate": 0.2, "units": 64}, 0.2),
        grid_run({"rate": 0.5, "units": 64}),  # no finished epoch: left out
    ]
    assert swept_fields(runs) == ["rate", "units"]
    assert grid_points(runs, "rate", "val_loss") == {
        "units=16": [(0.2, [0.4, 0.3]), (0.5, [0.6])],
        "units=64": [(0.2, [0.2])],
    }
    assert grid_points(runs[:3], "units", "val_loss") == {
        "rate=0.2": [(16, [0.4, 0.3])],
        "rate=0.5": [(16, [0.6])],
    }


def test_grid_points_take_unhashable_values_and_one_field_gives_one_unnamed_line() -> None:
    runs = [grid_run({"shape": [2, 3]}, 0.4), grid_run({"shape": [2, 3]}, 0.2)]
    assert grid_points(runs, "shape", "val_loss") == {"": [([2, 3], [0.4, 0.2])]}
    assert swept_fields([grid_run(None, 0.1)]) == []


def test_validation_metrics_are_those_with_val_values() -> None:
    history = [{"epoch": 1, "loss": 0.1, "accuracy": 0.5, "val_loss": 0.2}]
    assert validation_metrics([Run(Experiment(id=1), history)]) == ["loss"]


def test_labels_are_names_or_ids_and_repeated_names_get_their_id() -> None:
    experiments = [
        Experiment(id=3, name="baseline"),
        Experiment(id=4, name=None),
        Experiment(id=9, name="baseline"),
    ]
    assert experiment_labels(experiments) == ["baseline (#3)", "experiment 4", "baseline (#9)"]


def test_default_metric_is_the_loss_functions_own_metric_when_recorded() -> None:
    imdb = Experiment(id=1, spec={"compile": {"loss": "binary_crossentropy"}})
    assert (
        default_metric([imdb], ["accuracy", "binary_crossentropy", "loss"]) == "binary_crossentropy"
    )
    assert default_metric([imdb], ["accuracy", "loss"]) == "loss"
    assert default_metric([Experiment(id=2, spec={})], ["loss"]) == "loss"


RATE = "model.layers[1].rate"


def variant_run(variant: str, rate: float, *val_losses: float) -> Run:
    """A run as POST /studies names it: the variant, then the grid point."""
    name = f"{variant}, {RATE}={rate}"
    return Run(Experiment(id=1, variant=name, grid_values={RATE: rate}, spec={}), rows(*val_losses))


def test_grid_points_draw_one_line_per_variant_never_mixing_them() -> None:
    # The study of docs/studies.md: wide and narrow over dropout rates, trends running opposite.
    runs = [
        variant_run("wide", 0.0, 0.9, 0.66), variant_run("wide", 0.0, 0.66),
        variant_run("narrow", 0.0, 0.712), variant_run("narrow", 0.0, 0.8, 0.712),
        variant_run("wide", 0.4, 0.70), variant_run("narrow", 0.4, 0.69),
    ]  # fmt: skip
    lines = grid_points(runs, RATE, "val_loss")
    assert lines == {
        "wide": [(0.0, [0.66, 0.66]), (0.4, [0.70])],
        "narrow": [(0.0, [0.712, 0.712]), (0.4, [0.69])],
    }


def test_study_variant_strips_the_grid_point_from_the_run_name() -> None:
    def variant(name: str | None, grid: dict[str, Any] | None) -> str:
        return study_variant(Experiment(variant=name, grid_values=grid))

    assert variant("wide, a=1, b=[1,2]", {"a": 1, "b": [1, 2]}) == "wide"
    assert variant("a=0.2", {"a": 0.2}) == ""  # no variants: the grid point is the name
    assert variant("baseline", None) == "baseline"
    assert variant(None, None) == ""
