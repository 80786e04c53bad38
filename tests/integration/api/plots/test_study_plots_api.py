"""The study and comparison plots on the real PostgreSQL: studies and their runs are made
with the factories (curves.py; the studies API is another module's), histories written as the
worker does."""

import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.plots.data import grid_points
from api.plots.figures_studies import colours
from api.studies.runs import runs_by_variant
from models.db import session_scope
from tests.helpers import error_of, the_error
from tests.integration.api.plots.curves import Curve, curve_experiment, curve_study, write_curve


def png_size(response: Any) -> tuple[int, int]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    return image.size


FALLING: Curve = [(0.7, 0.72), (0.5, 0.6), (0.3, 0.55)]
RISING: Curve = [(0.6, 0.65), (0.3, 0.7), (0.1, 0.9)]


def test_study_plot_png_of_the_requested_size(client: TestClient) -> None:
    study_id = curve_study(
        "imdb",
        [("baseline", None, FALLING), ("baseline", None, FALLING[:2]), ("bigger", None, RISING)],
    )
    response = client.get(
        f"/studies/{study_id}/plot.png",
        params={"metric": "loss", "width": 640, "height": 400, "dpi": 80},
    )
    assert png_size(response) == (640, 400)
    assert png_size(client.get(f"/studies/{study_id}/plot.png")) == (1000, 600)


def test_study_plot_errors(client: TestClient) -> None:
    missing = client.get("/studies/7/plot.png")
    assert missing.status_code == 404
    assert the_error(missing) == {
        "path": "path.study_id", "msg": "study 7 not found", "type": "not_found",
        "loc": ["path", "study_id"],
    }  # fmt: skip
    study_id = curve_study("queued", [("baseline", None, [])])
    early = client.get(f"/studies/{study_id}/plot.png")
    assert early.status_code == 409 and "no finished epoch" in the_error(early)["msg"]
    study_id = curve_study("ran", [("baseline", None, FALLING)])
    unknown = client.get(f"/studies/{study_id}/plot.png", params={"metric": "auc"})
    assert unknown.status_code == 422
    assert the_error(unknown)["msg"] == "metric 'auc' was not recorded; recorded: loss"
    assert the_error(unknown)["path"] == "query.metric"
    too_small = client.get(f"/studies/{study_id}/plot.png", params={"width": 10})
    assert too_small.status_code == 422 and too_small.json()["detail"][0]["path"] == "query.width"


def test_compare_png_for_validation_only_and_both_splits(client: TestClient) -> None:
    first, second = curve_experiment("baseline"), curve_experiment(None)
    write_curve(first, FALLING)
    write_curve(second, RISING)
    for metric in ("val_loss", "loss"):
        response = client.get(
            "/plots/compare.png",
            params={
                "experiments": f"{second}, {first}",
                "metric": metric,
                "width": 500,
                "height": 300,
            },
        )
        assert png_size(response) == (500, 300)


@pytest.mark.parametrize(
    "ids", ["", "1,,2", "a,b", "1;2", "0", ",".join(["1"] * 21), "99999999999"]
)
def test_compare_malformed_list_is_422_naming_the_field(client: TestClient, ids: str) -> None:
    response = client.get("/plots/compare.png", params={"experiments": ids})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["path"] == "query.experiments"
    assert "comma" in error["msg"]


def test_compare_errors(client: TestClient) -> None:
    assert client.get("/plots/compare.png").json()["detail"][0]["path"] == "query.experiments"
    known = curve_experiment("baseline")
    missing = client.get("/plots/compare.png", params={"experiments": f"{known},998,999"})
    assert error_of(missing) == (
        404, "query.experiments", "experiment 998 not found", "not_found"
    )  # fmt: skip
    early = client.get("/plots/compare.png", params={"experiments": str(known)})
    assert early.status_code == 409
    write_curve(known, FALLING)
    unknown = client.get(
        "/plots/compare.png", params={"experiments": str(known), "metric": "val_auc"}
    )
    assert unknown.status_code == 422
    assert "recorded: loss" in the_error(unknown)["msg"]


def test_grid_png_with_the_only_swept_field_by_default(client: TestClient) -> None:
    field = "model.layers[1].rate"
    study_id = curve_study(
        "dropout sweep",
        [
            ("rate=0.1", {field: 0.1}, RISING),
            ("rate=0.1", {field: 0.1}, FALLING),
            ("rate=0.5", {field: 0.5}, FALLING),
        ],
    )
    assert png_size(client.get(f"/studies/{study_id}/grid.png")) == (1000, 600)
    response = client.get(
        f"/studies/{study_id}/grid.png",
        params={"field": field, "metric": "loss", "width": 300, "height": 200},
    )
    assert png_size(response) == (300, 200)


def test_grid_errors(client: TestClient) -> None:
    assert the_error(client.get("/studies/7/grid.png"))["msg"] == "study 7 not found"
    plain = curve_study("no grid", [("baseline", None, FALLING)])
    no_grid = client.get(f"/studies/{plain}/grid.png")
    assert no_grid.status_code == 409 and "has no grid" in the_error(no_grid)["msg"]
    two = curve_study(
        "two fields",
        [("a", {"lr": 0.1, "units": 16}, FALLING), ("b", {"lr": 0.2, "units": 32}, [])],
    )
    several = client.get(f"/studies/{two}/grid.png")
    assert several.status_code == 422
    error = the_error(several)
    assert error["msg"] == f"study {two} swept several fields, choose one: lr, units"
    assert error["path"] == "query.field"
    wrong = client.get(f"/studies/{two}/grid.png", params={"field": "rate"})
    assert wrong.status_code == 422
    assert the_error(wrong)["msg"] == "field 'rate' was not swept; swept: lr, units"
    assert png_size(client.get(f"/studies/{two}/grid.png", params={"field": "units"})) == (
        1000,
        600,
    )
    unknown = client.get(f"/studies/{two}/grid.png", params={"field": "lr", "metric": "accuracy"})
    assert unknown.status_code == 422 and "recorded" in the_error(unknown)["msg"]
    queued = curve_study("queued grid", [("a", {"lr": 0.1}, [])])
    early = client.get(f"/studies/{queued}/grid.png")
    assert early.status_code == 409 and "no finished epoch" in the_error(early)["msg"]


def coloured_pixels(response: Any, colour: tuple[float, ...]) -> int:
    """Pixels of the PNG drawn in one plot colour (its markers and line)."""
    assert png_size(response)
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    wanted = np.array([round(255 * c) for c in colour[:3]])
    return int((np.abs(image - wanted).max(axis=2) <= 8).sum())


def test_grid_png_draws_one_line_per_variant(client: TestClient) -> None:
    # The study of docs/studies.md: wide and narrow over dropout rates, 2 repeats; their trends run
    # opposite, so a mean over both variants would be a flat line of mixed points.
    field = "model.layers[1].rate"
    best = {("wide", 0.0): 0.660, ("wide", 0.4): 0.700, ("narrow", 0.0): 0.712,
            ("narrow", 0.4): 0.650}  # fmt: skip
    runs: list[tuple[str, dict[str, Any] | None, Curve]] = [
        (f"{variant}, {field}={rate}", {field: rate}, [(0.5, 0.9), (0.4, value + shift)])
        for (variant, rate), value in best.items()
        for shift in (-0.01, 0.01)
    ]
    study_id = curve_study("circles capacity", runs)
    with session_scope() as session:
        loaded = [r for g in runs_by_variant(session, study_id).values() for r in g]
        lines = grid_points(loaded, field, "val_loss")
    means = {(label, x): float(np.mean(ys)) for label, line in lines.items() for x, ys in line}
    assert means == pytest.approx(best)
    response = client.get(f"/studies/{study_id}/grid.png")
    first, second = colours(2)
    assert coloured_pixels(response, first) > 100
    assert coloured_pixels(response, second) > 100  # the second variant has its own line
