"""Odd requests, on the real app and PostgreSQL: one error shape for every kind of error,
NUL characters, bodies of the wrong media type or unreadable, and parameters a route does
not take."""

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.core.schemas import ErrorRead
from models.settings import get_settings
from tests.factories import running_experiment
from tests.helpers import circles_spec, diabetes_csv, error_of, submit
from worker.training import epoch_store

ITEM_KEYS = {"path", "msg", "type", "loc", "ctx"}


def assert_one_shape(response: httpx.Response) -> list[dict[str, Any]]:
    """The body every error has (ErrorRead, as the OpenAPI document describes it)."""
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    ErrorRead.model_validate(body)
    assert set(body) == {"detail"} and body["detail"], body
    for item in body["detail"]:
        assert {"path", "msg", "type", "loc"} <= set(item) <= ITEM_KEYS, item
    detail: list[dict[str, Any]] = body["detail"]
    return detail


def study_body(**changes: Any) -> dict[str, Any]:
    return {"base": circles_spec(epochs=2), "variants": [{"name": "a"}], **changes}


# --- NUL characters: PostgreSQL text cannot hold them; each is a 422 naming the field ---

NUL = "a\x00b"


def test_nul_in_any_text_field_is_a_422_naming_it(client: TestClient) -> None:
    cases = {
        "name": client.post("/experiments", json=circles_spec(name=NUL)),
        "tags[1]": client.post("/experiments", json=circles_spec(tags=["ok", NUL])),
        "name ": client.post("/studies", json=study_body(name=NUL)),
        "variants[0].name": client.post("/studies", json=study_body(variants=[{"name": NUL}])),
        "base.name": client.post("/studies", json=study_body(base=circles_spec(name=NUL))),
        "name  ": client.post(
            "/recipes/regularization", json={"dataset": {"name": "iris"}, "name": NUL}
        ),
        "name   ": client.post(
            "/datasets", files={"file": ("d.csv", diabetes_csv(5))}, data={"name": NUL}
        ),
        "label": client.post(
            "/datasets", files={"file": ("d.csv", diabetes_csv(5))}, data={"label": NUL}
        ),
        "file": client.post("/datasets", files={"file": ("d.csv", b"a\x00,b\n1,2\n3,4\n")}),
        "query.name": client.get("/experiments", params={"name": NUL}),
        "query.metric": client.get("/experiments/1/plot.png", params={"metric": NUL}),
    }
    for path, response in cases.items():
        status, got_path, msg, kind = error_of(response)
        assert (status, got_path, kind) == (422, path.strip(), "nul_character"), response.text
        assert "NUL" in msg
    assert client.get("/experiments").json()["total"] == 0
    assert client.get("/studies").json()["total"] == 0
    assert client.get("/datasets").json()["total"] == 0


# --- One shape for every error ---


def test_every_kind_of_error_has_the_one_shape(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = submit(client, epochs=5)
    anonymous = TestClient(client.app)
    samples = {
        400: [
            client.post(
                "/experiments",
                content=b'{"name": "caf\xe9"}',
                headers={"content-type": "application/json"},
            ),
            client.post(
                "/experiments",
                content=b"[" * 5000 + b"]" * 5000,
                headers={"content-type": "application/json"},
            ),
        ],
        401: [anonymous.get("/experiments"), anonymous.post("/datasets")],
        404: [
            client.get("/experiments/999"),
            client.get("/nowhere"),
            client.get("/experiments/999/plot.png", params={"metric": "loss"}),
            client.post("/recipes/nope", json={"dataset": {"name": "iris"}}),
        ],
        405: [client.delete("/experiments")],
        409: [client.get(f"/experiments/{queued}/model")],
        415: [client.post("/experiments", content="{}", headers={"content-type": "text/plain"})],
        422: [
            client.post("/experiments", json=circles_spec(epochs=0)),
            client.get("/experiments", params={"limit": 0}),
            client.get("/experiments", params={"tags": "x"}),
            client.post("/datasets", files={"file": ("d.csv", b"a,b\n1\n")}),
        ],
    }
    monkeypatch.setenv("FITQ_MAX_REQUEST_BYTES", "1024")
    get_settings.cache_clear()
    try:
        samples[413] = [client.post("/experiments", json=circles_spec(tags=["x" * 60] * 20))]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    for status, responses in samples.items():
        for response in responses:
            assert response.status_code == status, (status, response.text)
            assert_one_shape(response)
    not_found = error_of(samples[404][0])
    assert not_found == (404, "path.experiment_id", "experiment 999 not found", "not_found")
    assert error_of(samples[401][0])[1] == "header.Authorization"
    assert error_of(samples[409][0])[1] == "path.experiment_id"


def test_a_metric_not_recorded_names_the_query_field(client: TestClient) -> None:
    # The example: this answered `detail` as a string.
    experiment_id = running_experiment(client, epochs=5)  # claimed as a worker does
    epoch_store.record_epoch(experiment_id, 1, {"loss": 0.5})
    response = client.get(f"/experiments/{experiment_id}/plot.png", params={"metric": "foo"})
    [error] = assert_one_shape(response)
    assert (error["path"], error["type"]) == ("query.metric", "metric_not_recorded")
    assert error["loc"] == ["query", "metric"]


def test_the_openapi_document_describes_every_error_with_the_one_model(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")) or path == "/healthz":
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorRead"}, (path, method)


# --- Bodies: media type, depth, encoding ---


def test_a_body_of_another_media_type_is_415(client: TestClient) -> None:
    spec = json.dumps(circles_spec())
    for url in ("/experiments", "/experiments/validate", "/studies"):
        as_text = client.post(url, content=spec, headers={"content-type": "text/plain"})
        as_form = client.post(url, data={"name": "x"})
        for response in (as_text, as_form):
            status, path, msg, kind = error_of(response)
            assert (status, path, kind) == (415, "header.Content-Type", "unsupported_media_type")
            assert "application/json" in msg
    as_json = client.post("/datasets", json={"file": "x"})
    assert error_of(as_json)[:2] == (415, "header.Content-Type")
    assert client.get("/experiments").json()["total"] == 0


def test_an_unreadable_json_body_is_a_400_saying_why(client: TestClient) -> None:
    json_type = {"content-type": "application/json"}
    latin1 = json.dumps(circles_spec(name="café"), ensure_ascii=False).encode("latin-1")
    not_utf8 = client.post("/experiments", content=latin1, headers=json_type)
    assert error_of(not_utf8)[0:2] == (400, "(body)")
    assert error_of(not_utf8)[3] == "not_utf8" and "UTF-8" in error_of(not_utf8)[2]
    thousands = client.post("/experiments", content=b"[" * 5000 + b"]" * 5000, headers=json_type)
    assert error_of(thousands)[0] == 400 and error_of(thousands)[3] == "json_too_deep"
    # Readable, but deeper than any spec: it would overflow what walks it later (a 500 before).
    deep: Any = []
    for _ in range(900):
        deep = [deep]
    study = study_body(variants=[{"name": "a", "override": {"fit": deep}}])
    response = client.post("/studies", json=study)
    status, path, msg, kind = error_of(response)
    assert (status, path, kind) == (400, "(body)", "json_too_deep")
    assert "nested more than 32 levels" in msg
    assert client.get("/studies").json()["total"] == 0


# --- Parameters a route does not take ---


def test_every_route_refuses_an_unknown_query_parameter(client: TestClient) -> None:
    checked = 0
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        url = path.replace("{name}", "regularization")
        for name in ("experiment_id", "study_id", "dataset_id"):
            url = url.replace("{" + name + "}", "1")
        for method in operations:
            response = client.request(method, url, params={"bogus": "1"})
            status, got_path, msg, kind = error_of(response)
            assert (status, got_path, kind) == (422, "query.bogus", "unknown_parameter"), url
            assert "unknown query parameter 'bogus'" in msg
            checked += 1
    assert checked >= 20


def test_an_unknown_form_field_is_refused(client: TestClient) -> None:
    response = client.post(
        "/datasets", files={"file": ("d.csv", diabetes_csv(5))}, data={"labels": "Outcome"}
    )
    status, path, msg, kind = error_of(response)
    assert (status, path, kind) == (422, "labels", "unknown_parameter")
    assert "unknown form field 'labels'" in msg and "label" in msg
    assert client.get("/datasets").json()["total"] == 0


# --- The filters users try ---


def names(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return [item["name"] for item in page.json()["items"]]


def test_experiments_filter_by_tag_name_and_status(client: TestClient) -> None:
    for name, tags in (
        ("Circles 50%", ["circles", "dropout"]),
        ("circles_plain", ["circles"]),
        ("moons", ["dropout"]),
    ):
        assert client.post("/experiments", json=circles_spec(name=name, tags=tags)).is_success
    assert names(client.get("/experiments?tag=circles")) == ["circles_plain", "Circles 50%"]
    assert names(client.get("/experiments?tag=circles&tag=dropout")) == ["Circles 50%"]
    assert names(client.get("/experiments?tag=nothing")) == []
    assert names(client.get("/experiments", params={"name": "CIRCLES"})) == [
        "circles_plain",
        "Circles 50%",
    ]
    # LIKE's wildcards match only themselves.
    assert names(client.get("/experiments", params={"name": "50%"})) == ["Circles 50%"]
    assert names(client.get("/experiments", params={"name": "s_p"})) == ["circles_plain"]
    assert names(client.get("/experiments", params={"name": "%"})) == ["Circles 50%"]
    page = client.get("/experiments", params={"tag": "dropout", "status": "queued", "limit": 1})
    assert page.json()["total"] == 2 and len(page.json()["items"]) == 1
    assert client.get("/experiments?tag=dropout&status=running").json()["total"] == 0


def test_studies_and_datasets_filter_too(client: TestClient) -> None:
    tagged = circles_spec(epochs=2, tags=["sweep"])
    assert client.post("/studies", json=study_body(name="Width sweep", base=tagged)).is_success
    assert client.post("/studies", json=study_body(name="depth")).is_success
    assert names(client.get("/studies?tag=sweep")) == ["Width sweep"]
    assert names(client.get("/studies?name=WIDTH")) == ["Width sweep"]
    assert names(client.get("/studies?tag=sweep&name=depth")) == []
    for name in ("Pima", "other"):
        content = diabetes_csv(10, seed=len(name))
        upload = client.post("/datasets", files={"file": ("d.csv", content)}, data={"name": name})
        assert upload.status_code == 201, upload.text
    assert names(client.get("/datasets?name=pim")) == ["Pima"]
    assert names(client.get("/datasets?format=csv")) == ["other", "Pima"]
    assert names(client.get("/datasets?format=npz")) == []


# --- Uploads past the column limit ---


def test_a_one_line_csv_past_the_feature_limit_is_413(client: TestClient) -> None:
    # The upload, smaller: one line of 300,000 numbers.
    line = ",".join(["1"] * 300_000).encode() + b"\n"
    response = client.post("/datasets", files={"file": ("wide.csv", line)})
    status, path, msg, kind = error_of(response)
    assert (status, path, kind) == (413, "file", "too_many_columns")
    assert "FITQ_MAX_FEATURES" in msg and "100,000 features" in msg
    assert client.get("/datasets").json()["total"] == 0
