"""Uploads in the embedded mode's SQLite: the insert-or-reuse works there too."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from models.settings import get_settings
from models.spec_datasets import UploadedDataset
from tests.helpers import diabetes_csv
from worker.training.datasets_upload import upload


def test_upload_twice_then_read_back_on_sqlite(
    sqlite_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The embedded mode's one-user setup (`fitq run`): no keys, everything is "local"'s.
    monkeypatch.setenv("FITQ_AUTH", "disabled")
    get_settings.cache_clear()
    client = TestClient(create_app())
    content = diabetes_csv(12, seed=7)
    first = client.post("/datasets", files={"file": ("d.csv", content)})
    assert first.status_code == 201, first.text
    again = client.post("/datasets", files={"file": ("d.csv", content)}, data={"label": "8"})
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert client.get("/datasets").json()["total"] == 1
    raw = upload(UploadedDataset(name="upload", dataset_id=first.json()["id"]))
    assert raw.x_train.shape == (12, 8) and raw.y_train.dtype == np.int32
