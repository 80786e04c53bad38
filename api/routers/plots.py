"""PNG plots of an experiment's history."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api import queries
from api.deps import ExperimentDep, SessionDep
from api.plotting import history_figure, png_bytes, recorded_metrics
from api.schemas import NOT_FOUND, ErrorRead, InvalidRead

router = APIRouter(tags=["plots"])


@router.get(
    "/experiments/{experiment_id}/plot.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The learning curves as PNG"},
        **NOT_FOUND,
        409: {"model": ErrorRead, "description": "No epoch has finished yet"},
        422: {"model": InvalidRead, "description": "The metric was not recorded"},
    },
    summary="Learning curves: training solid, validation dashed",
)
def plot_experiment(
    experiment: ExperimentDep,
    session: SessionDep,
    metric: Annotated[str, Query(max_length=100, examples=["loss"])] = "loss",
    width: Annotated[int, Query(ge=200, le=4000, description="Pixels")] = 800,
    height: Annotated[int, Query(ge=150, le=4000, description="Pixels")] = 500,
    dpi: Annotated[int, Query(ge=50, le=300)] = 100,
) -> Response:
    rows = queries.history(session, experiment.id)
    if not rows:
        raise HTTPException(409, detail=f"experiment {experiment.id} has no finished epoch yet")
    known = recorded_metrics(rows)
    if metric.removeprefix("val_") not in known:
        raise HTTPException(
            422, detail=f"metric '{metric}' was not recorded; recorded: {', '.join(known)}"
        )
    title = f"{experiment.name or f'experiment {experiment.id}'}: {metric.removeprefix('val_')}"
    png = png_bytes(history_figure(rows, metric, title, width, height, dpi))
    return Response(content=png, media_type="image/png")
