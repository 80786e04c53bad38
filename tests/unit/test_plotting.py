import io
from typing import Any

import numpy as np
from PIL import Image

from api.plotting import history_figure, png_bytes, recorded_metrics

ROWS: list[dict[str, Any]] = [
    {"epoch": 1, "loss": 0.7, "val_loss": 0.69, "accuracy": 0.5, "val_accuracy": 0.52},
    {"epoch": 2, "loss": 0.5, "val_loss": 0.6, "accuracy": 0.7, "val_accuracy": 0.6},
    {"epoch": 3, "loss": None, "val_loss": 0.65, "accuracy": 0.8, "val_accuracy": 0.6},
]


def test_training_solid_validation_dashed_same_colour() -> None:
    figure = history_figure(ROWS, "loss", "baseline: loss", 800, 500, 100)
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
    figure = history_figure(ROWS, "val_accuracy", "t", 400, 300, 100)
    assert len(figure.axes[0].get_lines()) == 2


def test_png_has_the_requested_size() -> None:
    png = png_bytes(history_figure(ROWS, "loss", "t", 640, 360, 80))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (640, 360)


def test_recorded_metrics_fold_validation_names() -> None:
    assert recorded_metrics(ROWS) == ["accuracy", "loss"]
