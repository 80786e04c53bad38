"""The worker's metrics server: the sum of the folder's files, as prometheus-client's
multiprocess mode makes it. Imported only after the folder is chosen (worker/metrics.py)."""

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector


class FolderCollector(Collector):
    """The folder's sum, once the files of processes that died are set aside: a gauge of the
    running jobs must not count a job whose pool process was killed."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files = MultiProcessCollector(None, folder)

    def collect(self) -> Iterator[Metric]:
        for pid in dead_processes(Path(self.folder)):
            mark_process_dead(pid, self.folder)
        return self.files.collect()


def dead_processes(folder: Path) -> set[int]:
    """Processes with live-gauge files ("gauge_livesum_<pid>.db") that no longer run."""
    pids = {int(f.stem.rpartition("_")[2]) for f in folder.glob("gauge_live*_*.db")}
    return {pid for pid in pids if not _alive(pid)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def serve(folder: str, host: str, port: int) -> None:
    """Serve GET /metrics on a daemon thread; OSError when the port is taken."""
    registry = CollectorRegistry()
    registry.register(FolderCollector(folder))
    start_http_server(port, host, registry=registry)
