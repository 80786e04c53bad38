"""The studies API on the real PostgreSQL and Redis of this machine."""

import math
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from models.db import session_scope
from models.tables import Experiment, ExperimentStatus
from tests.factories import record_epochs
from tests.helpers import circles_spec, error_of, notebook_log
from tests.integration.redis_queue import queued_ids
from worker.training import epoch_store, lifecycle


def study_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "capacity",
        "base": circles_spec(epochs=5),
        "variants": [
            {"name": "wide"},
            {"name": "narrow", "set": {"model.layers[0].units": 8}},
        ],
        "grid": {"model.layers[1].rate": [0.0, 0.5]},
        "repeats": 2,
    }
    return body | changes


def create(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/studies", json=study_body(**changes))
    assert response.status_code == 201, response.text
    return dict(response.json())


def stored_runs(study_id: int) -> list[tuple[str | None, int | None, Any, dict]]:
    with session_scope() as session:
        rows = session.scalars(
            select(Experiment).where(Experiment.study_id == study_id).order_by(Experiment.id)
        )
        return [(e.variant, e.repeat, e.grid_values, e.spec) for e in rows]


def test_a_study_stores_every_run_in_one_go_and_enqueues_each_after_commit(
    client: TestClient, redis_client: redis.Redis
) -> None:
    response = client.post("/studies", json=study_body())
    assert response.status_code == 201, response.text
    study = response.json()
    assert response.headers["location"].endswith(f"/studies/{study['id']}")
    assert (study["status"], study["experiments"], study["repeats"]) == ("queued", 8, 2)
    assert study["variants"] == [
        "wide, model.layers[1].rate=0.0", "wide, model.layers[1].rate=0.5",
        "narrow, model.layers[1].rate=0.0", "narrow, model.layers[1].rate=0.5",
    ]  # fmt: skip
    runs = stored_runs(study["id"])
    assert [(variant, repeat) for variant, repeat, _, _ in runs] == [
        (name, r) for name in study["variants"] for r in (0, 1)
    ]
    variant, _, grid_values, spec = runs[-1]
    assert grid_values == {"model.layers[1].rate": 0.5}
    assert spec["model"]["layers"][0]["units"] == 8
    assert spec["model"]["layers"][1]["rate"] == 0.5
    assert [spec["fit"]["seed"] for *_, spec in runs] == [0, 1] * 4
    assert spec["name"] == f"capacity: {variant} (repeat 1)"
    with session_scope() as session:
        ids = list(session.scalars(select(Experiment.id).order_by(Experiment.id)))
    assert sorted(queued_ids(redis_client)) == ids
    assert study["definition"]["base"]["fit"] == {"epochs": 5, "batch_size": 32}


def test_the_base_alone_is_the_variant_base(client: TestClient) -> None:
    study = create(client, variants=None, grid=None, repeats=1, name=None)
    assert (study["name"], study["variants"]) == ("baseline", ["base"])
    assert [s["variant"] for s in study["summary"]] == ["base"]


def test_a_bad_variant_is_422_naming_variant_and_field_and_stores_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    zero = {"model": {"layers": [{"type": "Dense", "units": 0}]}}
    variants = [
        {"name": "wide"},
        {"name": "smaller", "override": zero},
        {"name": "deep", "set": {"model.layers[9].units": 3}},
    ]
    response = client.post("/studies", json=study_body(variants=variants, grid=None))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [e["path"] for e in detail] == [
        "variants[1].override.model.layers[0].units",
        'variants[2].set["model.layers[9].units"]',
    ]
    assert detail[0]["msg"] == "variant 'smaller': Input should be greater than or equal to 1"
    assert detail[0]["loc"] == ["body", "variants", 1, "override", "model", "layers", 0, "units"]
    assert detail[1]["msg"].startswith("variant 'deep': model.layers[9].units: model.layers has")
    assert client.get("/studies").json()["total"] == 0
    assert client.get("/experiments").json()["total"] == 0
    assert queued_ids(redis_client) == []


def test_grid_and_shape_errors_point_into_the_request(client: TestClient) -> None:
    conv = {"type": "Conv2D", "filters": 2, "kernel_size": 3}
    response = client.post(
        "/studies",
        json=study_body(
            variants=[{"name": "conv", "set": {"model.layers[0]": conv}}],
            grid={"model.layers[1].rate": [0.2, 1.5]},
            repeats=1,
        ),
    )
    assert response.status_code == 422
    by_path = {e["path"]: e for e in response.json()["detail"]}
    shape = by_path['variants[0].set["model.layers[0]"]']
    assert shape["type"] == "shape_error"
    assert shape["msg"].startswith("variant 'conv, model.layers[1].rate=0.2': ")
    rate = by_path['grid["model.layers[1].rate"][1]']
    assert "less than 1" in rate["msg"]


def test_a_study_bigger_than_the_bound_is_422(client: TestClient) -> None:
    response = client.post("/studies", json=study_body(repeats=50, grid={"fit.epochs": [1, 2, 3]}))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["path"], error["type"]) == ("(body)", "too_many_experiments")
    assert "300 experiments" in error["msg"] and "at most 200" in error["msg"]


def test_base_and_request_shape_errors_are_plain_422s(client: TestClient) -> None:
    body = study_body(repeats=51, grid={"model.layers[x]": [1]})
    body["base"]["fit"]["epochs"] = 0
    detail = client.post("/studies", json=body).json()["detail"]
    paths = {e["path"] for e in detail}
    assert {"repeats", "base.fit.epochs", "grid"} <= paths


def test_list_is_newest_first_and_paginated_get_and_404(client: TestClient) -> None:
    ids = [create(client, name=f"study {i}", grid=None, repeats=1)["id"] for i in range(3)]
    page = client.get("/studies", params={"limit": 2}).json()
    assert [s["id"] for s in page["items"]] == [ids[2], ids[1]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    item = page["items"][0]
    assert (item["status"], item["experiments"], item["variants"]) == (
        "queued",
        2,
        ["wide", "narrow"],
    )
    assert item["counts"] == {
        "queued": 2,
        "running": 0,
        "succeeded": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert client.get("/studies", params={"offset": 2}).json()["items"][0]["id"] == ids[0]
    one = client.get(f"/studies/{ids[0]}").json()
    assert one["name"] == "study 0" and len(one["summary"]) == 2
    missing = client.get("/studies/999999")
    assert error_of(missing) == (404, "path.study_id", "study 999999 not found", "not_found")
    assert client.post("/studies/999999/cancel").status_code == 404


def test_cancel_stops_queued_runs_and_flags_running_ones(client: TestClient) -> None:
    study = create(client, grid=None, repeats=2)
    running, queued, *_ = experiment_ids(study["id"])
    assert lifecycle.claim(running, "w") is not None
    response = client.post(f"/studies/{study['id']}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"]["cancelled"] == 3 and body["counts"]["running"] == 1
    assert body["status"] == "running"
    assert lifecycle.claim(queued, "w") is None
    assert epoch_store.record_epoch(running, 1, {"loss": 0.5}) is True  # the worker sees the flag
    lifecycle.finish(running, lifecycle.ExperimentStatus.CANCELLED)
    assert client.get(f"/studies/{study['id']}").json()["status"] == "cancelled"
    again = client.post(f"/studies/{study['id']}/cancel")
    assert again.status_code == 409
    assert error_of(again)[1:3] == (
        "path.study_id", f"study {study['id']} has nothing left to cancel"
    )  # fmt: skip


def experiment_ids(study_id: int) -> list[int]:
    with session_scope() as session:
        query = select(Experiment.id).where(Experiment.study_id == study_id)
        return list(session.scalars(query.order_by(Experiment.id)))


def run(experiment_id: int, val_losses: list[float], status: str = "succeeded") -> None:
    """What a worker writes: claim, one row per epoch, the final status."""
    log = [
        {"epoch": e, "loss": 1 / e, "accuracy": 0.5, "val_loss": val, "val_accuracy": 1 - val}
        for e, val in enumerate(val_losses, start=1)
    ]
    record_epochs(experiment_id, log, worker="w", finish=ExperimentStatus(status))


def test_summary_numbers_come_from_the_written_histories(client: TestClient) -> None:
    study = create(client, grid=None, repeats=2)
    wide_0, wide_1, narrow_0, narrow_1 = experiment_ids(study["id"])
    run(wide_0, [0.6, 0.4, 0.5])  # best epoch 2
    run(wide_1, [0.7, 0.5, 0.3, 0.4])  # best epoch 3
    run(narrow_0, [0.9, 0.8], status="failed")
    summary = client.get(f"/studies/{study['id']}").json()
    assert summary["status"] == "running"
    wide, narrow = summary["summary"]
    assert (wide["variant"], wide["runs"], wide["finished"], wide["succeeded"]) == ("wide", 2, 2, 2)
    assert wide["monitor"] == "val_loss"
    assert wide["best_epoch"] == {"mean": 2.5, "std": pytest.approx(math.sqrt(0.5)), "n": 2}
    assert wide["at_best"]["val_loss"]["mean"] == pytest.approx(0.35)
    assert wide["at_best"]["val_accuracy"]["mean"] == pytest.approx(0.65)
    assert wide["final_validation"]["val_loss"]["mean"] == pytest.approx(0.45)
    assert wide["final_train"]["loss"] == {
        "mean": pytest.approx((1 / 3 + 1 / 4) / 2), "std": pytest.approx(math.sqrt(2) / 24), "n": 2
    }  # fmt: skip
    assert [r["best_epoch"] for r in wide["per_run"]] == [2, 3]
    assert (narrow["finished"], narrow["succeeded"], narrow["best_epoch"]) == (1, 0, None)
    assert narrow["per_run"][0]["status"] == "failed" and narrow["per_run"][0]["best_epoch"] == 2
    # The mean curve over repeats (val_loss 0.65, 0.45, 0.4, 0.4) levels off low.
    assert wide["diagnosis"]["verdict"] == "good_fit"
    assert narrow["diagnosis"]["finished"] is False  # narrow_1 has not run yet
    run(narrow_1, [0.5])
    assert client.get(f"/studies/{study['id']}").json()["status"] == "partially_failed"


def test_a_problem_of_the_base_is_one_error_naming_every_variant(client: TestClient) -> None:
    base = circles_spec(epochs=3, dataset={"name": "upload", "dataset_id": 99999})
    response = client.post("/studies", json=study_body(base=base, grid=None))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["path"], error["type"]) == ("base.dataset.dataset_id", "dataset_not_found")
    assert error["msg"] == (
        "variants 'wide', 'narrow': dataset 99999 not found; upload one with POST /datasets"
    )


def test_each_variant_is_diagnosed_from_its_mean_curve(client: TestClient) -> None:
    study = create(client, grid=None, repeats=2, base=circles_spec(epochs=20))
    ids = experiment_ids(study["id"])
    logs = {"wide": notebook_log("bigger"), "narrow": notebook_log("baseline")}
    for experiment_id, variant in zip(ids, ["wide", "wide", "narrow", "narrow"], strict=True):
        record_epochs(experiment_id, logs[variant], worker="w", finish=ExperimentStatus.SUCCEEDED)
    wide, narrow = client.get(f"/studies/{study['id']}").json()["summary"]
    # The notebook's bigger model overfits almost at once, the baseline after a few epochs.
    assert (wide["diagnosis"]["verdict"], wide["diagnosis"]["overfitting_from_epoch"]) == (
        "overfitting",
        2,
    )
    assert (narrow["diagnosis"]["verdict"], narrow["diagnosis"]["overfitting_from_epoch"]) == (
        "overfitting",
        4,
    )
    assert wide["diagnosis"]["finished"] is True
