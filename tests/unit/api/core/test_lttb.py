from itertools import pairwise

import numpy as np
import pytest

from api.core.lttb import largest_triangles


def reference(x: np.ndarray, y: np.ndarray, max_points: int) -> list[int]:
    """The same rule written the plain way, one bucket at a time."""
    n = len(x)
    if n <= max_points:
        return list(range(n))
    buckets = max_points - 2
    edges = [1 + (b * (n - 2)) // buckets for b in range(buckets + 1)]
    means = [(x[lo:hi].mean(), y[lo:hi].mean()) for lo, hi in pairwise(edges)]
    kept = [0]
    for b in range(buckets):
        ax, ay = (x[0], y[0]) if b == 0 else means[b - 1]
        cx, cy = (x[-1], y[-1]) if b == buckets - 1 else means[b + 1]
        best, best_area = edges[b], -1.0
        for i in range(edges[b], edges[b + 1]):
            area = abs((ax - cx) * (y[i] - ay) - (ax - x[i]) * (cy - ay))
            if area > best_area:
                best, best_area = i, area
        kept.append(best)
    return [*kept, n - 1]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("n", "max_points"), [(1000, 100), (5003, 37), (50, 3), (101, 100)])
def test_matches_the_reference_on_random_curves(seed: int, n: int, max_points: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.arange(1, n + 1, dtype=float)
    y = np.cumsum(rng.normal(size=n)) if seed % 2 else rng.normal(size=n)
    assert largest_triangles(x, y, max_points).tolist() == reference(x, y, max_points)


def test_keeps_first_last_and_a_spike_within_the_budget() -> None:
    epochs = np.arange(1, 100_001, dtype=float)
    loss = 1 / np.sqrt(epochs)
    loss[61_234] = 5.0
    kept = largest_triangles(epochs, loss, 500)
    assert len(kept) <= 500
    assert kept[0] == 0 and kept[-1] == len(epochs) - 1
    assert 61_234 in kept
    assert np.all(np.diff(kept) > 0)


def test_short_curves_are_returned_whole() -> None:
    assert largest_triangles(np.arange(3.0), np.zeros(3), 3).tolist() == [0, 1, 2]
    assert largest_triangles(np.arange(0.0), np.zeros(0), 10).tolist() == []


def test_a_non_finite_value_is_kept_as_a_gap() -> None:
    y = np.linspace(1, 0, 1000)
    y[500] = np.nan
    assert 500 in largest_triangles(np.arange(1000.0), y, 50)


def test_fewer_than_three_points_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        largest_triangles(np.arange(10.0), np.zeros(10), 2)
