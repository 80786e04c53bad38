"""History -> PNG with matplotlib's Figure API on Agg (never pyplot: it keeps global state
and is not thread-safe). Training is solid, validation dashed, in the same colour."""

import io
from collections.abc import Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def recorded_metrics(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Metric names a plot can show: `loss` stands for both loss and val_loss."""
    names = {key.removeprefix("val_") for row in rows for key in row if key != "epoch"}
    return sorted(names)


def history_figure(
    rows: Sequence[dict[str, Any]], metric: str, title: str, width: int, height: int, dpi: int
) -> Figure:
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    epochs = [row["epoch"] for row in rows]
    base = metric.removeprefix("val_")
    colour = "C0"
    for key, style, label in ((base, "-", "training"), (f"val_{base}", "--", "validation")):
        values = [row.get(key) for row in rows]
        if any(v is not None for v in values):
            # None (a non-finite value) becomes NaN: a gap in the line, not a fake point.
            series = [float("nan") if v is None else v for v in values]
            axes.plot(epochs, series, linestyle=style, color=colour, label=f"{label} {base}")
    axes.set_xlabel("Epoch")
    axes.set_ylabel(base)
    axes.set_title(title)
    if epochs:
        axes.set_xlim(left=1, right=max(epochs[-1], 2))
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def png_bytes(figure: Figure) -> bytes:
    """PNG of exactly figsize x dpi pixels (no tight bbox, so the size asked for is kept)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    return buffer.getvalue()
