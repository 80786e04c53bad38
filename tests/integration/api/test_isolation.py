"""Auth and isolation: every route but /healthz and the docs needs a key; another owner's
experiment, study or dataset is a 404 on every route that takes its id, and never listed."""

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api import cli
from api.main import create_app
from models.db import session_scope
from models.settings import get_settings
from models.tables import LOCAL_OWNER, Dataset
from tests.helpers import circles_spec, diabetes_csv, diabetes_spec, the_error
from tests.integration.conftest import new_token

PUBLIC = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
IDS = ("experiment_id", "study_id", "dataset_id")


@dataclass(frozen=True)
class Owned:
    """Alice's rows: an upload, an experiment trained on it, and a study."""

    experiment: int
    dataset: int
    study: int


def alice_rows(client: TestClient) -> Owned:
    upload = client.post("/datasets", files={"file": ("d.csv", diabetes_csv(30))})
    assert upload.status_code == 201, upload.text
    dataset = int(upload.json()["id"])
    experiment = client.post("/experiments", json=diabetes_spec(dataset))
    assert experiment.status_code == 201, experiment.text
    study = client.post("/studies", json={"base": circles_spec(epochs=2), "repeats": 1})
    assert study.status_code == 201, study.text
    return Owned(int(experiment.json()["id"]), dataset, int(study.json()["id"]))


def as_owner(client: TestClient, owner: str) -> TestClient:
    return TestClient(client.app, headers={"Authorization": f"Bearer {new_token(owner)}"})


# Every route that takes an id, with how another owner calls it. A new route with an id
# fails test_every_route_with_an_id_is_covered until it is added here.
Call = Callable[[TestClient, Owned], httpx.Response]
BY_ID: dict[tuple[str, str], Call] = {
    ("GET", "/experiments/{experiment_id}"): lambda c, o: c.get(f"/experiments/{o.experiment}"),
    ("GET", "/experiments/{experiment_id}/history"): lambda c, o: c.get(
        f"/experiments/{o.experiment}/history"
    ),
    ("GET", "/experiments/{experiment_id}/plot.png"): lambda c, o: c.get(
        f"/experiments/{o.experiment}/plot.png"
    ),
    ("GET", "/experiments/{experiment_id}/diagnosis"): lambda c, o: c.get(
        f"/experiments/{o.experiment}/diagnosis"
    ),
    ("GET", "/experiments/{experiment_id}/model"): lambda c, o: c.get(
        f"/experiments/{o.experiment}/model"
    ),
    ("POST", "/experiments/{experiment_id}/cancel"): lambda c, o: c.post(
        f"/experiments/{o.experiment}/cancel"
    ),
    ("GET", "/studies/{study_id}"): lambda c, o: c.get(f"/studies/{o.study}"),
    ("POST", "/studies/{study_id}/cancel"): lambda c, o: c.post(f"/studies/{o.study}/cancel"),
    ("GET", "/studies/{study_id}/plot.png"): lambda c, o: c.get(f"/studies/{o.study}/plot.png"),
    ("GET", "/studies/{study_id}/grid.png"): lambda c, o: c.get(f"/studies/{o.study}/grid.png"),
    ("GET", "/datasets/{dataset_id}"): lambda c, o: c.get(f"/datasets/{o.dataset}"),
    ("GET", "/experiments/{experiment_id}/history.csv"): lambda c, o: c.get(
        f"/experiments/{o.experiment}/history.csv"
    ),
    ("GET", "/studies/{study_id}/history.csv"): lambda c, o: c.get(
        f"/studies/{o.study}/history.csv"
    ),
    ("PATCH", "/experiments/{experiment_id}"): lambda c, o: c.patch(
        f"/experiments/{o.experiment}", json={"notes": "mine"}
    ),
    ("PATCH", "/studies/{study_id}"): lambda c, o: c.patch(
        f"/studies/{o.study}", json={"notes": "mine"}
    ),
}
# Checked after every other route: the owner's call deletes (the dataset, in use by the
# owner's queued experiment, is a 409, not a 404).
DELETES: dict[tuple[str, str], Call] = {
    ("DELETE", "/datasets/{dataset_id}"): lambda c, o: c.delete(f"/datasets/{o.dataset}"),
    ("DELETE", "/experiments/{experiment_id}"): lambda c, o: c.delete(
        f"/experiments/{o.experiment}"
    ),
    ("DELETE", "/studies/{study_id}"): lambda c, o: c.delete(f"/studies/{o.study}"),
}
# The owner's event stream of a queued experiment lasts until it ends: only the other
# owner's 404 is checked here (tests/e2e/test_events.py streams the owner's).
STREAMS: dict[tuple[str, str], Call] = {
    ("GET", "/experiments/{experiment_id}/events"): lambda c, o: c.get(
        f"/experiments/{o.experiment}/events"
    ),
    ("GET", "/studies/{study_id}/events"): lambda c, o: c.get(f"/studies/{o.study}/events"),
}
# Routes that take ids elsewhere than the path: 404, or 422 "not found" for a spec's upload.
BY_ID_IN_QUERY: dict[tuple[str, str], Call] = {
    ("GET", "/plots/compare.png"): lambda c, o: c.get(
        "/plots/compare.png", params={"experiments": str(o.experiment)}
    ),
}
UPLOAD = "dataset_not_found"
WITH_UPLOAD: dict[tuple[str, str], Call] = {
    ("POST", "/experiments"): lambda c, o: c.post("/experiments", json=diabetes_spec(o.dataset)),
    ("POST", "/experiments/validate"): lambda c, o: c.post(
        "/experiments/validate", json=diabetes_spec(o.dataset)
    ),
    ("POST", "/studies"): lambda c, o: c.post(
        "/studies", json={"base": diabetes_spec(o.dataset), "repeats": 1}
    ),
    ("POST", "/recipes/{name}"): lambda c, o: c.post(
        "/recipes/regularization", json={"dataset": {"name": "upload", "dataset_id": o.dataset}}
    ),
}


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path) -> its OpenAPI operation, for every route of the app. FastAPI includes
    routers lazily (app.routes holds the routers, not their routes); the OpenAPI document is
    the public, flattened list, path and query parameters of dependencies included."""
    paths = create_app().openapi()["paths"]
    return {(m.upper(), path): op for path, ops in paths.items() for m, op in ops.items()}


def takes_an_id(operation: dict[str, Any]) -> bool:
    """An id in the path or the query, or a body (a spec may name an upload)."""
    names = {p["name"] for p in operation.get("parameters", [])}
    return bool(names & {*IDS, "experiments"}) or "requestBody" in operation


def test_every_route_with_an_id_is_covered() -> None:
    creates = {("POST", "/datasets")}  # a body, but no stored id in it
    covered = BY_ID | BY_ID_IN_QUERY | WITH_UPLOAD | DELETES | STREAMS
    for key, operation in operations().items():
        if takes_an_id(operation) and key not in creates:
            assert key in covered, f"not isolation-tested: {key}"
    assert covered.keys() <= operations().keys()


def test_another_owner_gets_404_on_every_route_with_an_id(client: TestClient) -> None:
    owned = alice_rows(client)
    bob = as_owner(client, "bob")
    for key, call in {**BY_ID, **BY_ID_IN_QUERY, **DELETES, **STREAMS}.items():
        response = call(bob, owned)
        assert response.status_code == 404, (key, response.text)
        error = the_error(response)
        assert "not found" in error["msg"] and error["type"] == "not_found", key
        assert error["path"].startswith(("path.", "query.")), (key, error)
        if key not in STREAMS:
            assert call(client, owned).status_code != 404, key  # the owner is not refused


def test_another_owners_upload_is_not_found_in_specs(client: TestClient) -> None:
    owned = alice_rows(client)
    bob = as_owner(client, "bob")
    for key, call in WITH_UPLOAD.items():
        response = call(bob, owned)
        assert response.status_code == 422, (key, response.text)
        assert UPLOAD in response.text, key


def test_lists_show_only_the_callers_rows(client: TestClient) -> None:
    alice_rows(client)
    bob = as_owner(client, "bob")
    for path in ("/experiments", "/studies", "/datasets"):
        assert client.get(path).json()["total"] >= 1, path
        page = bob.get(path).json()
        assert (page["total"], page["items"]) == (0, []), path
    # A study's runs are its owner's: alice sees her experiment and the study's run.
    assert client.get("/experiments").json()["total"] == 2


def test_the_same_file_is_a_dataset_per_owner(client: TestClient) -> None:
    content = diabetes_csv(20, seed=3)
    mine = client.post("/datasets", files={"file": ("d.csv", content)})
    theirs = as_owner(client, "bob").post("/datasets", files={"file": ("d.csv", content)})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    with session_scope() as session:
        assert session.get(Dataset, theirs.json()["id"]).owner == "bob"  # type: ignore[union-attr]


def unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    error = the_error(response)
    assert "API key" in error["msg"] and error["path"] == "header.Authorization"


def test_every_route_but_health_and_docs_needs_a_key(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    checked = 0
    for method, path in operations():
        if path not in PUBLIC:
            unauthorized(anonymous.request(method, re.sub(r"\{[^}]+\}", "1", path)))
            checked += 1
    assert checked >= 15
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200
    assert anonymous.get("/docs").status_code == 200


@pytest.mark.parametrize(
    "header", ["Bearer fitq_not-a-key", "Basic YWxpY2U6c2VjcmV0", "Bearer", "fitq_x"]
)
def test_a_wrong_key_is_401(client: TestClient, header: str) -> None:
    unauthorized(TestClient(client.app, headers={"Authorization": header}).get("/experiments"))


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert (schemes["HTTPBearer"]["type"], schemes["HTTPBearer"]["scheme"]) == ("http", "bearer")
    assert document["paths"]["/experiments"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "401" in document["paths"]["/experiments/{experiment_id}"]["get"]["responses"]
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_cli_creates_lists_and_revokes_keys(client: TestClient) -> None:
    runner = CliRunner()
    made = runner.invoke(cli.app, ["create-key", "carol"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("fitq_") and len(token) > 40
    carol = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    assert carol.get("/experiments").status_code == 200

    listed = runner.invoke(cli.app, ["list-keys"])
    assert listed.exit_code == 0, listed.output
    prefix = token[:12]
    row = next(line for line in listed.stdout.splitlines() if line.startswith(prefix))
    assert row.split("\t")[1] == "carol" and row.endswith("active")
    assert token not in listed.stdout

    revoked = runner.invoke(cli.app, ["revoke-key", prefix])
    assert revoked.exit_code == 0, revoked.output
    unauthorized(carol.get("/experiments"))
    assert runner.invoke(cli.app, ["list-keys"]).stdout.count("active") == 1  # alice's
    again = runner.invoke(cli.app, ["revoke-key", prefix])
    assert again.exit_code != 0 and "no active key" in again.output


def test_only_the_hash_is_stored(client: TestClient) -> None:
    token = new_token("dave")
    with session_scope() as session:
        stored = session.execute(text("SELECT key_hash, prefix FROM api_keys")).all()
    assert all(token not in (key_hash, prefix) for key_hash, prefix in stored)


@pytest.fixture
def settings_reread(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes that the settings read again; undone after the test."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_auth_disabled_acts_as_local_and_warns(
    client: TestClient, settings_reread: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    owned = alice_rows(client)
    settings_reread.setenv("FITQ_AUTH", "disabled")
    get_settings.cache_clear()
    with caplog.at_level(logging.WARNING), TestClient(create_app()) as local:
        assert any("FITQ_AUTH=disabled" in r.getMessage() for r in caplog.records)
        assert local.get("/experiments").json()["total"] == 0  # alice's rows are not local's
        assert local.get(f"/datasets/{owned.dataset}").status_code == 404
        upload = local.post("/datasets", files={"file": ("d.csv", diabetes_csv(10))})
        assert upload.status_code == 201, upload.text
    with session_scope() as session:
        dataset = session.get(Dataset, upload.json()["id"])
        assert dataset is not None and dataset.owner == LOCAL_OWNER
