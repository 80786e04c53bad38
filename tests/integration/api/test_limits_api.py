"""Server limits are 422s naming the limit on every route that takes a spec; JSON bodies
past FITQ_MAX_REQUEST_BYTES are 413s."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from models.settings import get_settings
from tests.helpers import circles_spec, error_of

EPOCHS_MSG = "fit.epochs is 10; this server allows at most 5 (FITQ_MAX_EPOCHS)"


@pytest.fixture
def tight(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FITQ_MAX_EPOCHS", "5")
    monkeypatch.setenv("FITQ_MAX_PARAMETERS", "1000")
    monkeypatch.setenv("FITQ_MAX_REQUEST_BYTES", "4096")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_experiment_past_the_limits_is_422_and_stores_nothing(
    client: TestClient, tight: None
) -> None:
    for url in ("/experiments", "/experiments/validate"):
        response = client.post(url, json=circles_spec(epochs=10))
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert [(d["path"], d["type"]) for d in detail] == [
            ("model", "limit_exceeded"),
            ("fit.epochs", "limit_exceeded"),
        ]
        assert detail[0]["msg"] == (
            "the model has 2,001 parameters; this server allows at most 1,000 parameters "
            "(FITQ_MAX_PARAMETERS)"
        )
        assert detail[1]["msg"] == EPOCHS_MSG
    assert client.get("/experiments").json()["total"] == 0


def test_study_and_recipe_past_the_limits_are_422(client: TestClient, tight: None) -> None:
    study = {
        "base": small_spec(10),
        "variants": [{"name": "a"}, {"name": "b", "set": {"fit.epochs": 3}}],
    }
    response = client.post("/studies", json=study)
    assert response.status_code == 422, response.text
    assert [(d["path"], d["type"], d["msg"]) for d in response.json()["detail"]] == [
        ("base.fit.epochs", "limit_exceeded", f"variant 'a': {EPOCHS_MSG}")
    ]
    recipe = client.post("/recipes/regularization", json={"dataset": {"name": "digits"}})
    assert recipe.status_code == 422, recipe.text
    assert {d["type"] for d in recipe.json()["detail"]} == {"limit_exceeded"}
    assert client.get("/studies").json()["total"] == 0


def test_a_large_json_body_is_413_declared_or_streamed(client: TestClient, tight: None) -> None:
    spec = circles_spec(epochs=3, tags=["x" * 50] * 100)
    message = "the request body is larger than 4096 bytes (FITQ_MAX_REQUEST_BYTES)"
    expected = (413, "(body)", message, "too_large")
    declared = client.post("/experiments", json=spec)
    assert error_of(declared) == expected

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"name": "' + b"y" * 3000
        yield b"y" * 3000 + b'"}'

    streamed = client.post(
        "/experiments", content=chunks(), headers={"content-type": "application/json"}
    )
    assert error_of(streamed) == expected
    assert client.get("/experiments").json()["total"] == 0
    assert client.post("/experiments", json=small_spec(epochs=3)).status_code == 201


def small_spec(epochs: int) -> dict:
    spec = circles_spec(epochs=epochs)
    spec["model"]["layers"][0]["units"] = 10
    return spec
