"""The same spec on TensorFlow and on JAX (and on torch where it is installed: an optional
extra, not in CI), each in a process of its own through the worker's training path: all
succeed, record their backend, and give comparable curves."""

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import run_in_child
from tests.helpers import circles_spec

EPOCHS = 60
BACKENDS = ["tensorflow", "jax"]
if importlib.util.find_spec("torch") is not None:
    BACKENDS.append("torch")


def run_on(backend: str, data_dir: Path) -> dict[str, Any]:
    spec = circles_spec(EPOCHS)
    spec["dataset"] |= {"n_samples": 500, "n_train": 300}  # 10 batches an epoch
    spec["model"]["layers"][0]["units"] = 64
    spec["compile"]["optimizer"] = {"name": "adam", "learning_rate": 0.01}
    spec["fit"]["seed"] = 1
    return run_in_child(spec, backend, data_dir)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {b: run_on(b, tmp_path_factory.mktemp(b)) for b in BACKENDS}


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_runs_the_spec_and_says_so(
    runs: dict[str, dict[str, Any]], backend: str
) -> None:
    run = runs[backend]
    assert (run["status"], run["error"], run["backend"]) == ("succeeded", None, backend)
    assert [row["epoch"] for row in run["history"]] == list(range(1, EPOCHS + 1))
    timings = run["timings"]
    assert timings["fit_seconds"] > 0 and timings["max_rss_bytes"] > 0
    assert timings["first_epoch_at"] is not None
    # JAX fits through the compiled trainer; the others through model.fit, saying why.
    trainer = run["trainer"]
    if backend == "jax":
        assert trainer["name"] == "compiled" and trainer["compile_seconds"] > 0
    else:
        assert trainer == {
            "name": "fit",
            "fallback": f"the compiled trainer runs on JAX; this worker runs {backend}",
        }


def test_the_curves_are_comparable(runs: dict[str, dict[str, Any]]) -> None:
    """Different backends draw different initial weights from the same seed, so the curves are
    not equal; they must tell the same story: both learn the circles and end close together."""
    final = {}
    for backend, run in runs.items():
        history = run["history"]
        first, last = history[0], history[-1]
        assert last["loss"] < 0.8 * first["loss"] and last["val_accuracy"] > 0.7, (backend, last)
        final[backend] = last
    # Seen (TensorFlow / JAX): loss 0.450 / 0.453, val_loss 0.480 / 0.481, val_accuracy
    # 0.765 / 0.780.
    tf = final["tensorflow"]
    for backend in BACKENDS[1:]:
        other = final[backend]
        assert abs(tf["loss"] - other["loss"]) < 0.05, backend
        assert abs(tf["val_loss"] - other["val_loss"]) < 0.05, backend
        assert abs(tf["val_accuracy"] - other["val_accuracy"]) < 0.06, backend
