"""The experiments API on the real PostgreSQL and Redis of this machine."""

import io

import pytest
import redis
from fastapi.testclient import TestClient
from PIL import Image

from tests.helpers import circles_spec, error_of, submit, the_error
from tests.integration.redis_queue import queued_ids
from worker.training import epoch_store, lifecycle


def test_submit_stores_queued_and_enqueues_the_id(
    client: TestClient, redis_client: redis.Redis
) -> None:
    response = client.post("/experiments", json=circles_spec(epochs=200))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued"
    assert body["epochs_total"] == 200
    assert body["current_epoch"] == 0
    assert response.headers["location"].endswith(f"/experiments/{body['id']}")
    assert queued_ids(redis_client) == [body["id"]]
    assert client.get(response.headers["location"]).json()["spec"]["dataset"]["n_train"] == 30


def test_bad_spec_is_422_naming_each_path_and_stores_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    spec = circles_spec()
    spec["model"]["layers"][0]["units"] = 0
    spec["model"]["layers"][1] = {"type": "Conv9D"}
    spec["compile"]["loss"] = "nope"
    spec["surprise"] = True
    response = client.post("/experiments", json=spec)
    assert response.status_code == 422
    by_path = {e["path"]: e["msg"] for e in response.json()["detail"]}
    assert "greater than or equal to 1" in by_path["model.layers[0].units"]
    assert "Conv9D" in by_path["model.layers[1]"]
    assert "binary_crossentropy" in by_path["compile.loss"]
    assert "not permitted" in by_path["surprise"]
    assert client.get("/experiments").json()["total"] == 0
    assert queued_ids(redis_client) == []


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_list_is_newest_first_paginated_and_filtered(client: TestClient) -> None:
    ids = [submit(client, name=f"run {i}") for i in range(3)]
    client.post(f"/experiments/{ids[0]}/cancel")
    page = client.get("/experiments", params={"limit": 2}).json()
    assert [e["id"] for e in page["items"]] == [ids[2], ids[1]]
    assert page["total"] == 3
    second = client.get("/experiments", params={"limit": 2, "offset": 2}).json()
    assert [e["id"] for e in second["items"]] == [ids[0]]
    cancelled = client.get("/experiments", params={"status": "cancelled"}).json()
    assert [e["id"] for e in cancelled["items"]] == [ids[0]]
    assert client.get("/experiments", params={"status": "bogus"}).status_code == 422


def test_unknown_ids_are_404_with_a_json_body(client: TestClient) -> None:
    for method, path in [
        ("GET", "/experiments/999"),
        ("GET", "/experiments/999/history"),
        ("GET", "/experiments/999/plot.png"),
        ("POST", "/experiments/999/cancel"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404, path
        assert error_of(response)[1:] == (
            "path.experiment_id", "experiment 999 not found", "not_found"
        )  # fmt: skip


def test_history_and_status_while_running_and_retried_writes(client: TestClient) -> None:
    experiment_id = submit(client)
    assert lifecycle.claim(experiment_id, "test-worker") is not None
    epoch_store.record_epoch(experiment_id, 1, {"loss": 0.7, "val_loss": 0.8})
    epoch_store.record_epoch(experiment_id, 2, {"loss": 0.6, "val_loss": 0.75})
    epoch_store.record_epoch(experiment_id, 2, {"loss": 0.5, "val_loss": 0.7})  # a retried write
    body = client.get(f"/experiments/{experiment_id}").json()
    assert body["status"] == "running"
    assert body["started_at"] is not None
    assert (body["current_epoch"], body["epochs_total"]) == (2, 3)
    assert body["latest_metrics"] == {"loss": 0.5, "val_loss": 0.7}
    history = client.get(f"/experiments/{experiment_id}/history").json()
    assert history == [
        {"epoch": 1, "loss": 0.7, "val_loss": 0.8},
        {"epoch": 2, "loss": 0.5, "val_loss": 0.7},
    ]
    later = client.get(f"/experiments/{experiment_id}/history", params={"after_epoch": 1})
    assert [row["epoch"] for row in later.json()] == [2]


def test_claim_is_exclusive_and_final_status_sticks(client: TestClient) -> None:
    experiment_id = submit(client)
    assert lifecycle.claim(experiment_id, "a") is not None
    assert lifecycle.claim(experiment_id, "b") is None
    lifecycle.finish(experiment_id, lifecycle.ExperimentStatus.FAILED, "boom")
    body = client.get(f"/experiments/{experiment_id}").json()
    assert (body["status"], body["error"]) == ("failed", "boom")
    assert body["finished_at"] is not None


def test_plot_png_size_unknown_metric_and_no_epochs(client: TestClient) -> None:
    experiment_id = submit(client)
    early = client.get(f"/experiments/{experiment_id}/plot.png")
    assert early.status_code == 409
    lifecycle.claim(experiment_id, "w")
    for epoch in (1, 2, 3):
        epoch_store.record_epoch(experiment_id, epoch, {"loss": 1 / epoch, "val_loss": 1.1 / epoch})
    response = client.get(
        f"/experiments/{experiment_id}/plot.png",
        params={"metric": "loss", "width": 640, "height": 400},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (640, 400)
    unknown = client.get(f"/experiments/{experiment_id}/plot.png", params={"metric": "accuracy"})
    assert unknown.status_code == 422
    error = the_error(unknown)
    assert error["msg"] == "metric 'accuracy' was not recorded; recorded: loss"
    assert error["path"] == "query.metric"
    too_big = client.get(f"/experiments/{experiment_id}/plot.png", params={"width": 99999})
    assert too_big.status_code == 422
    assert too_big.json()["detail"][0]["path"] == "query.width"


def test_cancel_queued_at_once_running_by_flag(client: TestClient) -> None:
    queued = submit(client)
    response = client.post(f"/experiments/{queued}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert lifecycle.claim(queued, "w") is None  # a late delivery never runs it
    assert client.post(f"/experiments/{queued}/cancel").status_code == 409

    running = submit(client)
    lifecycle.claim(running, "w")
    body = client.post(f"/experiments/{running}/cancel").json()
    assert (body["status"], body["cancel_requested"]) == ("running", True)
    assert epoch_store.record_epoch(running, 1, {"loss": 0.1}) is True  # the worker sees the flag


def test_healthz_reports_database_and_broker(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True, "error": None},
        "broker": {"ok": True, "error": None},
    }


def test_healthz_is_503_when_the_broker_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broker import door
    from broker.config import make_celery
    from models.settings import Settings

    nowhere = Settings(
        mode="production", database_url="sqlite://", broker_url="redis://127.0.0.1:1/0"
    )
    monkeypatch.setattr(door, "celery_app", lambda: make_celery(nowhere))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"]


def test_dry_run_without_a_validation_worker_is_503(client: TestClient) -> None:
    from models.settings import Settings, get_settings

    quick = Settings(validate_timeout_seconds=1)
    client.app.dependency_overrides[get_settings] = lambda: quick  # type: ignore[attr-defined]
    try:
        response = client.post("/experiments/validate", json=circles_spec())
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert response.status_code == 503
    error = the_error(response)
    assert (error["path"], error["type"]) == ("(broker)", "service_unavailable")
    assert "no validation worker answered within 1 s" in error["msg"]
    assert client.get("/experiments").json()["total"] == 0


def test_dry_run_of_a_bad_spec_is_422_before_any_worker(client: TestClient) -> None:
    response = client.post("/experiments/validate", json=circles_spec(epochs=0))
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "fit.epochs"
    conv_on_points = circles_spec()
    conv_on_points["model"]["layers"][0] = {"type": "Conv2D", "filters": 8, "kernel_size": 3}
    response = client.post("/experiments/validate", json=conv_on_points)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "shape_error"
    assert response.json()["detail"][0]["path"] == "model.layers[0]"
