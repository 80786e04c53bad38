"""bench.interleave: a hooked block's epochs against the next block's."""

import numpy as np
import pytest

from bench.interleave import block_differences


def fit_times(epochs: int, hook: float, drift: float = 0.0) -> list[float]:
    """Epoch ends of a fit of 1 ms epochs slowing by `drift` over the fit, where the epochs
    after a hooked one (blocks of 10, the even ones) take `hook` longer."""
    durations = 0.001 * (1 + drift * np.arange(epochs) / epochs)
    hooked = (np.arange(epochs) // 10) % 2 == 0
    durations[1:][hooked[:-1]] += hook
    return [0.0, *np.cumsum(durations).tolist()]


def test_the_hooks_time_is_found_under_a_drift() -> None:
    pairs = block_differences(fit_times(2000, 10e-6, drift=0.5), [], block=10)
    # The machine slows by 2.5 us every 10 epochs, which the blocks on both sides cancel.
    assert [hooked for hooked, _ in pairs] == pytest.approx([10e-6] * 98, abs=1e-9)


def test_no_hook_no_difference() -> None:
    pairs = block_differences(fit_times(2000, 0.0), [], block=10)
    assert max(abs(hooked) for hooked, _ in pairs) < 1e-12


def test_blocks_under_a_window_are_left_out() -> None:
    ends = fit_times(200, 10e-6)
    everything = block_differences(ends, [], block=10)
    windowed = block_differences(ends, [(ends[21], ends[29])], block=10, margin=0.0)
    assert len(windowed) == len(everything) - 1
