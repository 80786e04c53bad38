"""The worker's metrics: epochs written counted as they are written, a dead process's
running job no longer counted, and one worker of a process group serving the group."""

import os
import subprocess
import sys
from pathlib import Path

from models.tables import ExperimentStatus
from tests.factories import add_experiment
from tests.helpers import ROOT
from tests.prometheus import Samples, samples, value
from worker import metrics, metrics_server
from worker.training import epoch_store

RUNNING_GAUGE = """
import sys
from prometheus_client import Gauge
Gauge("x_running", "jobs", multiprocess_mode="livesum").inc()
print("up", flush=True)
sys.stdin.read()  # runs until the test closes its input
"""


def worker_samples(folder: str) -> Samples:
    from prometheus_client import CollectorRegistry, generate_latest

    from worker.metrics_exposition import FolderCollector  # after metrics.folder()

    registry = CollectorRegistry()
    registry.register(FolderCollector(folder))
    return samples(generate_latest(registry).decode())


def test_epochs_are_counted_when_written_not_when_the_job_was_lost(sqlite_db: str) -> None:
    folder = metrics.folder()
    running = add_experiment(status=ExperimentStatus.RUNNING.value)
    before = worker_samples(folder)
    rows = [(epoch, {"loss": 1 / epoch}) for epoch in range(1, 4)]
    assert epoch_store.write_epochs(running, None, rows) == epoch_store.EpochState.OK
    lost = add_experiment(status=ExperimentStatus.QUEUED.value)  # nobody's to write
    assert epoch_store.write_epochs(lost, None, rows) == epoch_store.EpochState.LOST
    after = worker_samples(folder)
    for name, more in [("fitq_epochs_written_total", 3), ("fitq_epoch_write_seconds_count", 1)]:
        assert value(after, name) - value(before, name) == more, name


def test_a_dead_processs_running_job_is_not_counted(tmp_path: Path) -> None:
    metrics.folder()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}

    def start() -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", RUNNING_GAUGE], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None and child.stdout.readline() == "up\n"
        return child

    alive, dead = start(), start()
    dead.kill()
    dead.wait()
    try:
        assert value(worker_samples(str(tmp_path)), "x_running") == 1
        assert not (tmp_path / f"gauge_livesum_{dead.pid}.db").exists()
    finally:
        alive.communicate("", timeout=30)


HOLD_LOCK = """
import sys
from worker import metrics_server
print(metrics_server._take_serving(sys.argv[1]), flush=True)
sys.stdin.read()
"""


def test_one_worker_of_a_group_serves_its_folder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "True\n"
    try:
        assert not metrics_server._take_serving(str(tmp_path))  # a sibling serves
    finally:
        holder.communicate("", timeout=30)
    assert metrics_server._take_serving(str(tmp_path))  # it stopped: this one takes over
    os.close(metrics_server._lock.pop())
