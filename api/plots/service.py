"""The plots below the routes: for each, what its picture depends on (the cache key, read
first: the runs' newest epochs and the parameters) and how to draw it (read the histories,
check the metric, draw the figure), raising the route's 4xx where there is nothing to draw.
They read, never write."""

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import series
from api.core.errors import ApiError
from api.core.series import SeriesCache
from api.plots.data import (
    default_metric,
    experiment_labels,
    grid_points,
    swept_fields,
    validation_metrics,
)
from api.plots.figures import (
    base_metric,
    history_figure,
    plot_metrics,
    png_bytes,
    recorded_metrics,
)
from api.plots.figures_studies import compare_figure, grid_figure, study_figure
from api.studies.runs import histories, runs_by_variant
from models.tables import Experiment, Study


@dataclass(frozen=True)
class Plot:
    key: Hashable  # everything the picture depends on; its ETag is a hash of it
    render: Callable[[], bytes]  # the PNG, drawn only when the cache does not hold it


def experiment_plot(
    session: Session,
    series_cache: SeriesCache,
    experiment: Experiment,
    metric: str,
    width: int,
    height: int,
    dpi: int,
) -> Plot:
    """Learning curves of one experiment: training solid, validation dashed. The metric is
    checked against the newest epoch before the key is made."""
    newest = series.last_epoch(session, experiment.id)
    if newest is None:
        raise ApiError(
            409, "path.experiment_id", f"experiment {experiment.id} has no finished epoch yet",
            "no_epochs",
        )  # fmt: skip
    known = plot_metrics(newest.metrics)
    base = base_metric(metric)
    if base not in known:
        recorded = ", ".join(known)
        raise ApiError(
            422, "query.metric", f"metric '{metric}' was not recorded; recorded: {recorded}",
            "metric_not_recorded",
        )  # fmt: skip
    title = f"{experiment.name or f'experiment {experiment.id}'}: {base}"
    shown = ("experiment", experiment.id, newest.epoch, newest.recorded_at, title, metric)

    def render() -> bytes:
        # Up to the newest epoch of the key, should another have landed since.
        curves = {
            name: series_cache.get(session, experiment.id, experiment.attempts, name).window(
                through_epoch=newest.epoch
            )
            for name in (base, f"val_{base}")
            if name in newest.metrics
        }
        return png_bytes(history_figure(curves, metric, title, width, height, dpi))

    return Plot((*shown, width, height, dpi), render)


def _require(metric: str, known: list[str], what: str = "recorded") -> None:
    if base_metric(metric) not in known:
        raise ApiError(
            422, "query.metric", f"metric '{metric}' was not {what}; recorded: {', '.join(known)}",
            "metric_not_recorded",
        )  # fmt: skip


def _title(study: Study) -> str:
    return study.name or f"study {study.id}"


def _study_state(session: Session, study: Study) -> tuple[object, ...]:
    """What a study plot shows depends on: the study and its runs' newest epochs (the runs,
    their variants and names are fixed when the study is created)."""
    ids = session.scalars(
        select(Experiment.id).where(Experiment.study_id == study.id).order_by(Experiment.id)
    ).all()
    return (study.id, study.name, series.newest_epochs(session, ids))


def study_plot(
    session: Session, study: Study, metric: str | None, width: int, height: int, dpi: int
) -> Plot:
    """Learning curves of every variant: mean and ± 1 sd band over its repeats."""

    def render() -> bytes:
        runs = runs_by_variant(session, study.id)
        variants = {n: [run.history for run in group if run.history] for n, group in runs.items()}
        variants = {name: repeats for name, repeats in variants.items() if repeats}
        if not variants:
            raise ApiError(
                409, "path.study_id", f"study {study.id} has no finished epoch yet", "no_epochs"
            )
        rows = [row for repeats in variants.values() for history in repeats for row in history]
        known = recorded_metrics(rows)
        experiments = [run.experiment for group in runs.values() for run in group]
        chosen = metric or default_metric(experiments, known)
        _require(chosen, known)
        title = f"{_title(study)}: {base_metric(chosen)}"
        return png_bytes(study_figure(variants, chosen, title, width, height, dpi))

    key = ("study", _study_state(session, study), metric, width, height, dpi)
    return Plot(key, render)


def _load_experiments(session: Session, ids: list[int], owner: str) -> list[Experiment]:
    # Another owner's experiment is "not found", as on every experiment route.
    mine = select(Experiment).where(Experiment.id.in_(ids), Experiment.owner == owner)
    found = {e.id: e for e in session.scalars(mine)}
    for experiment_id in ids:
        if experiment_id not in found:
            raise ApiError(
                404, "query.experiments", f"experiment {experiment_id} not found", "not_found"
            )
    return [found[i] for i in ids]


def compare_plot(
    session: Session, ids: list[int], owner: str, metric: str, width: int, height: int, dpi: int
) -> Plot:
    """The experiments' curves side by side, a colour each; 404 naming the first id that is
    not the owner's."""
    experiments = _load_experiments(session, ids, owner)
    labels = experiment_labels(experiments)

    def render() -> bytes:
        by_id = histories(session, ids)
        if not any(by_id.values()):
            raise ApiError(
                409, "query.experiments", "none of these experiments has a finished epoch yet",
                "no_epochs",
            )  # fmt: skip
        known = recorded_metrics([row for rows in by_id.values() for row in rows])
        _require(metric, known, "recorded by any of these experiments")
        curves = [(label, by_id[e.id]) for label, e in zip(labels, experiments, strict=True)]
        split = "validation" if metric.startswith("val_") else "training and validation"
        return png_bytes(compare_figure(curves, metric, f"{metric}: {split}", width, height, dpi))

    state = series.newest_epochs(session, ids)
    key = ("compare", state, tuple(labels), metric, width, height, dpi)
    return Plot(key, render)


def _chosen_field(study: Study, fields: list[str], field: str | None) -> str:
    if not fields:
        raise ApiError(
            409, "path.study_id", f"study {study.id} has no grid: no run has swept values",
            "no_grid",
        )  # fmt: skip
    if field is None and len(fields) > 1:
        raise ApiError(
            422, "query.field",
            f"study {study.id} swept several fields, choose one: {', '.join(fields)}",
            "field_required",
        )  # fmt: skip
    if field is not None and field not in fields:
        raise ApiError(
            422, "query.field", f"field '{field}' was not swept; swept: {', '.join(fields)}",
            "field_not_swept",
        )  # fmt: skip
    return field or fields[0]


def grid_plot(
    session: Session,
    study: Study,
    metric: str,
    field: str | None,
    width: int,
    height: int,
    dpi: int,
) -> Plot:
    """The best validation metric per swept value of `field`, ± 1 sd error bars."""

    def render() -> bytes:
        groups = runs_by_variant(session, study.id).values()
        runs = [run for group in groups for run in group]
        chosen = _chosen_field(study, swept_fields(runs), field)
        if not any(run.history for run in runs):
            raise HTTPException(409, detail=f"study {study.id} has no finished epoch yet")
        _require(metric, validation_metrics(runs), "recorded with validation values")
        lines = grid_points(runs, chosen, metric)
        if not lines:
            raise HTTPException(
                409, detail=f"no run of study {study.id} has a finite val_{base_metric(metric)}"
            )
        title = f"{_title(study)}: best val_{base_metric(metric)} by {chosen}"
        return png_bytes(grid_figure(lines, chosen, metric, title, width, height, dpi))

    key = ("grid", _study_state(session, study), metric, field, width, height, dpi)
    return Plot(key, render)
