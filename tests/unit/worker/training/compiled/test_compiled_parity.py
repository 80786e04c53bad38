"""The compiled trainer gives what model.fit gives: every per-epoch loss and metric within
1e-5 relative, the same final weights, the same early stop (the cases: compiled_cases.py, beside
this file)."""

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from tests.unit.worker.training.compiled.compiled_cases import CASES

RTOL = 1e-5


def _child(module: str, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def parity() -> dict[str, Any]:
    """Every case in one JAX process: the imports and Keras's own compiles once."""
    return dict(_child("tests.unit.worker.training.compiled.compiled_parity_child"))


@pytest.mark.parametrize("case", list(CASES))
def test_every_epoch_matches_model_fit(parity: dict[str, Any], case: str) -> None:
    result = parity[case]
    fit, compiled = result["fit"], result["compiled"]
    assert set(compiled) == set(fit), "the same logs, val_ ones included"
    epochs = len(fit["loss"])
    assert result["epochs"] == list(range(1, epochs + 1))
    for name, expected in fit.items():
        np.testing.assert_allclose(compiled[name], expected, rtol=RTOL, atol=1e-7, err_msg=name)
    assert result["weights_equal"], "the same weights at the end"


@pytest.mark.parametrize("case", [c for c in CASES if "early_stopping" in CASES[c].spec["fit"]])
def test_early_stopping_stops_where_keras_stops(parity: dict[str, Any], case: str) -> None:
    stop = parity[case]["early_stop"]
    assert stop["fit"] is not None, "the case is meant to stop early"
    assert stop["compiled"] == stop["fit"]


def test_the_stopping_rule_decides_as_keras_on_random_histories() -> None:
    answer = _child("tests.unit.worker.training.compiled.compiled_stopping_child", "300")
    assert answer["histories"] == 300
    assert answer["disagreements"] == []
