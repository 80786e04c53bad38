"""The numbers behind models/diagnosis.py: history rows -> series, smoothing, the overfitting
search, slopes and gaps. Pure numpy; the rules themselves are documented in diagnosis.py."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Metrics where higher is better: their gap is train - val, so that for every metric a
# positive gap means "worse on validation". Every other metric is read as a loss.
ACCURACY_LIKE = frozenset(
    {"accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
     "auc", "precision", "recall"}
)  # fmt: skip


@dataclass(frozen=True)
class Series:
    """One metric over the epochs that recorded it; a non-finite or null value is NaN."""

    epochs: list[int]
    values: np.ndarray

    def first_bad_epoch(self) -> int | None:
        bad = np.flatnonzero(~np.isfinite(self.values))
        return self.epochs[int(bad[0])] if bad.size else None


def finite(value: Any) -> float | None:
    """A row's value as a float; None for null, NaN, infinities and anything not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def series(rows: Sequence[Mapping[str, Any]], key: str) -> Series:
    """`key` over the rows that have it (rows are in epoch order)."""
    kept = [row for row in rows if key in row]
    values = [finite(row[key]) for row in kept]
    array = np.array([math.nan if v is None else v for v in values], dtype=float)
    return Series([int(row["epoch"]) for row in kept], array)


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Centred running median; the first and last window // 2 values are kept as they are,
    so the smoothed curve never invents a value before the first or after the last epoch."""
    half = window // 2
    if half == 0 or values.size <= 2 * half:
        return values.copy()
    windows = np.lib.stride_tricks.sliding_window_view(values, window)
    smoothed = values.copy()
    smoothed[half:-half] = np.median(windows, axis=1)
    return smoothed


def exploded_epoch(loss: Series, factor: float) -> int | None:
    """The first epoch whose training loss exceeds `factor` times the first epoch's."""
    first = loss.values[0]
    if not first > 0:
        return None
    above = np.flatnonzero(loss.values > factor * first)
    return loss.epochs[int(above[0])] if above.size else None


def best_index(values: np.ndarray) -> int:
    """The best epoch's index: the lowest value, the earliest on ties (Keras's EarlyStopping
    picks the same one). The summary, the verdict and the remedies all name this epoch."""
    return int(np.nanargmin(values))


@dataclass(frozen=True)
class Rise:
    """What the overfitting search found on the validation loss."""

    reference_epoch: int  # the best epoch (best_index)
    from_epoch: int | None  # the epoch the rise starts at, when it qualifies as overfitting
    trailing_above: int  # epochs at the end above the threshold (a rise not yet long enough)


def find_rise(
    val: Series, train: Mapping[int, float], tolerance: float, patience: int, window: int
) -> Rise:
    """Overfitting: a run of `patience` consecutive epochs whose smoothed validation loss is
    above the smoothed minimum + tolerance * |minimum|, after both the best epoch and the
    smoothed curve's bottom (so one low epoch before a longer fall starts nothing), ending at
    an epoch whose training loss is below the one where the run started (both rising
    together is not overfitting). The rise starts at the epoch after the later of the two."""
    smooth = running_median(val.values, window)
    best = best_index(val.values)
    # A median flattens a sharp minimum into a tie of two epochs; the raw values say which
    # of them was the bottom (argmin keeps the earliest of equal raw values).
    tied = np.flatnonzero(smooth == smooth.min())
    start = max(best, int(tied[np.argmin(val.values[tied])]))
    above = smooth > smooth.min() + tolerance * abs(smooth.min())
    above[: start + 1] = False
    start_loss = train.get(val.epochs[start], math.nan)
    run = 0
    for index in range(start + 1, len(above)):
        run = run + 1 if above[index] else 0
        if run >= patience and train.get(val.epochs[index], math.nan) < start_loss:
            return Rise(val.epochs[best], val.epochs[start + 1], 0)
    trailing = len(above) - 1 - int(np.flatnonzero(~above)[-1])
    return Rise(val.epochs[best], None, trailing)


def drop_per_epoch(values: np.ndarray, window: int) -> float | None:
    """Mean fall per epoch over the last `window` epochs (fewer when fewer were run), as a
    fraction of the first epoch's value; positive while falling. None without a scale."""
    if values.size < 2 or not values[0] > 0:
        return None
    span = min(window, values.size - 1)
    return float((values[-1 - span] - values[-1]) / span / values[0])


def gaps(row: Mapping[str, Any]) -> dict[str, float]:
    """Generalization gaps of one epoch: val - train for losses, train - val for
    accuracy-like metrics, so positive always means worse on the validation data."""
    out: dict[str, float] = {}
    for name, value in row.items():
        if name == "epoch" or name.startswith("val_") or f"val_{name}" not in row:
            continue
        train, val = finite(value), finite(row[f"val_{name}"])
        if train is None or val is None:
            continue
        gap = train - val if name in ACCURACY_LIKE else val - train
        out[name] = float(f"{gap:.12g}")  # 0.0606, not -0.06059999999999999
    return out
