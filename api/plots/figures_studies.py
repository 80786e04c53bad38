"""Study plots as pure figure functions (Figure API on Agg, like api/plots/figures.py):
learning curves of a study's variants, experiments side by side, and a grid sweep's best
values. One colour per variant or experiment; training solid, validation dashed; the legend
sits outside the axes so it never hides a curve."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from api.plots.data import GridPoint, Rows, higher_is_better, value_text
from api.plots.figures import (
    TRAINING_STYLE,
    VALIDATION_STYLE,
    base_metric,
    has_values,
    label_axes,
    legend_outside,
    new_figure,
    series,
)

BAND_ALPHA = 0.15


def colours(count: int) -> list[tuple[float, ...]]:
    """tab10 while it lasts; beyond ten, tab20's dark shades first, then its light ones."""
    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return [colormaps["tab20"](order[i % 20]) for i in range(count)]


@dataclass(frozen=True)
class MeanCurve:
    epochs: np.ndarray
    mean: np.ndarray
    # Sample standard deviation; NaN where fewer than two repeats have a value.
    std: np.ndarray


def mean_curve(repeats: Sequence[Rows], key: str) -> MeanCurve | None:
    """Mean over repeats aligned by epoch: each epoch averages the repeats that reached it
    with a finite value (early stopping ends repeats at different epochs). None when no
    repeat recorded the key."""
    values: dict[int, list[float]] = {}
    for rows in repeats:
        for row in rows:
            bucket = values.setdefault(int(row["epoch"]), [])
            value = row.get(key)
            if value is not None and math.isfinite(value):
                bucket.append(float(value))
    if not any(values.values()):
        return None
    epochs = sorted(values)
    mean = [float(np.mean(values[e])) if values[e] else math.nan for e in epochs]
    std = [float(np.std(values[e], ddof=1)) if len(values[e]) > 1 else math.nan for e in epochs]
    return MeanCurve(np.array(epochs), np.array(mean), np.array(std))


def _splits(metric: str, validation_only: bool = False) -> list[tuple[str, str, str]]:
    """(history key, line style, legend word) of the curves to draw for a metric."""
    base = base_metric(metric)
    validation = (f"val_{base}", VALIDATION_STYLE, "val")
    return [validation] if validation_only else [(base, TRAINING_STYLE, "train"), validation]


def _epoch_axes(figure: Figure, axes: Axes, metric: str, title: str, last_epoch: int) -> None:
    label_axes(axes, "Epoch", base_metric(metric), title)
    axes.set_xlim(left=1, right=max(last_epoch, 2))
    axes.xaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10], integer=True))
    legend_outside(figure, axes)


def study_figure(
    variants: Mapping[str, Sequence[Rows]],
    metric: str,
    title: str = "",
    width: int = 1000,
    height: int = 600,
    dpi: int = 100,
) -> Figure:
    """The notebooks' plot_history for a study: variant name -> history rows of each repeat.
    With repeats, each split is drawn as its mean line in a band of ± one sample standard
    deviation over the repeats that reached the epoch."""
    figure, axes = new_figure(width, height, dpi, layout="constrained")
    last_epoch, banded = 1, False
    for (name, repeats), colour in zip(variants.items(), colours(len(variants)), strict=True):
        for key, style, word in _splits(metric):
            curve = mean_curve(repeats, key)
            if curve is None:
                continue
            axes.plot(curve.epochs, curve.mean, style, color=colour, label=f"{name} {word}")
            last_epoch = max(last_epoch, int(curve.epochs[-1]))
            if np.isfinite(curve.std).any():
                low, high = curve.mean - curve.std, curve.mean + curve.std
                axes.fill_between(curve.epochs, low, high, color=colour, alpha=BAND_ALPHA, lw=0)
                banded = True
    if banded:
        title = f"{title}\nmean ± 1 sd over repeats" if title else "mean ± 1 sd over repeats"
    _epoch_axes(figure, axes, metric, title, last_epoch)
    return figure


def compare_figure(
    experiments: Sequence[tuple[str, Rows]],
    metric: str,
    title: str = "",
    width: int = 1000,
    height: int = 600,
    dpi: int = 100,
) -> Figure:
    """Any experiments side by side, one colour each. A `val_` metric draws only the
    validation curves (dashed); a plain one draws training (solid) and validation."""
    figure, axes = new_figure(width, height, dpi, layout="constrained")
    splits = _splits(metric, validation_only=metric.startswith("val_"))
    last_epoch = 1
    for (label, rows), colour in zip(experiments, colours(len(experiments)), strict=True):
        epochs = [row["epoch"] for row in rows]
        for key, style, word in splits:
            if has_values(rows, key):
                axes.plot(epochs, series(rows, key), style, color=colour, label=f"{label} {word}")
                last_epoch = max(last_epoch, epochs[-1])
    _epoch_axes(figure, axes, metric, title, last_epoch)
    return figure


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def grid_figure(
    points: Sequence[GridPoint] | Mapping[str, Sequence[GridPoint]],
    swept_name: str,
    metric: str,
    title: str = "",
    width: int = 1000,
    height: int = 600,
    dpi: int = 100,
) -> Figure:
    """Best validation metric (see api/plots/data.best_value) against the swept value:
    the mean over repeats joined by a line, error bars of ± one sample standard deviation,
    each run as a faint dot. Numbers on a numeric axis (logarithmic when positive and
    spanning 100x or more), anything else as categories in the order given. A mapping
    gives one line per label (other swept fields), with a legend."""
    lines = points if isinstance(points, Mapping) else {"": points}
    values = [value for line in lines.values() for value, _ in line]
    numeric = all(_is_number(v) for v in values)
    categories = list(dict.fromkeys(value_text(v) for v in values))
    figure, axes = new_figure(width, height, dpi, layout="constrained")
    for (label, line), colour in zip(lines.items(), colours(len(lines)), strict=True):
        kept = [(v, bests) for v, bests in line if bests]
        if numeric:
            kept.sort(key=lambda point: float(point[0]))
        xs = [float(v) if numeric else categories.index(value_text(v)) for v, _ in kept]
        means = [float(np.mean(bests)) for _, bests in kept]
        spreads = [float(np.std(bests, ddof=1)) if len(bests) > 1 else 0.0 for _, bests in kept]
        name = label if len(lines) > 1 else None
        axes.errorbar(xs, means, yerr=spreads, fmt="o-", color=colour, capsize=4, label=name)
        dots = [(x, b) for x, (_, bests) in zip(xs, kept, strict=True) for b in bests]
        axes.plot([x for x, _ in dots], [b for _, b in dots], "o", color=colour, alpha=0.3, ms=3)
    _value_axis(axes, values, categories, numeric)
    direction = "highest" if higher_is_better(metric) else "lowest"
    label_axes(axes, swept_name, f"{direction} val_{base_metric(metric)}", title)
    if len(lines) > 1:
        legend_outside(figure, axes)
    return figure


def _value_axis(axes: Axes, values: list[object], categories: list[str], numeric: bool) -> None:
    if not numeric:
        long = any(len(text) > 8 for text in categories)
        axes.set_xticks(range(len(categories)), categories, rotation=30 if long else 0)
        axes.set_xlim(-0.5, len(categories) - 0.5)
        return
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    if numbers and min(numbers) > 0 and max(numbers) / min(numbers) >= 100:
        axes.set_xscale("log")
