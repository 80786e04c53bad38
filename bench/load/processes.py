"""The processes the load test starts: the API under uvicorn and locust. Each runs in its own
session, so a Ctrl-C reaches only the runner, which then stops them in order."""

import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis

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


def wait_healthy(base_url: str, api: Proc, timeout: float) -> None:
    """Poll /healthz until it answers 200; fail at the deadline or when the API exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.popen.poll() is not None:
            raise RuntimeError(f"the API exited with {api.popen.returncode}:\n{api.tail()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API was not healthy within {timeout:g} s:\n{api.tail()}")


def drop_queue(redis_url: str, queue: str) -> None:
    """Delete the queue's messages and kombu's binding tables for it (its exchange has the
    queue's name)."""
    client = redis.Redis.from_url(redis_url)
    try:
        bindings = [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
        client.delete(queue, *bindings)
    finally:
        client.close()
