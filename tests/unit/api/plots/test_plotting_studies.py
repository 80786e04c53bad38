"""The study figures: what is drawn, in which style, and where the legend goes."""

import io
import math
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from PIL import Image

from api.plots.figures import png_bytes
from api.plots.figures_studies import colours, compare_figure, grid_figure, mean_curve, study_figure


def run(offset: float, epochs: int = 4) -> list[dict[str, Any]]:
    """Falling training loss, validation above it; `offset` tells the runs apart."""
    return [
        {"epoch": e, "loss": 1 / e + offset, "val_loss": 1.2 / e + offset, "accuracy": 0.5}
        for e in range(1, epochs + 1)
    ]


def styles_and_labels(figure: Figure) -> list[tuple[str, str]]:
    return [(str(line.get_linestyle()), str(line.get_label())) for line in figure.axes[0].lines]


def legend_texts(figure: Figure) -> list[str]:
    legend = figure.axes[0].get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


def error_bars(figure: Figure) -> list[ErrorbarContainer]:
    return [c for c in figure.axes[0].containers if isinstance(c, ErrorbarContainer)]


def test_study_one_colour_per_variant_training_solid_validation_dashed() -> None:
    figure = study_figure({"baseline": [run(0.0)], "l2": [run(0.3)]}, "loss", "imdb: loss")
    axes = figure.axes[0]
    assert styles_and_labels(figure) == [
        ("-", "baseline train"),
        ("--", "baseline val"),
        ("-", "l2 train"),
        ("--", "l2 val"),
    ]
    colours_drawn = [line.get_color() for line in axes.lines]
    assert colours_drawn[0] == colours_drawn[1] != colours_drawn[2] == colours_drawn[3]
    assert list(np.asarray(axes.lines[0].get_xdata())) == [1, 2, 3, 4]
    assert legend_texts(figure) == ["baseline train", "baseline val", "l2 train", "l2 val"]
    assert (axes.get_xlabel(), axes.get_ylabel(), axes.get_title()) == (
        "Epoch",
        "loss",
        "imdb: loss",
    )
    assert not [c for c in axes.collections if isinstance(c, PolyCollection)]  # no repeats


def test_study_repeats_draw_the_mean_in_a_band_aligned_by_epoch() -> None:
    # The second repeat stopped early: epoch 3 and 4 average only the first.
    figure = study_figure({"baseline": [run(0.0), run(0.2, epochs=2)]}, "val_loss", "t")
    axes = figure.axes[0]
    train = axes.lines[0]
    assert list(np.asarray(train.get_xdata())) == [1, 2, 3, 4]
    assert np.allclose(np.asarray(train.get_ydata()), [1.1, 0.6, 1 / 3, 0.25])
    bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # training and validation
    assert all(
        np.allclose(np.asarray(band.get_facecolor())[0][:3], to_rgb(train.get_color()))
        for band in bands
    )
    assert "mean ± 1 sd" in axes.get_title()


def test_mean_curve_skips_missing_values_and_has_no_spread_for_one_repeat() -> None:
    first = run(0.0, epochs=3)
    second = run(0.2, epochs=3)
    second[1]["loss"] = None  # a non-finite value, stored as None
    curve = mean_curve([first, second], "loss")
    assert curve is not None
    assert np.allclose(curve.mean, [1.1, 0.5, 1 / 3 + 0.1])
    assert math.isnan(curve.std[1]) and curve.std[0] == pytest.approx(np.std([1.0, 1.2], ddof=1))
    assert mean_curve([first], "binary_crossentropy") is None


def test_compare_val_metric_draws_only_dashed_validation_curves() -> None:
    figure = compare_figure([("baseline", run(0.0)), ("experiment 7", run(0.4))], "val_loss")
    assert styles_and_labels(figure) == [("--", "baseline val"), ("--", "experiment 7 val")]
    lines = figure.axes[0].lines
    assert lines[0].get_color() != lines[1].get_color()


def test_compare_plain_metric_draws_training_solid_and_validation_dashed() -> None:
    figure = compare_figure([("a", run(0.0)), ("b", run(0.4, epochs=2))], "loss")
    assert styles_and_labels(figure) == [
        ("-", "a train"),
        ("--", "a val"),
        ("-", "b train"),
        ("--", "b val"),
    ]


def test_grid_numeric_values_sorted_joined_with_error_bars() -> None:
    points = [(0.5, [0.30, 0.34]), (0.1, [0.40, 0.44, 0.42]), (0.3, [0.25])]
    figure = grid_figure(points, "model.layers[1].rate", "val_loss", "grid")
    axes = figure.axes[0]
    (bars,) = error_bars(figure)
    assert bars.has_yerr
    line = bars.lines[0]
    assert line is not None and line.get_linestyle() == "-"
    assert list(np.asarray(line.get_xdata())) == [0.1, 0.3, 0.5]
    assert np.allclose(np.asarray(line.get_ydata()), [0.42, 0.25, 0.32])
    segments = bars.lines[2][0].get_segments()
    heights = [float(s[1][1] - s[0][1]) for s in segments]
    assert np.allclose(heights, [0.04, 0.0, 2 * float(np.std([0.3, 0.34], ddof=1))])
    assert axes.get_xlabel() == "model.layers[1].rate"
    assert axes.get_ylabel() == "lowest val_loss"
    assert axes.get_xscale() == "linear" and axes.get_legend() is None


def test_grid_wide_positive_range_is_logarithmic_and_accuracy_is_highest() -> None:
    figure = grid_figure([(1e-4, [0.8]), (1e-2, [0.85])], "l2", "accuracy")
    assert figure.axes[0].get_xscale() == "log"
    assert figure.axes[0].get_ylabel() == "highest val_accuracy"


def test_grid_non_numbers_are_categories_in_the_order_given() -> None:
    points = [("relu", [0.3]), ("tanh", [0.2, 0.22]), (None, [0.25])]
    figure = grid_figure(points, "activation", "val_loss")
    ticks = figure.axes[0].get_xticklabels()
    assert [t.get_text() for t in ticks] == ["relu", "tanh", "null"]
    line = error_bars(figure)[0].lines[0]
    assert line is not None and list(np.asarray(line.get_xdata())) == [0, 1, 2]


def test_grid_one_line_per_other_field_with_a_legend() -> None:
    lines = {"units=16": [(0.1, [0.3]), (0.5, [0.2])], "units=512": [(0.1, [0.5]), (0.5, [0.4])]}
    figure = grid_figure(lines, "rate", "val_loss")
    assert legend_texts(figure) == ["units=16", "units=512"]


def test_colours_stay_distinct_past_ten() -> None:
    assert len(set(colours(20))) == 20


FIGURES = {
    "study": lambda w, h, d: study_figure(
        {name: [run(i / 5), run(i / 5 + 0.05)] for i, name in enumerate(["a", "bb", "l2"])},
        "loss", "a long study title: loss", w, h, d,
    ),
    "compare": lambda w, h, d: compare_figure(
        [(f"experiment {i}", run(i / 10)) for i in range(8)], "loss", "t", w, h, d
    ),
    "grid": lambda w, h, d: grid_figure(
        {"units=16": [(1, [0.3, 0.31])], "units=32": [(1, [0.2]), (2, [0.1])]}, "x", "val_loss",
        "t", w, h, d,
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", FIGURES)
@pytest.mark.parametrize(("width", "height", "dpi"), [(1000, 600, 100), (400, 300, 100)])
def test_legend_never_covers_the_data_area(kind: str, width: int, height: int, dpi: int) -> None:
    figure = FIGURES[kind](width, height, dpi)
    png_bytes(figure)  # renders with the final layout
    axes = figure.axes[0]
    legend = axes.get_legend()
    assert legend is not None
    legend_box, data_box = legend.get_window_extent(), axes.get_window_extent()
    assert not legend_box.overlaps(data_box)
    assert legend_box.x0 >= data_box.x1  # to the right of the axes
    assert figure.bbox.contains(legend_box.x1 - 1, legend_box.y0 + 1)  # and not cut off


def test_legend_left_out_when_a_thumbnail_cannot_hold_it() -> None:
    figure = compare_figure(
        [(f"experiment {i}", run(i / 10)) for i in range(20)], "loss", "t", 200, 150, 100
    )
    assert figure.axes[0].get_legend() is None


@pytest.mark.parametrize("kind", FIGURES)
def test_png_has_exactly_the_requested_size(kind: str) -> None:
    image = Image.open(io.BytesIO(png_bytes(FIGURES[kind](640, 360, 80))))
    assert image.format == "PNG" and image.size == (640, 360)
