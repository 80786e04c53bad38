"""Shared test helpers: spec builders, polling with a deadline, migrations."""

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from api.schemas import CIRCLES_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# The OpenAPI example (circles with dropout, as in the dropout article), 4,000 epochs as written.
CIRCLES_SPEC: dict[str, Any] = copy.deepcopy(CIRCLES_EXAMPLE) | {"name": "baseline", "tags": []}
CIRCLES_SPEC["fit"]["epochs"] = 4000


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
