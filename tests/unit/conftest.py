from collections.abc import Iterator
from pathlib import Path

import pytest

from models import db
from models.settings import get_settings
from tests.helpers import migrate
from worker.training import data as data_module


def clear_caches() -> None:
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()


@pytest.fixture
def sqlite_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite file that models.db's sessions use for the length of one test."""
    url = f"sqlite:///{tmp_path / 'fitq.db'}"
    migrate(url)
    monkeypatch.setenv("FITQ_DATABASE_URL", url)
    # Ids restart in every SQLite file: their checkpoints and models must not meet.
    monkeypatch.setenv("FITQ_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    clear_caches()
    yield url
    db.get_engine().dispose()
    monkeypatch.undo()
    clear_caches()


@pytest.fixture
def keras_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A keras cache folder with no downloads, and an empty dataset cache."""
    folder = tmp_path / "datasets"
    folder.mkdir()
    monkeypatch.setenv("FITQ_KERAS_DATASETS_DIR", str(folder))
    monkeypatch.setenv("FITQ_DATASET_DOWNLOADS", "false")
    monkeypatch.setattr(data_module, "_cache", None)
    get_settings.cache_clear()
    yield folder
    monkeypatch.undo()
    get_settings.cache_clear()
