"""Submit-time shape checks on the real PostgreSQL and Redis: a model that cannot take its
dataset's shape is a 422 pointing at the layer, and nothing is stored or enqueued."""

from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.experiments import service
from tests.conftest import TEST_QUEUE
from tests.helpers import circles_spec, diabetes_csv, error_of

CNN = [
    {"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"},
    {"type": "MaxPooling2D"},
    {"type": "Flatten"},
    {"type": "Dense", "units": 10, "activation": "softmax"},
]


def digits_cnn(data_format: str) -> dict[str, Any]:
    spec = circles_spec(dataset={"name": "digits", "format": data_format})
    spec["model"]["layers"] = CNN
    spec["compile"] = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"}
    return spec


def test_conv2d_on_a_flat_dataset_is_422_and_stores_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    response = client.post("/experiments", json=digits_cnn("flat"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["path"] == "model.layers[0]"
    assert error["type"] == "shape_error"
    assert error["loc"] == ["body", "model", "layers", 0]
    assert error["msg"] == (
        "Conv2D needs images shaped (height, width, channels) but gets (64,): "
        "use a dataset format 'image' or a Dense model"
    )
    assert client.get("/experiments").json()["total"] == 0
    assert redis_client.llen(TEST_QUEUE) == 0


def test_a_later_layer_is_named_too(client: TestClient) -> None:
    spec = digits_cnn("image")
    spec["model"]["layers"] = [*CNN[:2], {"type": "MaxPooling2D"}, {"type": "MaxPooling2D"}]
    response = client.post("/experiments", json=spec)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["path"] == "model.layers[3]"
    assert "pool_size (2, 2) is larger than the input's (height, width) (1, 1)" in error["msg"]


def test_the_same_cnn_on_images_is_accepted(client: TestClient) -> None:
    response = client.post("/experiments", json=digits_cnn("image"))
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["model"]["layers"][0]["kernel_size"] == [3, 3]


def test_no_check_when_the_input_shape_is_not_known_yet(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As for an upload the API cannot resolve: the worker checks it when it has the data.
    monkeypatch.setattr(service, "dataset_input_shape", lambda session, dataset, owner: None)
    response = client.post("/experiments", json=digits_cnn("flat"))
    assert response.status_code == 201, response.text


def embedding_spec(dataset: dict[str, Any]) -> dict[str, Any]:
    spec = circles_spec(dataset=dataset)
    spec["model"]["layers"] = [
        {"type": "Embedding", "input_dim": 10_000, "output_dim": 8},
        {"type": "GlobalAveragePooling1D"},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
    ]
    return spec


def test_an_embedding_on_data_that_are_not_word_indices_is_422(
    client: TestClient, redis_client: redis.Redis
) -> None:
    # These passed the shape check (one axis each) and diverged at epoch 1: Keras truncates
    # 0/1 vectors and float features to word indices.
    upload = client.post("/datasets", files={"file": ("d.csv", diabetes_csv(20))})
    not_words: dict[str, tuple[dict[str, Any], str]] = {
        "imdb": ({"name": "imdb"}, "dataset 'imdb' has encoding 'multi_hot'"),
        "circles": ({"name": "circles", "n_train": 30}, "dataset 'circles' holds numeric"),
        "upload": (
            {"name": "upload", "dataset_id": upload.json()["id"]},
            "dataset 'upload' holds float32 features",
        ),
    }
    for key, (dataset, why) in not_words.items():
        spec = embedding_spec(dataset)
        for url in ("/experiments", "/experiments/validate"):
            response = client.post(url, json=spec)
            status, path, msg, kind = error_of(response)
            assert (status, path, kind) == (422, "model.layers[0]", "shape_error"), (key, url)
            assert msg.startswith("Embedding reads integer word indices") and why in msg, msg
        study = client.post("/studies", json={"base": spec, "variants": [{"name": "words"}]})
        assert error_of(study)[0] == 422 and "variant 'words'" in error_of(study)[2], study.text
    assert client.get("/experiments").json()["total"] == 0
    assert redis_client.llen(TEST_QUEUE) == 0
    sequences = embedding_spec({"name": "imdb", "encoding": "sequence", "num_words": 10_000})
    assert client.post("/experiments", json=sequences).status_code == 201
