"""Recipes on the real PostgreSQL and Redis: listed, applied to built-in data and uploads."""

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from models.db import session_scope
from models.tables import Experiment
from tests.helpers import diabetes_csv, the_error
from tests.integration.redis_queue import queued_ids


def specs_by_variant(study_id: int) -> dict[str, dict]:
    with session_scope() as session:
        rows = session.scalars(
            select(Experiment).where(Experiment.study_id == study_id).order_by(Experiment.id)
        )
        return {str(e.variant): e.spec for e in rows}


def test_recipes_are_listed(client: TestClient) -> None:
    recipes = {r["name"]: r for r in client.get("/recipes").json()}
    assert {"regularization", "dropout_grid"} <= recipes.keys()
    variants = [v["name"] for v in recipes["regularization"]["variants"]]
    assert variants == ["baseline", "smaller", "bigger", "l2", "dropout"]
    assert recipes["dropout_grid"]["grid"] == {"model.layers[1].rate": [0.0, 0.2, 0.4, 0.6]}


def test_regularization_on_digits_creates_five_softmax_models(
    client: TestClient, redis_client: redis.Redis
) -> None:
    response = client.post("/recipes/regularization", json={"dataset": {"name": "digits"}})
    assert response.status_code == 201, response.text
    study = response.json()
    assert response.headers["location"].endswith(f"/studies/{study['id']}")
    assert (study["name"], study["status"], study["experiments"]) == (
        "regularization on digits", "queued", 5
    )  # fmt: skip
    specs = specs_by_variant(study["id"])
    assert list(specs) == ["baseline", "smaller", "bigger", "l2", "dropout"]
    for spec in specs.values():
        head = spec["model"]["layers"][-1]
        assert (head["type"], head["units"], head["activation"]) == ("Dense", 10, "softmax")
        assert spec["compile"]["loss"] == "sparse_categorical_crossentropy"
        assert (spec["fit"]["epochs"], spec["fit"]["batch_size"]) == (20, 32)
        assert spec["fit"]["validation_split"] == 0.2  # digits holds out nothing by default
    assert [layer["units"] for layer in specs["bigger"]["model"]["layers"]] == [512, 512, 10]
    ids = [run["experiment_id"] for variant in study["summary"] for run in variant["per_run"]]
    assert sorted(queued_ids(redis_client)) == sorted(ids)


def test_dropout_grid_with_options_and_an_unknown_recipe(client: TestClient) -> None:
    body = {"dataset": {"name": "iris"}, "epochs": 4, "repeats": 2, "name": "iris dropout"}
    study = client.post("/recipes/dropout_grid", json=body).json()
    assert (study["name"], study["experiments"], study["repeats"]) == ("iris dropout", 8, 2)
    assert study["variants"][1] == "model.layers[1].rate=0.2"
    missing = client.post("/recipes/nope", json={"dataset": {"name": "iris"}})
    assert missing.status_code == 404
    error = the_error(missing)
    assert error["msg"].startswith("recipe 'nope' not found; known: regularization")
    assert error["path"] == "path.name"


def test_a_recipe_on_an_upload_reads_its_classes(client: TestClient) -> None:
    upload = client.post("/datasets", files={"file": ("diabetes.csv", diabetes_csv(60))})
    assert upload.status_code == 201, upload.text
    dataset = {"name": "upload", "dataset_id": upload.json()["id"], "standardize": True}
    study = client.post("/recipes/regularization", json={"dataset": dataset}).json()
    baseline = specs_by_variant(study["id"])["baseline"]
    assert baseline["model"]["layers"][-1]["activation"] == "sigmoid"
    assert baseline["compile"]["loss"] == "binary_crossentropy"
    gone = client.post("/recipes/regularization", json={"dataset": dataset | {"dataset_id": 99999}})
    assert gone.status_code == 422
    assert gone.json()["detail"][0]["path"] == "dataset.dataset_id"


def test_a_recipe_refuses_sequence_encoded_text(client: TestClient) -> None:
    body = {"dataset": {"name": "imdb", "encoding": "sequence"}}
    response = client.post("/recipes/regularization", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["path"], error["type"]) == ("dataset", "recipe_unfit")
