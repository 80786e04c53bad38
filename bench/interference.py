"""What fitq's background work costs the fit, measured against the fit's own pace at the time.

On this shared 2-core machine the same fit's speed drifts by tens of percent over seconds, so
the difference of two whole fits' times cannot resolve 2%. The epochs around a write can: an
epoch takes its neighbours' time unless something slows it. So for each window in which
fitq's background thread worked (a beat: a write with its heartbeat, or a heartbeat alone),
the epochs that overlap it are compared with the epochs just before and after it, a few
hundred milliseconds away. What they took beyond that pace is the window's cost to the fit,
whatever the cause: the interpreter's lock held by the thread, a core taken by the thread or
by the database server, caches. Run on a fit without fitq, with the same windows laid on it
(a placebo), the same sum measures the estimate's own noise."""

import numpy as np


def window_cost(
    ends: list[float],
    windows: list[tuple[float, float]],
    context: float = 0.1,
    margin: float = 0.005,
) -> float:
    """Seconds the epochs overlapping the windows took beyond the median epoch of the
    `context` seconds before and after each window. `ends`: the fit's start, then each
    epoch's end; `windows`: (start, end), on the same clock. `margin` widens each window at
    its end, for work that goes on after it (the server's commit). Negative when the
    overlapping epochs were faster than their neighbours: noise, kept so that it cancels."""
    if len(ends) < 2:
        return 0.0
    merged = _merge([(s, t + margin) for s, t in windows])
    starts, stops, busy = epochs_under(ends, merged, margin=0.0)
    durations = stops - starts
    cost = 0.0
    for s, t in merged:
        inside = _overlapping(starts, stops, s, t)
        before = (stops <= s) & (stops > s - context)
        after = (starts >= t) & (starts < t + context)
        near = ~busy & (before | after)
        if inside.any() and near.any():
            cost += float(durations[inside].sum() - inside.sum() * np.median(durations[near]))
    return cost


def epochs_under(
    ends: list[float], windows: list[tuple[float, float]], margin: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each epoch's start and end (`ends`: the fit's start, then each epoch's end), and
    whether it overlaps one of the windows, each widened by `margin` at its end."""
    times = np.asarray(ends, dtype=np.float64)
    starts, stops = times[:-1], times[1:]
    busy = np.zeros(starts.size, dtype=bool)
    for s, t in windows:
        busy |= _overlapping(starts, stops, s, t + margin)
    return starts, stops, busy


def _overlapping(starts: np.ndarray, stops: np.ndarray, s: float, t: float) -> np.ndarray:
    return (stops > s) & (starts < t)


def _merge(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping windows as one."""
    merged: list[tuple[float, float]] = []
    for s, t in sorted(windows):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], t))
        else:
            merged.append((s, t))
    return merged


def shifted(
    windows: list[tuple[float, float]], ends: list[float], onto: list[float]
) -> list[tuple[float, float]]:
    """The windows moved from one fit onto another of as many epochs, each to the same place
    among the epochs (a window 40% into epoch 812 lands 40% into that fit's epoch 812)."""
    index = np.arange(len(ends), dtype=np.float64)

    def move(t: float) -> float:
        return float(np.interp(np.interp(t, ends, index), index, onto))

    return [(move(s), move(t)) for s, t in windows]
