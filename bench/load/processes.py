"""The processes the load test starts: the API under uvicorn and locust. Each runs in its own
session, so a Ctrl-C reaches only the runner, which then stops them in order."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis

from bench.load.database import ROOT


class Child:
    """A process group with its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("wb")
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the group; SIGKILL it if it is still there after `grace` seconds."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._file.close()

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the live processes of the group (uvicorn's workers too);
        None where /proc cannot tell (not Linux)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # Fields after the parenthesised command name: state is [0], pgrp [2],
                # utime [11] and stime [12] (proc(5)).
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended while we looked
            if int(fields[2]) == self.popen.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks if total else None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def child_env(**overrides: str) -> dict[str, str]:
    """This environment without any FITQ_* of the caller's own setup, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITQ_")}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    env.update(overrides)
    return env


def start_api(env: dict[str, str], base_url: str, workers: int, log: Path) -> Child:
    # As the Docker image runs it (access log included), plus the worker count under test.
    host, port = base_url.removeprefix("http://").split(":")
    argv = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", host, "--port", port]
    argv += ["--workers", str(workers)]
    return Child(argv, env, log)


def wait_healthy(base_url: str, api: Child, timeout: float) -> None:
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
