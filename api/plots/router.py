"""PNG plots: an experiment's learning curves, a study's (per variant, and a grid sweep's
best values) and any experiments side by side; same sizes, styles and errors for all, each
cached and revalidated by ETag."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.exceptions import RequestValidationError

from api.core.deps import (
    ExperimentDep,
    OwnerDep,
    PlotCacheDep,
    SeriesCacheDep,
    SessionDep,
    StudyDep,
)
from api.plots import service
from api.plots.cache import cached_png, etag, etag_matches, not_modified
from api.plots.schemas import Dpi, Height, IfNoneMatch, Width, png_responses

router = APIRouter(tags=["plots"])

MAX_COMPARED = 20


@router.get(
    "/experiments/{experiment_id}/plot.png",
    response_class=Response,
    responses=png_responses(
        "The learning curves as PNG",
        "No such experiment",
        "No epoch has finished yet",
        "The metric was not recorded",
    ),
    summary="Learning curves: training solid, validation dashed",
)
def plot_experiment(
    experiment: ExperimentDep,
    session: SessionDep,
    plot_cache: PlotCacheDep,
    series_cache: SeriesCacheDep,
    metric: Annotated[str, Query(max_length=100, examples=["loss"])] = "loss",
    width: Width = 800,
    height: Height = 500,
    dpi: Dpi = 100,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The picture changes only when an epoch is recorded (or written again on a resume):
    it is drawn once per newest epoch and parameters and kept (`FITQ_PLOT_CACHE_BYTES`),
    sent with an `ETag` and `Cache-Control: private, no-cache`; a request whose
    `If-None-Match` names that ETag gets 304 without a body."""
    plot = service.experiment_plot(session, series_cache, experiment, metric, width, height, dpi)
    # Checked before anything is drawn, even when this process has not cached the picture.
    if etag_matches(if_none_match, etag(plot.key)):
        return not_modified(etag(plot.key))
    return cached_png(plot_cache, plot.key, if_none_match, plot.render)


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
    plot = service.study_plot(session, study, metric, width, height, dpi)
    return cached_png(plot_cache, plot.key, if_none_match, plot.render)


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
    plot = service.compare_plot(session, ids, owner, metric, width, height, dpi)
    return cached_png(plot_cache, plot.key, if_none_match, plot.render)


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
    plot = service.grid_plot(session, study, metric, field, width, height, dpi)
    return cached_png(plot_cache, plot.key, if_none_match, plot.render)
