"""The door between the API and the queue (broker/door.py): importing it touches nothing, and
the Celery app is built once, on first use."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

IMPORT_ONLY = "import broker.door, broker.config, broker.filesystem, api.main"


def test_importing_the_door_creates_no_folder_and_builds_no_app(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-yet"
    check = (
        f"{IMPORT_ONLY}; from broker import door; "
        "assert door.celery_app.cache_info().currsize == 0, 'the app was built at import'"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "FITQ_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not data_dir.exists()  # the embedded broker's and result store's folders come later


def test_the_app_is_built_once() -> None:
    from broker import door

    assert door.celery_app() is door.celery_app()
