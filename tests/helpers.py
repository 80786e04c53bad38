"""Shared test helpers: spec builders, polling with a deadline, migrations."""

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

CIRCLES_SPEC: dict[str, Any] = {
    "name": "baseline",
    "dataset": {
        "name": "circles",
        "n_samples": 100,
        "noise": 0.1,
        "random_state": 1,
        "n_train": 30,
    },
    "model": {
        "layers": [
            {"type": "Dense", "units": 500, "activation": "relu"},
            {"type": "Dropout", "rate": 0.4},
            {"type": "Dense", "units": 1, "activation": "sigmoid"},
        ]
    },
    "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
    "fit": {"epochs": 4000, "batch_size": 32},
}


def circles_spec(epochs: int = 5, **changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(CIRCLES_SPEC)
    spec["fit"]["epochs"] = epochs
    spec.update(changes)
    return spec


def poll(
    probe: Callable[[], T], done: Callable[[T], bool], timeout: float, every: float = 0.25
) -> T:
    """Call `probe` until `done(result)` or the deadline; fail with the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not done after {timeout}s; last result: {result!r}")
        time.sleep(every)


def migrate(url: str) -> None:
    """alembic upgrade head on `url`, through the project's own migrations/env.py."""
    engine: Engine = create_engine(url)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()
