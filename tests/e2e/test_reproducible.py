"""A seeded spec gives the same history, bit for bit, each time it runs on one backend with
the same versions: in a fresh worker process and as a later job of a warm one (whose dataset
cache and generators a first job has used), and each experiment says what ran it."""

import importlib.metadata
import platform
from typing import Any

import numpy as np
import pytest

from tests.e2e.stack import Api, run_in_child

EPOCHS = 6


def seeded_spec(seed: int) -> dict[str, Any]:
    """Every random source a fit has: weights, dropout masks, each epoch's batch order (8
    batches), and a dataset drawn from numpy's generator (no random_state of its own)."""
    return {
        "dataset": {"name": "circles", "n_samples": 200, "n_train": 128, "random_state": None},
        "model": {
            "layers": [
                {"type": "Dense", "units": 16, "activation": "relu"},
                {"type": "Dropout", "rate": 0.3},
                {"type": "Dense", "units": 1, "activation": "sigmoid"},
            ]
        },
        "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": EPOCHS, "batch_size": 16, "seed": seed},
    }


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Seed 7 twice and seed 8 once, each in a fresh process of its own."""
    runs = {}
    for name, seed in (("first", 7), ("second", 7), ("other_seed", 8)):
        runs[name] = run_in_child(seeded_spec(seed), "jax", tmp_path_factory.mktemp(name))
        assert runs[name]["status"] == "succeeded", runs[name]["error"]
    return runs


def test_two_fresh_processes_give_the_same_history(fresh: dict[str, dict[str, Any]]) -> None:
    first, second = fresh["first"], fresh["second"]
    assert len(first["history"]) == EPOCHS
    assert first["history"] == second["history"]  # floats through JSON: bit for bit
    assert fresh["other_seed"]["history"] != first["history"]  # the seed decides
    assert first["versions"] == second["versions"]
    assert first["versions"]["backend"] == "jax"


def test_a_warm_worker_gives_a_fresh_process_s_histories_and_says_what_ran_them(
    pg_stack: Api, fresh: dict[str, dict[str, Any]]
) -> None:
    """One worker with one pool process runs the three jobs in turn: the later ones find the
    earlier ones' imports, dataset cache and generators behind them."""
    ids = [pg_stack.submit(seeded_spec(seed)) for seed in (7, 7, 8)]
    done = [pg_stack.wait_status(i, {"succeeded", "failed"}, timeout=180) for i in ids]
    assert [d["status"] for d in done] == ["succeeded"] * 3, [d["error"] for d in done]
    first, again, other_seed = (pg_stack.history(i) for i in ids)
    assert first == fresh["first"]["history"]
    assert again == fresh["first"]["history"]
    assert other_seed == fresh["other_seed"]["history"]
    expected = {
        "fitq": importlib.metadata.version("fitq"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "keras": importlib.metadata.version("keras"),
        "backend": "jax",
        "jax": importlib.metadata.version("jax"),
        "jaxlib": importlib.metadata.version("jaxlib"),
    }
    assert done[0]["versions"] == fresh["first"]["versions"] == expected
