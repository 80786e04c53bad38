"""bench.interference: the epochs around a window give the pace it is measured against."""

import numpy as np
import pytest

from bench.interference import shifted, window_cost


def ends_of(durations: list[float]) -> list[float]:
    return [0.0, *np.cumsum(durations).tolist()]


def test_epochs_at_their_neighbours_pace_cost_nothing() -> None:
    ends = ends_of([0.001] * 1000)
    assert window_cost(ends, [(0.3005, 0.3105)]) == pytest.approx(0.0, abs=1e-12)


def test_the_extra_time_of_the_epochs_in_a_window_is_its_cost() -> None:
    durations = [0.001] * 1000
    for epoch in range(500, 505):  # 0.5-0.505 s: slowed by 0.4 ms each
        durations[epoch] += 0.0004
    ends = ends_of(durations)
    assert window_cost(ends, [(0.5001, 0.5065)], margin=0.0) == pytest.approx(0.002, rel=1e-6)


def test_a_drift_over_the_fit_is_not_counted_as_cost() -> None:
    # The machine slows by half over the fit; a whole-fit comparison would see +50%.
    durations = np.linspace(0.001, 0.0015, 2000)
    durations[1500:1503] += 0.0005
    ends = ends_of(durations.tolist())
    start = ends[1500] + 1e-6
    cost = window_cost(ends, [(start, start + 0.005)], margin=0.0)
    assert cost == pytest.approx(0.0015, rel=0.05)


def test_overlapping_windows_are_counted_once() -> None:
    durations = [0.001] * 1000
    durations[400] += 0.001
    ends = ends_of(durations)
    one = window_cost(ends, [(0.4001, 0.4005)], margin=0.0)
    two = window_cost(ends, [(0.4001, 0.4005), (0.4002, 0.4006)], margin=0.0)
    assert one == pytest.approx(0.001) and two == pytest.approx(one)


def test_windows_move_to_the_same_place_among_the_epochs_of_another_fit() -> None:
    ends = ends_of([0.001] * 10)
    onto = ends_of([0.002] * 10)
    assert shifted([(0.0025, 0.004)], ends, onto) == [
        pytest.approx((0.005, 0.008)),
    ]
