"""The database artifact store through real processes on PostgreSQL and Redis, with no folder
shared: the API and each worker have a FITQ_DATA_DIR of their own, as on separate hosts. An
upload trains on a worker, a killed worker's job resumes on another worker from the
checkpoint in the database, the final model streams from the store, and deleting the
experiment deletes its objects."""

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from models import artifacts
from models.store import get_store
from tests.e2e.fault_stack import FINAL, FaultStack, epochs_of, fault_stack
from tests.helpers import diabetes_csv, diabetes_spec, poll, slow_circles_spec


@pytest.fixture
def apart(database: str, redis_broker: str, tmp_path: Path) -> Iterator[FaultStack]:
    """The API on a folder of its own; each test starts workers on folders of theirs."""
    with fault_stack(
        tmp_path, FITQ_KERAS_BACKEND="jax", FITQ_ARTIFACT_STORE="database",
        FITQ_DATA_DIR=str(tmp_path / "api-host"),
    ) as stack:  # fmt: skip
        yield stack


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_an_upload_trains_on_a_worker_that_shares_no_folder_with_the_api(
    apart: FaultStack, tmp_path: Path
) -> None:
    api, worker_dir = apart.api, tmp_path / "worker-host"
    apart.start_worker(FITQ_DATA_DIR=str(worker_dir))
    response = api.http.post("/datasets", files={"file": ("pima.csv", diabetes_csv(60))})
    assert response.status_code == 201, response.text
    dataset = response.json()
    experiment_id = api.submit(diabetes_spec(dataset["id"], epochs=3))
    done = api.wait_status(experiment_id, FINAL, timeout=180)
    assert done["status"] == "succeeded", done["error"]
    assert epochs_of(api, experiment_id) == [1, 2, 3]
    # The upload reached the worker through the database, into the worker's own copy.
    assert f"datasets/{dataset['sha256']}.npz" in files_under(worker_dir)
    # The API keeps no file of its own but its Prometheus folder (FITQ_METRICS_DIR).
    kept = files_under(tmp_path / "api-host")
    assert [f for f in kept if not f.startswith("metrics/")] == []

    model = api.http.get(f"/experiments/{experiment_id}/model")
    assert model.status_code == 200 and model.content[:2] == b"PK"  # a .keras zip
    assert int(model.headers["content-length"]) == len(model.content)
    stored = get_store().open(artifacts.final_model_key(experiment_id))
    assert b"".join(stored.chunks) == model.content

    assert api.http.delete(f"/experiments/{experiment_id}").status_code == 204
    assert get_store().list(artifacts.experiment_prefix(experiment_id)) == []
    assert api.http.get(f"/experiments/{experiment_id}/model").status_code == 404


def test_a_killed_workers_job_resumes_on_another_host_from_the_database(
    apart: FaultStack, tmp_path: Path
) -> None:
    api, epochs = apart.api, 600
    spec = slow_circles_spec(epochs) | {"name": "moved"}
    spec["fit"]["seed"] = 3
    first = apart.start_worker(FITQ_DATA_DIR=str(tmp_path / "host-a"))
    experiment_id = api.submit(spec)
    assert api.wait_epoch(experiment_id, 150, timeout=120)["status"] == "running"
    saved = poll(lambda: artifacts.checkpoints(experiment_id), bool, timeout=30)
    first.signal_group(signal.SIGKILL)
    poll(first.group_alive, lambda alive: not alive, timeout=10)

    second = apart.start_worker(FITQ_DATA_DIR=str(tmp_path / "host-b"))
    done = api.wait_status(experiment_id, FINAL, timeout=240)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    assert epochs_of(api, experiment_id) == list(range(1, epochs + 1))
    resumed = f"experiment {experiment_id} resumed from epoch "
    log = second.log.read_text(errors="replace")
    assert resumed in log, log[-3000:]
    assert int(log.split(resumed)[1].split()[0]) >= saved[0][0] >= 1
    # Host b never saw host a's folder: the checkpoint came from the database.
    assert not any("checkpoint" in name for name in files_under(tmp_path / "host-b"))
    assert artifacts.checkpoints(experiment_id) == []  # dropped once it succeeded
    model = api.http.get(f"/experiments/{experiment_id}/model")
    assert model.status_code == 200 and model.content[:2] == b"PK"
