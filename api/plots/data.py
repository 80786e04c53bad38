"""What the study plots draw, taken from a study's runs, and the rules they share: which
value of a metric is the best one, which fields a grid swept, what a curve is called."""

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from api.plots.figures import base_metric
from api.studies.expand import show
from api.studies.runs import Run
from models.tables import Experiment

Rows = Sequence[dict[str, Any]]
# One x position of a grid plot: the swept value and the best metric of each run there.
GridPoint = tuple[Any, list[float]]

# Keras metrics where more is better; every other metric (losses, errors) is best at its min.
_HIGHER_IS_BETTER = ("accuracy", "auc", "precision", "recall")


def higher_is_better(metric: str) -> bool:
    base = base_metric(metric)
    return any(word in base for word in _HIGHER_IS_BETTER)


def best_value(rows: Rows, metric: str) -> float | None:
    """The run's best validation value of the metric over its epochs (the epoch early
    stopping would keep), None when no epoch recorded a finite one."""
    key = f"val_{base_metric(metric)}"
    values = [float(row[key]) for row in rows if row.get(key) is not None]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return None
    return max(values) if higher_is_better(metric) else min(values)


def validation_metrics(runs: Sequence[Run]) -> list[str]:
    """Metric names (without val_) that have validation values in some run."""
    names = {
        key.removeprefix("val_")
        for run in runs
        for row in run.history
        for key in row
        if key.startswith("val_")
    }
    return sorted(names)


def swept_fields(runs: Sequence[Run]) -> list[str]:
    """JSON paths the study's grid swept, in the order the runs first show them."""
    fields: dict[str, None] = {}
    for run in runs:
        fields.update(dict.fromkeys(run.experiment.grid_values or {}))
    return list(fields)


def value_text(value: Any) -> str:
    """A swept value as a tick or legend label: strings bare, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def study_variant(experiment: Experiment) -> str:
    """The variant as the study request named it: the run's variant name without the grid
    point that api/studies/expand.py appends ("wide, model.layers[1].rate=0.2" -> "wide");
    "" when the study had no variants (the name is the grid point alone)."""
    name = experiment.variant or ""
    grid = experiment.grid_values or {}
    point = ", ".join(f"{key}={show(value)}" for key, value in grid.items())
    if point and name == point:
        return ""
    return name.removesuffix(f", {point}") if point else name


def grid_points(runs: Sequence[Run], field: str, metric: str) -> dict[str, list[GridPoint]]:
    """One line per variant and combination of the other swept fields (label like "wide",
    "wide, units=16" or "units=16"; "" for the only line of a one-field grid without
    variants), each a list of (value of field, best metric per run). Repeats share a point;
    different variants never do. Runs with no value are left out."""
    lines: dict[str, dict[str, GridPoint]] = {}
    for run in runs:
        grid = run.experiment.grid_values or {}
        best = best_value(run.history, metric)
        if field not in grid or best is None:
            continue
        others = [f"{k}={value_text(v)}" for k, v in sorted(grid.items()) if k != field]
        label = ", ".join(part for part in (study_variant(run.experiment), *others) if part)
        # JSON text as the key: swept values may be lists or dicts, which do not hash.
        key = json.dumps(grid[field], sort_keys=True)
        point = lines.setdefault(label, {}).setdefault(key, (grid[field], []))
        point[1].append(best)
    return {label: list(points.values()) for label, points in lines.items()}


def experiment_labels(experiments: Sequence[Experiment]) -> list[str]:
    """Name, or "experiment N"; a name given twice gets its id, so each curve is told apart."""
    names = [e.name or f"experiment {e.id}" for e in experiments]
    return [
        f"{name} (#{e.id})" if names.count(name) > 1 else name
        for name, e in zip(names, experiments, strict=True)
    ]


def default_metric(experiments: Sequence[Experiment], recorded: Sequence[str]) -> str:
    """The loss function's own metric (binary_crossentropy, say) when the runs recorded it,
    as the notebooks plot: `loss` adds the L1/L2 penalties, which would tilt a comparison
    of regularized and plain models. `loss` otherwise."""
    for experiment in experiments:
        compile_spec: Mapping[str, Any] = experiment.spec.get("compile") or {}
        loss = compile_spec.get("loss")
        if isinstance(loss, str) and loss in recorded:
            return loss
    return "loss"
