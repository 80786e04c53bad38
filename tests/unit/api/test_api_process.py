"""The API process never imports TensorFlow or Keras, and its OpenAPI document is complete."""

import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.helpers import ROOT

CHECK = """
import sys

import pytest
from fastapi.testclient import TestClient
import api.cli, api.main
client = TestClient(api.main.create_app())
assert client.get("/openapi.json").status_code == 200
client.post("/experiments", json={"model": 1})  # exercise validation without a database
client.post("/datasets", data={"header": "maybe"})  # and the upload route's
worker_only = ("tensorflow", "keras", "jax", "torch", "numba")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in worker_only)
print(heavy)
assert not heavy, heavy
"""


def test_api_never_imports_tensorflow_or_keras() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def response_example(document: dict, content: dict) -> object:
    """The example of a JSON response's schema (its own, or its items' for a list)."""
    schema = content["application/json"]["schema"]
    schema = schema.get("items", schema)
    name = schema["$ref"].rsplit("/", 1)[-1]
    return document["components"]["schemas"][name].get("examples")


def assert_request_body_documented(document: dict, content: dict, where: str) -> None:
    """A JSON body's schema carries an example; a form (a file upload) describes each field."""
    if "application/json" in content:
        name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert document["components"]["schemas"][name].get("examples"), where
        return
    name = content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    fields = document["components"]["schemas"][name]["properties"]
    for field, schema in fields.items():
        assert schema.get("description"), f"{where}: form field {field}"


def test_every_operation_is_documented() -> None:
    document = TestClient(create_app()).get("/openapi.json").json()
    operation_ids = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            operation_ids.append(operation["operationId"])
            assert operation.get("tags"), where
            assert operation.get("summary"), where
            if method == "delete":  # a delete answers 204 with no body
                assert "content" not in operation["responses"]["204"], where
                continue
            ok = operation["responses"].get("200") or operation["responses"].get("201")
            assert ok is not None, where
            content = ok["content"]
            # JSON, a PNG plot, a .keras download, a CSV history or an event stream
            binary = {"image/png", "application/octet-stream", "text/csv", "text/event-stream"}
            assert "application/json" in content or binary & content.keys(), where
            if "application/json" in content:
                assert response_example(document, content), where
            if "requestBody" in operation:
                assert_request_body_documented(document, operation["requestBody"]["content"], where)
    assert len(operation_ids) == len(set(operation_ids))
    schemas = document["components"]["schemas"]
    for name in (
        "ExperimentCreate", "ExperimentRead", "EpochRow", "HealthRead", "ErrorRead",
        "DatasetRead", "DatasetPage", "DiagnosisRead",
    ):  # fmt: skip
        assert schemas[name].get("examples"), name


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_work_offline(page: str) -> None:
    client = TestClient(create_app())
    response = client.get(page)
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert any(asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        # A CDN address leaves the page blank offline: every asset comes from the API.
        assert asset.startswith("/"), asset
        served = client.get(asset)
        assert served.status_code == 200 and served.content, asset
