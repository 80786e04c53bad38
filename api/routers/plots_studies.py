"""PNG plots of studies (learning curves per variant, a grid sweep's best values) and of
any experiments side by side. Same sizes, styles and errors as the experiment plot."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import series
from api.core.deps import OwnerDep, PlotCacheDep, SessionDep, StudyDep
from api.core.errors import ApiError
from api.plot_cache import Dpi, Height, IfNoneMatch, Width, cached_png, png_responses
from api.plotting import base_metric, png_bytes, recorded_metrics
from api.plotting_studies import compare_figure, grid_figure, study_figure
from api.studies import runs as study_queries
from api.study_plot_data import (
    default_metric,
    experiment_labels,
    grid_points,
    swept_fields,
    validation_metrics,
)
from models.tables import Experiment, Study

router = APIRouter(tags=["plots"])

MAX_COMPARED = 20


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


@router.get(
    "/studies/{study_id}/plot.png",
    response_class=Response,
    responses=png_responses(
        "Learning curves of every variant as PNG",
        "No such study",
        "No run has finished an epoch",
        "The metric was not recorded",
    ),
    summary="Study learning curves: a colour per variant, mean and ± 1 sd band over repeats",
)
def plot_study(
    study: StudyDep,
    session: SessionDep,
    plot_cache: PlotCacheDep,
    metric: Annotated[
        str | None,
        Query(
            max_length=100,
            examples=["binary_crossentropy"],
            description="Default: the loss function's own metric when recorded, else loss",
        ),
    ] = None,
    width: Width = 1000,
    height: Height = 600,
    dpi: Dpi = 100,
    if_none_match: IfNoneMatch = None,
) -> Response:
    def render() -> bytes:
        runs = study_queries.runs_by_variant(session, study.id)
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
    return cached_png(plot_cache, key, if_none_match, render)


def experiment_ids(
    experiments: Annotated[
        str,
        Query(
            max_length=300,
            examples=["1,2,3"],
            description=f"Comma-separated experiment ids, 1 to {MAX_COMPARED}",
        ),
    ],
) -> list[int]:
    """The ids in the order given, repeats dropped; a malformed list is a 422 that names
    the query field, in the same body as any other invalid parameter."""
    parts = [part.strip() for part in experiments.split(",")]
    valid = all(p.isascii() and p.isdigit() and 1 <= int(p) < 2**31 for p in parts)
    if not valid or not 1 <= len(parts) <= MAX_COMPARED:
        raise RequestValidationError([{
            "type": "value_error",
            "loc": ("query", "experiments"),
            "msg": f"expected 1 to {MAX_COMPARED} experiment ids separated by commas, e.g. 1,2,3",
            "input": experiments,
        }])  # fmt: skip
    return list(dict.fromkeys(int(p) for p in parts))


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


@router.get(
    "/plots/compare.png",
    response_class=Response,
    responses=png_responses(
        "The experiments' curves as PNG",
        "An experiment id is unknown (the first one is named)",
        "No experiment has finished an epoch",
        "A malformed id list (a field error), or no experiment recorded the metric",
    ),
    summary="Experiments side by side: a colour each; val_ metrics draw validation only",
)
def plot_compare(
    ids: Annotated[list[int], Depends(experiment_ids)],
    session: SessionDep,
    owner: OwnerDep,
    plot_cache: PlotCacheDep,
    metric: Annotated[
        str,
        Query(
            max_length=100,
            examples=["val_loss", "loss"],
            description="val_<name>: validation only (dashed); <name>: training solid too",
        ),
    ] = "val_loss",
    width: Width = 1000,
    height: Height = 600,
    dpi: Dpi = 100,
    if_none_match: IfNoneMatch = None,
) -> Response:
    experiments = _load_experiments(session, ids, owner)
    labels = experiment_labels(experiments)

    def render() -> bytes:
        histories = study_queries.histories(session, ids)
        if not any(histories.values()):
            raise ApiError(
                409, "query.experiments", "none of these experiments has a finished epoch yet",
                "no_epochs",
            )  # fmt: skip
        known = recorded_metrics([row for rows in histories.values() for row in rows])
        _require(metric, known, "recorded by any of these experiments")
        curves = [(label, histories[e.id]) for label, e in zip(labels, experiments, strict=True)]
        split = "validation" if metric.startswith("val_") else "training and validation"
        return png_bytes(compare_figure(curves, metric, f"{metric}: {split}", width, height, dpi))

    state = series.newest_epochs(session, ids)
    key = ("compare", state, tuple(labels), metric, width, height, dpi)
    return cached_png(plot_cache, key, if_none_match, render)


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


@router.get(
    "/studies/{study_id}/grid.png",
    response_class=Response,
    responses=png_responses(
        "Best validation metric against the swept value as PNG",
        "No such study",
        "The study has no grid, or no run has finished an epoch",
        "The field was not swept (or several were and none was chosen), or no validation "
        "values of the metric",
    ),
    summary="Grid sweep: best validation metric per swept value, ± 1 sd error bars",
)
def plot_study_grid(
    study: StudyDep,
    session: SessionDep,
    plot_cache: PlotCacheDep,
    metric: Annotated[
        str,
        Query(
            max_length=100,
            examples=["val_loss"],
            description="Lowest wins; highest for accuracy, auc, precision and recall",
        ),
    ] = "val_loss",
    field: Annotated[
        str | None,
        Query(
            max_length=300,
            examples=["model.layers[1].rate"],
            description="The swept JSON path; default: the only one",
        ),
    ] = None,
    width: Width = 1000,
    height: Height = 600,
    dpi: Dpi = 100,
    if_none_match: IfNoneMatch = None,
) -> Response:
    def render() -> bytes:
        groups = study_queries.runs_by_variant(session, study.id).values()
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
    return cached_png(plot_cache, key, if_none_match, render)
