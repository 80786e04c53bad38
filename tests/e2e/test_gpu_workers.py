"""`fitq worker --gpus 0,1` on PostgreSQL and Redis, on a machine without GPUs (JAX on the CPU
ignores CUDA_VISIBLE_DEVICES): a Celery worker per GPU, each started with its GPU and its
memory share in its environment, both training from the queue; the supervising process loads
no backend; a worker that dies is started again; SIGTERM stops both and hands a running job
back to the queue."""

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from api.core.keys import create_key
from models.db import session_scope
from models.tables import Experiment
from tests.conftest import REDIS_URL, TEST_QUEUE
from tests.e2e import procfs
from tests.e2e.stack import BIN, Api, Proc, free_port, stack_env
from tests.helpers import poll, slow_circles_spec

pytestmark = pytest.mark.e2e

# Paths a process has mapped once it imported a backend or touched CUDA.
BACKEND_LIBRARIES = ("/jaxlib/", "/jax/", "/tensorflow/", "/torch/", "libcuda.so")


class GpuStack:
    def __init__(self, api: Api, supervisor: Proc) -> None:
        self.api, self.supervisor = api, supervisor

    def log(self) -> str:
        return self.supervisor.log.read_text(errors="replace")

    def worker_pid(self, gpu: int) -> int:
        """The Celery worker of `gpu`, a child of the supervising process."""
        node = f"--hostname train-gpu{gpu}@%h"
        pids = procfs.children(self.supervisor.popen.pid)
        return next(pid for pid in pids if node in procfs.cmdline(pid))

    def wait_ready(self, gpu: int) -> None:
        """Until the worker of `gpu` consumes the queue and its pool process has warmed up."""
        ready = f"train-gpu{gpu}@{socket.gethostname()} ready."
        poll(self.log, lambda text: ready in text, timeout=120)
        poll(lambda: self.log().count("warmed it up"), lambda n: n >= 2, timeout=180)


@pytest.fixture
def gpu_stack(database: str, redis_broker: str, tmp_path: Path) -> Iterator[GpuStack]:
    redis.Redis.from_url(REDIS_URL).delete(TEST_QUEUE)
    env = stack_env(FITQ_JOBS_PER_GPU="1")
    for name in ("CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_MEM_FRACTION"):
        env.pop(name, None)
    port = free_port()
    argv = [str(BIN / "python"), "-m", "uvicorn", "api.main:app", "--port", str(port)]
    api_proc = Proc(argv, env, tmp_path / "api.log")
    supervisor = Proc([str(BIN / "fitq"), "worker", "--gpus", "0,1"], env, tmp_path / "gpus.log")
    with session_scope() as session:
        token = create_key(session, "gpu-e2e")
    stack = GpuStack(Api(f"http://127.0.0.1:{port}", token), supervisor)
    try:
        stack.api.wait_healthy()
        yield stack
    finally:
        api_proc.stop()
        supervisor.stop()
        print("GPU workers' log tail:\n" + supervisor.tail())


def test_a_worker_per_gpu_pinned_trains_restarts_and_stops(gpu_stack: GpuStack) -> None:
    for gpu in (0, 1):
        gpu_stack.wait_ready(gpu)
    for gpu in (0, 1):
        env = procfs.environ(gpu_stack.worker_pid(gpu))
        assert env["CUDA_VISIBLE_DEVICES"] == str(gpu)
        assert env["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.9"  # one job: 0.9 of the GPU
        assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
        for pool_process in procfs.children(gpu_stack.worker_pid(gpu)):  # where JAX runs
            assert procfs.environ(pool_process)["CUDA_VISIBLE_DEVICES"] == str(gpu)
    supervisor = gpu_stack.supervisor.popen.pid
    loaded = procfs.mapped_files(supervisor)
    assert not [path for path in loaded if any(lib in path for lib in BACKEND_LIBRARIES)]
    assert "GPU 1: worker train-gpu1@" in gpu_stack.log()

    _both_gpus_take_jobs(gpu_stack)
    _a_killed_worker_is_started_again(gpu_stack)
    _sigterm_stops_both_and_requeues_the_running_job(gpu_stack)


def _both_gpus_take_jobs(stack: GpuStack) -> None:
    ids = [stack.api.submit(slow_circles_spec(epochs=150)) for _ in range(2)]
    for experiment_id in ids:
        done = stack.api.wait_status(experiment_id, {"succeeded", "failed"}, timeout=180)
        assert done["status"] == "succeeded", done
    with session_scope() as session:
        nodes = session.scalars(select(Experiment.worker).where(Experiment.id.in_(ids))).all()
    host = socket.gethostname()
    assert sorted(str(node) for node in nodes) == [f"train-gpu0@{host}", f"train-gpu1@{host}"]


def _a_killed_worker_is_started_again(stack: GpuStack) -> None:
    killed = stack.worker_pid(1)
    os.kill(killed, signal.SIGKILL)
    poll(stack.log, lambda text: "the GPU 1 worker stopped (killed by SIGKILL)" in text, 10)

    def replacement() -> int | None:
        try:
            return stack.worker_pid(1)
        except StopIteration:
            return None

    again = poll(replacement, lambda pid: pid not in (None, killed), timeout=30)
    assert again is not None
    assert procfs.environ(again)["CUDA_VISIBLE_DEVICES"] == "1"


def _sigterm_stops_both_and_requeues_the_running_job(stack: GpuStack) -> None:
    experiment_id = stack.api.submit(slow_circles_spec(epochs=2000))
    assert stack.api.wait_epoch(experiment_id, 1, timeout=180)["status"] == "running"
    os.kill(stack.supervisor.popen.pid, signal.SIGTERM)  # as `docker stop` sends it
    poll(stack.supervisor.group_alive, lambda alive: not alive, timeout=90)
    assert stack.supervisor.popen.returncode == 0, stack.supervisor.tail()
    assert "stopping the GPU workers" in stack.log()
    assert stack.api.get(experiment_id)["status"] == "queued"
