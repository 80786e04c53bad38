"""Uploads, the model download and deletes through the real app on each artifact store: a
folder, the database (the test PostgreSQL), and S3 on moto's local S3-compatible server
(tests/s3_server.py). The download streams a model of several chunks from the store; deleting
an experiment, a study or an upload deletes its objects."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models import artifacts
from models.settings import get_settings
from models.store import CHUNK, ArtifactStore, get_store
from tests.factories import add_experiment
from tests.helpers import circles_spec, diabetes_csv
from tests.integration.conftest import OWNER
from tests.s3_server import MotoS3
from worker.training import lifecycle


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    with MotoS3() as server:
        yield server


@pytest.fixture(params=["local", "database", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ArtifactStore]:
    """FITQ_ARTIFACT_STORE as the app reads it (settings are read again per request)."""
    settings = {"FITQ_ARTIFACT_STORE": request.param}
    if request.param == "local":
        settings["FITQ_ARTIFACTS_DIR"] = str(tmp_path / "artifacts")
    if request.param == "s3":
        moto: MotoS3 = request.getfixturevalue("moto")
        settings = moto.settings(moto.new_bucket())
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield get_store()
    monkeypatch.undo()
    get_settings.cache_clear()


def finished(client: TestClient) -> int:
    response = client.post("/experiments", json=circles_spec(epochs=2))
    experiment_id = int(response.json()["id"])
    claimed = lifecycle.claim(experiment_id, "test-worker")
    assert claimed is not None
    lifecycle.finish(experiment_id, lifecycle.ExperimentStatus.SUCCEEDED, attempt=claimed.attempt)
    return experiment_id


def test_the_model_streams_from_the_store_and_goes_with_its_experiment(
    store: ArtifactStore, client: TestClient
) -> None:
    experiment_id = finished(client)
    model = os.urandom(3 * CHUNK + 999)
    store.put_chunks(artifacts.final_model_key(experiment_id), [model])
    store.put_chunks(artifacts.checkpoint_key(experiment_id, 2), [b"a checkpoint"])
    with client.stream("GET", f"/experiments/{experiment_id}/model") as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(model))
        parts = list(response.iter_raw())
    assert b"".join(parts) == model
    assert client.delete(f"/experiments/{experiment_id}").status_code == 204
    assert store.list(artifacts.experiment_prefix(experiment_id)) == []


def test_a_study_takes_its_runs_objects_and_an_upload_its_own(
    store: ArtifactStore, client: TestClient
) -> None:
    study = client.post("/studies", json={"base": circles_spec(epochs=2), "repeats": 2}).json()
    ids = [run["experiment_id"] for run in study["summary"][0]["per_run"]]
    other = add_experiment(owner=OWNER)
    for experiment_id in [*ids, other]:
        store.put_chunks(artifacts.final_model_key(experiment_id), [b"model"])
    assert client.delete(f"/studies/{study['id']}").status_code == 204
    assert [store.exists(artifacts.final_model_key(i)) for i in [*ids, other]] == [
        False, False, True,
    ]  # fmt: skip

    uploaded = client.post("/datasets", files={"file": ("pima.csv", diabetes_csv(40))}).json()
    key = artifacts.dataset_key(uploaded["sha256"])
    assert store.exists(key)
    assert client.delete(f"/datasets/{uploaded['id']}").status_code == 204
    assert not store.exists(key)
