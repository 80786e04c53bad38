"""The processes the load test starts: the API under uvicorn and locust. Each runs in its own
session, so a Ctrl-C reaches only the runner, which then stops them in order."""

import os
import sys
from pathlib import Path

from bench.load.database import ROOT
from tests.e2e.stack import Proc


def child_env(**overrides: str) -> dict[str, str]:
    """This environment without any FITQ_* of the caller's own setup, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITQ_")}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    env.update(overrides)
    return env


def start_api(env: dict[str, str], base_url: str, workers: int, log: Path) -> Proc:
    # As the Docker image runs it (access log included), plus the worker count under test.
    host, port = base_url.removeprefix("http://").split(":")
    argv = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", host, "--port", port]
    argv += ["--workers", str(workers)]
    return Proc(argv, env, log, truncate=True)
