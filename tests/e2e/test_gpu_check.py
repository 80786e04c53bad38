"""scripts/gpu_check.py in its fast form, on this machine's CPU: it starts its own embedded
stack with `fitq worker --gpus 0`, runs the workload alone, as a study of five repeats and as
the bare script, and reports the device it used and the times."""

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.e2e


def test_the_gpu_check_runs_a_study_through_the_worker_and_says_on_what() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/gpu_check.py", "--epochs", "20", "--repeats", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["device"].startswith("cpu:0"), line["device"]  # no GPU here
    assert line["backend"] == "jax"
    assert line["repeats"] == 5
    assert line["one_run"]["trainer"] == line["repeats_run"]["trainer"] == ["compiled"]
    assert len(line["repeats_run"]["programs"]) == 5
    for name in ("one_run_seconds", "repeats_seconds", "bare_seconds", "bare_fit_seconds"):
        assert line[name] > 0, name
    assert line["repeats_over_one"] == pytest.approx(
        line["repeats_seconds"] / line["one_run_seconds"]
    )
    assert "repeats as a study" in done.stderr and "bare Keras script" in done.stderr
