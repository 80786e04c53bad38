"""Where a process keeps its Prometheus numbers between scrapes. prometheus-client's
multiprocess mode: each process writes its own files in PROMETHEUS_MULTIPROC_DIR, and the
process that answers a scrape adds up the folder's files. fitq gives each process group and
role a folder of its own under FITQ_METRICS_DIR: uvicorn's worker processes (one group), or a
Celery worker and its pool processes (one group), share theirs; the API and a worker that
`fitq run` started in one group keep theirs apart by role; a group that starts gets a new
folder, so it never adds up a previous run's files. Folders of this host's groups that no
longer run are removed when another starts. Why not a wipe at start: uvicorn's parent process,
the only one that could wipe before its workers start, never imports fitq.
(docs/operations.md#metrics)"""

import os
import shutil
import socket
import sys
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_chosen: list[Path] = []  # this process's folder once chosen; a forked child inherits it


def use(root: Path, role: str) -> Path:
    """This process's folder for `role` ("api" or "worker"), made and named in
    PROMETHEUS_MULTIPROC_DIR. Call it before anything imports prometheus_client, which picks
    its file-backed values at import when the variable is set. The first call in a process
    decides: a process has one role (tests, which run both in one process, share one)."""
    if _chosen:
        return _chosen[0]
    if "prometheus_client.values" in sys.modules and ENV not in os.environ:
        # Its values would stay in this process, and each scrape would miss them: loud now.
        raise RuntimeError("prometheus_client was imported before the metrics folder was set")
    root = root.resolve()  # a relative FITQ_DATA_DIR must not move with a chdir
    group = os.getpgid(0)
    folder = root / folder_name(role, socket.gethostname(), group, _started(group) or "0")
    folder.mkdir(parents=True, exist_ok=True)
    remove_dead(root, role, keep=folder)
    os.environ[ENV] = str(folder)
    _chosen.append(folder)
    return folder


def folder_name(role: str, host: str, group: int, started: str) -> str:
    # The leader's start time with its pid: a container's group is always 1, run after run.
    return f"{role}-{host}-{group}-{started}"


def remove_dead(root: Path, role: str, keep: Path | None = None) -> list[Path]:
    """Remove this host's `role` folders whose process group no longer runs (but `keep`);
    what it removed. Another host's folders are left alone: it alone can tell whether they
    are in use."""
    removed = []
    for folder in root.iterdir() if root.is_dir() else ():
        if folder == keep:
            continue
        head, _, tail = folder.name.rpartition("-")
        owner, _, group = head.rpartition("-")
        if owner != f"{role}-{socket.gethostname()}" or not group.isdigit():
            continue
        if _started(int(group)) != tail:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _started(pid: int) -> str | None:
    """When process `pid` started (clock ticks after boot, /proc's field 22), or None when
    no such process runs. Where there is no /proc (macOS), "0" for any live process."""
    try:
        # The fields after the parenthesised command name start at field 3 (proc(5)).
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None
    except (OSError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "0"
