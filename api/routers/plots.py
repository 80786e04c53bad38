"""PNG plots of an experiment's history, cached and revalidated by ETag."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.core import series
from api.core.deps import ExperimentDep, PlotCacheDep, SeriesCacheDep, SessionDep
from api.core.errors import ApiError
from api.plot_cache import (
    Dpi,
    Height,
    IfNoneMatch,
    Width,
    cached_png,
    etag,
    etag_matches,
    not_modified,
    png_responses,
)
from api.plotting import base_metric, history_figure, plot_metrics, png_bytes

router = APIRouter(tags=["plots"])


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
    key = (*shown, width, height, dpi)
    # Checked before anything is drawn, even when this process has not cached the picture.
    if etag_matches(if_none_match, etag(key)):
        return not_modified(etag(key))

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

    return cached_png(plot_cache, key, if_none_match, render)
