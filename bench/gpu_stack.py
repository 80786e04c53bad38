"""fitq's embedded mode with GPU workers, for scripts/gpu_check.py: SQLite and the filesystem
broker in a temporary folder (no servers, so it runs on a bare GPU machine), the API (uvicorn,
API keys off) and `fitq worker --gpus`, each in a process group of its own, stopped as an
orchestrator would (SIGTERM, then SIGKILL) on the way out."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx

ROOT = Path(__file__).resolve().parents[1]
# The `fitq` command of this checkout, whether or not its console script is installed.
FITQ = [sys.executable, "-c", "from api.cli import app; app(prog_name='fitq')"]
# Settings of the caller's stack that would point the embedded one elsewhere.
NOT_EMBEDDED = (
    "FITQ_DATABASE_URL", "FITQ_BROKER_URL", "FITQ_RESULT_BACKEND", "FITQ_TRAINING_QUEUE",
    "FITQ_VALIDATE_QUEUE", "FITQ_ARTIFACTS_DIR", "FITQ_COMPILATION_CACHE_DIR",
)  # fmt: skip
START_TIMEOUT = 180.0


class EmbeddedStack:
    """`with EmbeddedStack("0", logs) as (base_url, alive):` the API's URL once it answers,
    and whether the stack's processes still run."""

    def __init__(self, gpus: str, logs: Path | None = None) -> None:
        self.gpus, self.logs = gpus, logs
        self.folder = Path(tempfile.mkdtemp(prefix="fitq-gpu-check-"))
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def __enter__(self) -> tuple[str, Callable[[], bool]]:
        logs = self.logs or self.folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in NOT_EMBEDDED}
        env |= {"FITQ_MODE": "embedded", "FITQ_DATA_DIR": str(self.folder / "data")}
        env |= {"FITQ_AUTH": "disabled", "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        subprocess.run([*FITQ, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        port = _free_port()
        api = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)]
        self._start(api, env, logs / "api.log")
        self._start([*FITQ, "worker", "--gpus", self.gpus], env, logs / "workers.log")
        base_url = f"http://127.0.0.1:{port}"
        self._wait_healthy(base_url)
        return base_url, self.alive

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        for popen, log in self.procs:
            _stop(popen)
            if error is not None:
                tail = log.read_text(errors="replace")[-3000:]
                print(f"--- {log.name}, last lines:\n{tail}", file=sys.stderr)
        shutil.rmtree(self.folder, ignore_errors=True)

    def alive(self) -> bool:
        return all(popen.poll() is None for popen, _ in self.procs)

    def _start(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.procs.append((popen, log))

    def _wait_healthy(self, base_url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("a process of the stack exited while starting")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the API did not answer within {START_TIMEOUT:.0f} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(popen: subprocess.Popen[bytes], grace: float = 60.0) -> None:
    """SIGTERM the process group (a worker's warm shutdown), SIGKILL what is left."""
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(popen.pid, signum)
        except ProcessLookupError:
            return
        try:
            popen.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
