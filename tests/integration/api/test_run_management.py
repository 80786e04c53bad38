"""Export and run management (issue 19, item 5): histories as CSV, and deletes that take the
history, chunks and artifacts with them, refused while a job runs or trains on a dataset.
On the real PostgreSQL and Redis."""

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models import artifacts
from models.db import session_scope
from models.store import get_store
from models.tables import Dataset, EpochMetric, Experiment, MetricChunk
from tests.factories import add_experiment, running_experiment
from tests.helpers import circles_spec, diabetes_csv, submit, the_error
from worker.training import epoch_store, lifecycle


def recorded(experiment_id: int, rows: list[tuple[int, dict]]) -> None:
    assert epoch_store.write_epochs(experiment_id, None, rows) == "ok"


def stored_rows(experiment_id: int) -> tuple[int, int]:
    with session_scope() as session:
        epochs = select(func.count()).where(EpochMetric.experiment_id == experiment_id)
        chunks = select(func.count()).where(MetricChunk.experiment_id == experiment_id)
        return session.scalar(epochs) or 0, session.scalar(chunks) or 0


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_history_as_csv_by_path_and_by_accept(client: TestClient) -> None:
    experiment_id = running_experiment(client, epochs=3)
    rows = [
        (1, {"loss": 0.5, "val_loss": 0.625, "accuracy": 0.75}),
        (2, {"loss": float("nan"), "val_loss": 0.5, "accuracy": 0.8125}),
    ]
    recorded(experiment_id, rows)
    response = client.get(f"/experiments/{experiment_id}/history.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert parsed(response.text) == [
        ["epoch", "accuracy", "loss", "val_loss"],
        ["1", "0.75", "0.5", "0.625"],
        ["2", "0.8125", "", "0.5"],  # a NaN loss is empty
    ]
    by_accept = client.get(f"/experiments/{experiment_id}/history", headers={"Accept": "text/csv"})
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.text == response.text
    as_json = client.get(f"/experiments/{experiment_id}/history")
    assert as_json.json()[0] == {"epoch": 1, "loss": 0.5, "val_loss": 0.625, "accuracy": 0.75}


def test_a_study_s_runs_as_one_csv(client: TestClient) -> None:
    response = client.post("/studies", json={"base": circles_spec(epochs=2), "repeats": 2})
    assert response.status_code == 201, response.text
    study = response.json()
    ids = [run["experiment_id"] for run in study["summary"][0]["per_run"]]
    for n, experiment_id in enumerate(ids):
        assert lifecycle.claim(experiment_id, "test-worker") is not None
        recorded(experiment_id, [(1, {"loss": 1.0 + n}), (2, {"loss": 0.5 + n})])
    text = client.get(f"/studies/{study['id']}/history.csv").text
    assert parsed(text) == [
        ["experiment_id", "variant", "repeat", "epoch", "loss"],
        [str(ids[0]), "base", "0", "1", "1.0"],
        [str(ids[0]), "base", "0", "2", "0.5"],
        [str(ids[1]), "base", "1", "1", "2.0"],
        [str(ids[1]), "base", "1", "2", "1.5"],
    ]


def test_deleting_an_experiment_takes_its_history_and_artifacts(client: TestClient) -> None:
    experiment_id = running_experiment(client, epochs=3)
    recorded(experiment_id, [(1, {"loss": 0.5}), (2, {"loss": 0.25})])
    get_store().put_chunks(artifacts.checkpoint_key(experiment_id, 2), [b"a checkpoint"])
    refused = client.delete(f"/experiments/{experiment_id}")
    assert refused.status_code == 409
    assert the_error(refused)["type"] == "still_running"
    assert stored_rows(experiment_id) != (0, 0)
    lifecycle.finish(experiment_id, lifecycle.ExperimentStatus.CANCELLED)
    assert client.delete(f"/experiments/{experiment_id}").status_code == 204
    assert client.get(f"/experiments/{experiment_id}").status_code == 404
    assert stored_rows(experiment_id) == (0, 0)
    assert get_store().list(artifacts.experiment_prefix(experiment_id)) == []
    assert client.delete(f"/experiments/{experiment_id}").status_code == 404


def test_a_queued_experiment_is_deleted_at_once_and_never_runs(client: TestClient) -> None:
    experiment_id = submit(client)
    assert client.delete(f"/experiments/{experiment_id}").status_code == 204
    assert lifecycle.claim(experiment_id, "test-worker") is None  # its message finds nothing


def test_another_owner_cannot_delete(client: TestClient) -> None:
    theirs_id = add_experiment(owner="mallory")
    assert client.delete(f"/experiments/{theirs_id}").status_code == 404
    with session_scope() as session:
        assert session.get(Experiment, theirs_id) is not None


def test_deleting_a_study_takes_its_runs_and_waits_for_running_ones(client: TestClient) -> None:
    study = client.post("/studies", json={"base": circles_spec(epochs=2), "repeats": 2}).json()
    ids = [run["experiment_id"] for run in study["summary"][0]["per_run"]]
    assert lifecycle.claim(ids[0], "test-worker") is not None
    recorded(ids[0], [(1, {"loss": 0.5})])
    refused = client.delete(f"/studies/{study['id']}")
    assert refused.status_code == 409
    assert str(ids[0]) in the_error(refused)["msg"]
    lifecycle.finish(ids[0], lifecycle.ExperimentStatus.SUCCEEDED)
    assert client.delete(f"/studies/{study['id']}").status_code == 204
    assert client.get(f"/studies/{study['id']}").status_code == 404
    for experiment_id in ids:
        assert client.get(f"/experiments/{experiment_id}").status_code == 404
    assert stored_rows(ids[0]) == (0, 0)


def test_a_dataset_in_use_is_kept_until_its_jobs_stop(client: TestClient) -> None:
    uploaded = client.post("/datasets", files={"file": ("pima.csv", diabetes_csv(60))})
    assert uploaded.status_code == 201, uploaded.text
    dataset = uploaded.json()
    experiment_id = submit(client, dataset={"name": "upload", "dataset_id": dataset["id"]})
    refused = client.delete(f"/datasets/{dataset['id']}")
    assert refused.status_code == 409
    assert the_error(refused)["type"] == "in_use"
    assert client.post(f"/experiments/{experiment_id}/cancel").status_code == 200
    with session_scope() as session:
        row = session.get(Dataset, dataset["id"])
        assert row is not None
        key = row.path
    assert get_store().exists(key)
    assert client.delete(f"/datasets/{dataset['id']}").status_code == 204
    assert client.get(f"/datasets/{dataset['id']}").status_code == 404
    assert not get_store().exists(key)
    # The finished experiment keeps its spec and reads as before.
    assert client.get(f"/experiments/{experiment_id}").json()["status"] == "cancelled"


def test_patch_renames_retags_and_annotates_an_experiment(client: TestClient) -> None:
    experiment_id = running_experiment(client, epochs=3)
    changed = client.patch(
        f"/experiments/{experiment_id}",
        json={"name": "bigger", "tags": ["capacity", "circles"], "notes": "overfits at 82"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["tags"], body["notes"]) == (
        "bigger", ["capacity", "circles"], "overfits at 82",
    )  # fmt: skip
    assert body["status"] == "running"  # any status may be annotated
    # Only the fields given change; null clears the notes.
    again = client.patch(f"/experiments/{experiment_id}", json={"notes": None}).json()
    assert (again["name"], again["tags"], again["notes"]) == (
        "bigger", ["capacity", "circles"], None,
    )  # fmt: skip
    listed = client.get("/experiments", params={"tag": "capacity"}).json()["items"]
    assert [item["id"] for item in listed] == [experiment_id]


def test_a_bad_patch_is_a_422_naming_the_field(client: TestClient) -> None:
    experiment_id = submit(client)
    for body, field in (
        ({"tags": None}, "tags"),
        ({"tags": ["x" * 65]}, "tags"),
        ({"notes": "a\x00b"}, "notes"),
        ({"name": ""}, "name"),
        ({"spec": {}}, "spec"),
        ({}, "(body)"),
    ):
        response = client.patch(f"/experiments/{experiment_id}", json=body)
        assert response.status_code == 422, body
        assert the_error(response)["path"] == field, (body, response.text)
    theirs_id = add_experiment(owner="mallory")
    assert client.patch(f"/experiments/{theirs_id}", json={"name": "mine"}).status_code == 404


def test_patch_of_a_study_names_it_and_tags_its_runs(client: TestClient) -> None:
    study = client.post("/studies", json={"base": circles_spec(epochs=2), "repeats": 2}).json()
    changed = client.patch(
        f"/studies/{study['id']}", json={"name": "repeats", "notes": "n", "tags": ["sweep"]}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["notes"]) == ("repeats", "n")
    ids = [run["experiment_id"] for run in study["summary"][0]["per_run"]]
    assert [client.get(f"/experiments/{i}").json()["tags"] for i in ids] == [["sweep"]] * 2
    listed = client.get("/studies", params={"tag": "sweep"}).json()["items"]
    assert [item["id"] for item in listed] == [study["id"]]
