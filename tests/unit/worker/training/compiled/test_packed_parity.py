"""A study's repeats packed as one program give each repeat what it gets alone: every
per-epoch loss and metric within 1e-5 relative, its own early stop (the lanes stop at
different epochs), its own checkpoints and final weights; a cancelled lane stops at its
epoch while the others go on unchanged; a lane resumed at its own epoch goes on as its fit
did; a warm shutdown hands every lane back with its checkpoint (the cases:
packed_parity_child.py, beside this file)."""

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from tests.unit.worker.training.compiled.packed_cases import (
    CANCELLED_AT,
    CANCELLED_SEED,
    RESUMED_AT,
    RESUMED_SEED,
    SEEDS,
    SHUTDOWN_AT,
)

RTOL = 1e-5


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    """Every fit in one JAX process: the imports and Keras's own compiles once."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.unit.worker.training.compiled.packed_parity_child"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.splitlines()[-1]))


def assert_same_fit(
    lane: dict[str, Any], alone: dict[str, Any], epochs: int, first: int = 1
) -> None:
    """The lane's epochs `first`..`epochs` are the fit alone's."""
    assert lane["epochs"][: epochs - first + 1] == list(range(first, epochs + 1))
    assert set(lane["logs"]) == set(alone["logs"]), "the same logs, val_ ones included"
    for name, expected in alone["logs"].items():
        got = lane["logs"][name][: epochs - first + 1]
        want = expected[first - 1 : epochs]
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-7, err_msg=name)
    for epoch, weights in lane["saved"].items():
        if int(epoch) > epochs:
            continue
        for got, expected in zip(weights, alone["saved"][epoch], strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_each_packed_repeat_is_its_seeds_fit_alone(runs: dict[str, Any]) -> None:
    stops = {seed: len(runs["alone"][str(seed)]["epochs"]) for seed in SEEDS}
    assert len(set(stops.values())) == len(SEEDS), f"the lanes stop apart: {stops}"
    for seed in SEEDS:
        alone, lane = runs["alone"][str(seed)], runs["packed"]["lanes"][str(seed)]
        assert_same_fit(lane, alone, stops[seed])
        assert lane["early_stop"] == alone["early_stop"] is not None
        assert lane["stop_reason"] is None
        for got, expected in zip(lane["weights"], alone["weights"], strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # Each lane ended when it stopped, not when the last one did.
    assert runs["packed"]["ended_in_order"] == sorted(SEEDS, key=stops.__getitem__)


def test_a_cancelled_lane_stops_at_its_epoch_and_the_others_go_on(runs: dict[str, Any]) -> None:
    lanes = runs["cancelled"]["lanes"]
    cancelled = lanes[str(CANCELLED_SEED)]
    assert cancelled["stop_reason"] == "cancelled" and cancelled["early_stop"] is None
    assert_same_fit(cancelled, runs["alone"][str(CANCELLED_SEED)], CANCELLED_AT)
    for seed in SEEDS:
        if seed != CANCELLED_SEED:
            alone, lane = runs["alone"][str(seed)], lanes[str(seed)]
            assert_same_fit(lane, alone, len(alone["epochs"]))
            assert lane["early_stop"] == alone["early_stop"]


def test_a_lane_resumed_at_its_own_epoch_continues_its_fit(runs: dict[str, Any]) -> None:
    """One lane starts from its seed's state at epoch 10 while the others start from 0: it
    goes on as its fit alone did (until alone's early stop, whose patience a resume does not
    keep), and the others are untouched."""
    lanes = runs["resumed"]["lanes"]
    alone = runs["alone"][str(RESUMED_SEED)]
    resumed = lanes[str(RESUMED_SEED)]
    assert resumed["epochs"][0] == RESUMED_AT + 1
    assert_same_fit(resumed, alone, len(alone["epochs"]), first=RESUMED_AT + 1)
    for seed in SEEDS:
        if seed != RESUMED_SEED:
            assert_same_fit(
                lanes[str(seed)], runs["alone"][str(seed)], len(runs["alone"][str(seed)]["epochs"])
            )


def test_a_warm_shutdown_hands_every_lane_back_with_its_checkpoint(runs: dict[str, Any]) -> None:
    for seed in SEEDS:
        lane, alone = runs["shutdown"]["lanes"][str(seed)], runs["alone"][str(seed)]
        assert lane["stop_reason"] == "shutdown" and lane["early_stop"] is None
        assert lane["epochs"] == list(range(1, SHUTDOWN_AT + 1))
        assert_same_fit(lane, alone, SHUTDOWN_AT)
        assert str(SHUTDOWN_AT) in lane["saved"]  # the epoch it hands back at
