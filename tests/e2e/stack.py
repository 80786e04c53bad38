"""Real processes for end-to-end tests: the API (uvicorn) and Celery workers, each in its own
process group so a test can stop them the way a terminal or an orchestrator would."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import ROOT, poll

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A process group with its output in a log file (appended to, or `truncate`d first)."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        log: Path,
        truncate: bool = False,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        """`pass_fds`: file descriptors the process inherits (a listening socket)."""
        self.log = log
        self._file = log.open("wb" if truncate else "ab")
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT,
            start_new_session=True, pass_fds=pass_fds,
        )  # fmt: skip

    def signal_group(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)

    def alive(self) -> bool:
        """Whether the group's leader still runs."""
        return self.popen.poll() is None

    def group_alive(self) -> bool:
        self.popen.poll()  # reap the leader: a zombie would still count as alive
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after `timeout`."""
        if self.group_alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                poll(self.group_alive, lambda alive: not alive, timeout=timeout)
            except AssertionError:
                os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._file.close()

    def wait(self, timeout: float) -> int:
        """The leader's exit code; subprocess.TimeoutExpired after `timeout` seconds."""
        return self.popen.wait(timeout=timeout)

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the group's live processes (uvicorn's workers too); None
        where /proc cannot tell (not Linux)."""
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

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def stack_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.update(overrides)
    return env


class Api:
    """An HTTP client for a running API, with the polling the tests need."""

    def __init__(self, base_url: str, token: str | None = None, logs: Path | None = None) -> None:
        # A production-shaped stack needs a key; `fitq run` (auth disabled) needs none.
        self.logs = logs  # the stack's process logs, where a test reads them
        self.proc: Proc | None = None  # the API's process, where a test measures its CPU
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=base_url, timeout=30, headers=headers)

    def wait_healthy(self, timeout: float = 60) -> None:
        def probe() -> int:
            try:
                return self.http.get("/healthz").status_code
            except httpx.TransportError:
                return 0

        poll(probe, lambda code: code == 200, timeout=timeout)

    def submit(self, spec: dict[str, Any]) -> int:
        response = self.http.post("/experiments", json=spec)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def get(self, experiment_id: int) -> dict[str, Any]:
        response = self.http.get(f"/experiments/{experiment_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_status(self, experiment_id: int, statuses: set[str], timeout: float) -> dict[str, Any]:
        return poll(lambda: self.get(experiment_id), lambda e: e["status"] in statuses, timeout)

    def wait_epoch(self, experiment_id: int, epoch: int, timeout: float) -> dict[str, Any]:
        return poll(
            lambda: self.get(experiment_id),
            lambda e: e["current_epoch"] >= epoch or e["status"] in ("failed", "succeeded"),
            timeout,
        )

    def history(self, experiment_id: int) -> list[dict[str, Any]]:
        response = self.http.get(f"/experiments/{experiment_id}/history")
        assert response.status_code == 200, response.text
        return list(response.json())


def run_in_child(
    spec: dict[str, Any], backend: str, data_dir: Path, **settings: str
) -> dict[str, Any]:
    """One experiment through the worker's training path in a process of its own (Keras picks
    its backend once, at import): what tests/e2e/backend_child.py prints. `settings`: more
    FITQ_* variables."""
    env = settings | {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "FITQ_MODE": "embedded",
        "FITQ_DATA_DIR": str(data_dir),
        "FITQ_KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.backend_child", json.dumps(spec)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
