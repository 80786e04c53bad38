from api.core.errors import json_path


def test_union_tags_are_not_part_of_the_path() -> None:
    body = {"model": {"layers": [{"type": "Dense", "units": 0}]}}
    assert json_path(("model", "layers", 0, "Dense", "units"), body) == "model.layers[0].units"


def test_a_key_that_looks_like_a_tag_stays() -> None:
    body = {"dataset": {"name": "circles", "circles": 1}}
    assert json_path(("dataset", "circles"), body) == "dataset.circles"


def test_missing_fields_and_scalars() -> None:
    assert json_path(("fit", "epochs"), {"fit": {}}) == "fit.epochs"
    assert json_path(("fit", "epochs"), {}) == "fit.epochs"
    body = {"compile": {"optimizer": "adamx"}}
    assert json_path(("compile", "optimizer", "name"), body) == "compile.optimizer"
    assert json_path((), body) == "(body)"


def test_an_unexpected_failure_is_a_500_in_the_one_shape() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.core import errors

    app = FastAPI()
    errors.install(app)

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert response.status_code == 500
    assert response.json() == {
        "detail": [
            {
                "path": "(server)",
                "msg": "internal server error",
                "type": "internal_error",
                "loc": [],
            }
        ]
    }
