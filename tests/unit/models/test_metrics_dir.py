"""The metrics folder of a process group: the processes of one group share it, a new group
gets a new one, and a group that no longer runs leaves nothing behind on this host."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from models import metrics_dir
from tests.helpers import ROOT

CHOOSE = "from pathlib import Path; from models import metrics_dir; import sys; "
CHOOSE += "print(metrics_dir.use(Path(sys.argv[1]), 'api'))"


def chosen(root: Path, new_group: bool) -> Path:
    """The folder a fresh process picks, in this test's process group or in a new one."""
    done = subprocess.run(
        [sys.executable, "-c", CHOOSE, str(root)], cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=True, start_new_session=new_group,
    )  # fmt: skip
    return Path(done.stdout.strip())


def test_one_folder_a_process_group_and_a_new_one_for_a_new_group(tmp_path: Path) -> None:
    ours = chosen(tmp_path, new_group=False)
    assert chosen(tmp_path, new_group=False) == ours  # uvicorn's workers, a pool's processes
    other = chosen(tmp_path, new_group=True)  # its group ended with it
    assert other != ours and other.parent == ours.parent == tmp_path
    assert ours.name.startswith(f"api-{socket.gethostname()}-{os.getpgid(0)}-")
    # The next group to start removes the folder of the one that ended, not this live one's.
    chosen(tmp_path, new_group=True)
    assert ours.is_dir() and not other.exists()


def test_only_this_hosts_dead_groups_of_the_role_are_removed(tmp_path: Path) -> None:
    host, group = socket.gethostname(), os.getpgid(0)
    live = tmp_path / metrics_dir.folder_name("worker", host, group, _started(group))
    reused = tmp_path / metrics_dir.folder_name("worker", host, group, "1")  # an earlier leader
    elsewhere = tmp_path / metrics_dir.folder_name("worker", "other-host", 4242, "1")
    api = tmp_path / metrics_dir.folder_name("api", host, group, "1")
    for folder in (live, reused, elsewhere, api):
        folder.mkdir()
    assert metrics_dir.remove_dead(tmp_path, "worker") == [reused]
    assert live.is_dir() and elsewhere.is_dir() and api.is_dir()


def _started(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


IMPORTS = """
import sys
import api.cli, api.main, worker.tasks, worker.metrics_server, worker.training.epoch_store
print("prometheus_client" in sys.modules)
"""


def test_no_module_loads_prometheus_client_before_the_folder_is_chosen() -> None:
    """prometheus-client picks in-process or file-backed values when it is first imported:
    an import at module level anywhere would keep every process's numbers to itself."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
