"""History -> PNG with matplotlib's Figure API on Agg (never pyplot: it keeps global state
and is not thread-safe). Training is solid, validation dashed, in the same colour.
The helpers here are shared with the study plots (api/plotting_studies.py)."""

import io
import math
from collections.abc import Sequence
from typing import Any, Literal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend

TRAINING_STYLE = "-"
VALIDATION_STYLE = "--"


def base_metric(metric: str) -> str:
    """`val_loss` and `loss` name the same curve pair."""
    return metric.removeprefix("val_")


def recorded_metrics(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Metric names a plot can show: `loss` stands for both loss and val_loss."""
    names = {base_metric(key) for row in rows for key in row if key != "epoch"}
    return sorted(names)


def new_figure(
    width: int, height: int, dpi: int, layout: Literal["constrained"] | None = None
) -> tuple[Figure, Axes]:
    """A figure of width x height pixels with its own Agg canvas and one axes."""
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout=layout)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def series(rows: Sequence[dict[str, Any]], key: str) -> list[float]:
    # None (a non-finite value) becomes NaN: a gap in the line, not a fake point.
    return [math.nan if row.get(key) is None else float(row[key]) for row in rows]


def has_values(rows: Sequence[dict[str, Any]], key: str) -> bool:
    return any(row.get(key) is not None for row in rows)


def label_axes(axes: Axes, xlabel: str, ylabel: str, title: str) -> None:
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)


def history_figure(
    rows: Sequence[dict[str, Any]], metric: str, title: str, width: int, height: int, dpi: int
) -> Figure:
    figure, axes = new_figure(width, height, dpi)
    epochs = [row["epoch"] for row in rows]
    base = base_metric(metric)
    colour = "C0"
    for key, style, label in (
        (base, TRAINING_STYLE, "training"),
        (f"val_{base}", VALIDATION_STYLE, "validation"),
    ):
        if has_values(rows, key):
            axes.plot(
                epochs, series(rows, key), linestyle=style, color=colour, label=f"{label} {base}"
            )
    label_axes(axes, "Epoch", base, title)
    if epochs:
        axes.set_xlim(left=1, right=max(epochs[-1], 2))
    axes.legend(loc="best")
    figure.tight_layout()
    return figure


# Font sizes (points) tried in turn until the legend fits beside the axes.
LEGEND_FONT_SIZES = (9.0, 8.0, 7.0, 6.0)


def legend_outside(figure: Figure, axes: Axes) -> None:
    """The legend to the right of the axes, never over the curves. With the constrained
    layout the axes shrink to make room. Entries flow into more columns, then smaller
    type, until the legend takes at most 40% of the width and 85% of the height; when even
    that fails (a thumbnail of many curves) the legend is left out rather than laid over
    the data or cut off at the edge."""
    handles, _ = axes.get_legend_handles_labels()
    if not handles:
        return
    max_width, max_height = 0.4 * figure.bbox.width, 0.85 * figure.bbox.height
    for size in LEGEND_FONT_SIZES:
        one_column = _place_legend(axes, size, 1)
        row_height = one_column.get_window_extent().height / len(handles)
        columns = math.ceil(len(handles) / max(1, int(max_height / row_height)))
        legend = _place_legend(axes, size, columns) if columns > 1 else one_column
        box = legend.get_window_extent()
        if box.width <= max_width and box.height <= max_height:
            return
    legend.remove()


def _place_legend(axes: Axes, size: float, columns: int) -> Legend:
    # Anchored past the right edge of the axes (not a figure legend), so the layout counts
    # it as the axes' decoration and it can never sit inside the data area.
    return axes.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize=size,
        ncols=columns,
    )


def png_bytes(figure: Figure) -> bytes:
    """PNG of exactly figsize x dpi pixels (no tight bbox, so the size asked for is kept)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    return buffer.getvalue()
