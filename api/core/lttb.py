"""Largest-triangle downsampling of a curve, in one numpy pass.

Steinarsson's LTTB splits the points between the first and the last into equal buckets and
keeps, in each bucket, the point that makes the largest triangle with the point kept in the
bucket before and the mean of the bucket after. That left corner makes it a chain: no bucket
can be chosen before the one before it, so it needs a Python loop over the buckets (and
iterating the vectorised step to a fixed point took up to 370 passes on noisy loss curves).
Here the left corner is the mean of the bucket before, as the right one is the mean of the
bucket after, so every bucket is chosen at once with an argmax over a padded 2-D array. It
keeps what LTTB keeps: spikes, troughs and turns stand out from the line through their
neighbours' means. The first and the last point are always kept."""

import numpy as np

# Padding slots of the 2-D array never win the argmax.
_NEVER = -np.inf


def largest_triangles(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Ascending indices of at most `max_points` points of the curve (x increasing). A NaN
    in y (a non-finite metric) wins its bucket: a gap the reader should see is kept."""
    n = len(y)
    if max_points < 3:
        raise ValueError("max_points must be at least 3")
    if n <= max_points:
        return np.arange(n)
    buckets = max_points - 2
    # Bucket b holds points edges[b] .. edges[b + 1] - 1 of the n - 2 inner points.
    edges = 1 + (np.arange(buckets + 1) * (n - 2)) // buckets
    sizes = np.diff(edges)
    slots = np.arange(sizes.max())
    real = slots < sizes[:, None]
    # Padding repeats the bucket's last point, so every index is valid; `real` masks it.
    index = np.minimum(edges[:-1, None] + slots, edges[1:, None] - 1)
    bx, by = x[index].astype(np.float64), y[index].astype(np.float64)
    mean_x, mean_y = _bucket_means(bx, by, real)
    # Left corners: the first point, then each bucket's predecessor's mean; right corners:
    # each bucket's successor's mean, then the last point.
    ax = np.concatenate(([x[0]], mean_x[:-1]))[:, None]
    ay = np.concatenate(([y[0]], mean_y[:-1]))[:, None]
    cx = np.concatenate((mean_x[1:], [x[-1]]))[:, None]
    cy = np.concatenate((mean_y[1:], [y[-1]]))[:, None]
    # Twice the triangle's area; the factor does not change the argmax.
    area = np.abs((ax - cx) * (by - ay) - (ax - bx) * (cy - ay))
    area[~real] = _NEVER
    chosen = index[np.arange(buckets), np.argmax(area, axis=1)]
    return np.concatenate(([0], chosen, [n - 1]))


def _bucket_means(bx: np.ndarray, by: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean x and y of each bucket's finite points (NaN when a bucket has none)."""
    counted = real & np.isfinite(by)
    count = counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.where(counted, bx, 0.0).sum(axis=1) / count
        mean_y = np.where(counted, by, 0.0).sum(axis=1) / count
    return mean_x, mean_y
