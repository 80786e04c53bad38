import io
from typing import Any

import numpy as np
from PIL import Image

from api.core.series import Series, rows_series
from api.plots.figures import history_figure, plot_metrics, png_bytes, recorded_metrics

ROWS: list[dict[str, Any]] = [
    {"epoch": 1, "loss": 0.7, "val_loss": 0.69, "accuracy": 0.5, "val_accuracy": 0.52},
    {"epoch": 2, "loss": 0.5, "val_loss": 0.6, "accuracy": 0.7, "val_accuracy": 0.6},
    {"epoch": 3, "loss": None, "val_loss": 0.65, "accuracy": 0.8, "val_accuracy": 0.6},
]
CURVES = {key: rows_series(ROWS, key) for key in ROWS[0] if key != "epoch"}


def test_training_solid_validation_dashed_same_colour() -> None:
    figure = history_figure(CURVES, "loss", "baseline: loss", 800, 500, 100)
    axes = figure.axes[0]
    train, val = axes.get_lines()
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert train.get_color() == val.get_color()
    assert [int(x) for x in np.asarray(train.get_xdata())] == [1, 2, 3]
    legend = axes.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "training loss",
        "validation loss",
    ]
    assert axes.get_xlabel() == "Epoch" and axes.get_ylabel() == "loss"
    assert axes.get_title() == "baseline: loss"


def test_val_metric_name_plots_both_curves() -> None:
    figure = history_figure(CURVES, "val_accuracy", "t", 400, 300, 100)
    assert len(figure.axes[0].get_lines()) == 2


def test_png_has_the_requested_size() -> None:
    png = png_bytes(history_figure(CURVES, "loss", "t", 640, 360, 80))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (640, 360)


def test_recorded_metrics_fold_validation_names() -> None:
    assert recorded_metrics(ROWS) == ["accuracy", "loss"]


def test_plot_metrics_of_history_keys() -> None:
    assert plot_metrics(["epoch", "val_auc", "auc", "loss"]) == ["auc", "loss"]


def test_a_long_curve_is_drawn_with_at_most_twice_the_width_in_points() -> None:
    epochs = np.arange(1, 100_001)
    loss = 1 / np.sqrt(epochs)
    loss[70_000] = 3.0  # a spike the picture must still show
    figure = history_figure({"loss": Series(epochs, loss)}, "loss", "t", 400, 300, 100)
    (line,) = figure.axes[0].get_lines()
    xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert len(xs) <= 800
    assert ys.max() == 3.0
    assert xs[-1] == 100_000


def test_margins_hold_the_tick_labels() -> None:
    epochs = np.arange(1, 11)
    curves = {"loss": Series(epochs, -0.0003 / np.sqrt(epochs))}  # wide labels: -0.00030
    figure = history_figure(curves, "loss", "t", 640, 400, 100)
    png_bytes(figure)  # lays out the final ticks
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    labels = [t for t in figure.axes[0].get_yticklabels() if t.get_text()]
    assert labels
    assert min(t.get_window_extent(renderer).x0 for t in labels) >= 0
    ylabel = figure.axes[0].yaxis.label.get_window_extent(renderer)
    assert ylabel.x0 >= 0 and ylabel.x1 <= min(t.get_window_extent(renderer).x0 for t in labels)
