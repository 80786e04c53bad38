"""POST/GET /datasets on the real PostgreSQL, and experiments that train on uploads."""

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.experiments import service
from models.db import get_sessionmaker
from models.settings import get_settings
from models.spec_datasets import UploadedDataset
from models.store import get_store
from tests.helpers import (
    diabetes_csv,
    diabetes_spec,
    diabetes_table,
    error_of,
    npz_bytes,
    the_error,
)
from tests.integration.conftest import OWNER


def stored_bytes(key: str) -> bytes:
    return b"".join(get_store().open(key).chunks)


def upload(client: TestClient, content: bytes, filename: str = "diabetes.csv", **form: str) -> Any:
    return client.post("/datasets", files={"file": (filename, content)}, data=form)


def created(client: TestClient, content: bytes, filename: str = "data.csv", **form: str) -> dict:
    response = upload(client, content, filename, **form)
    assert response.status_code == 201, response.text
    return dict(response.json())


def problem(client: TestClient, content: bytes, filename: str = "bad.csv", **form: str) -> dict:
    """The one error of a rejected upload."""
    response = upload(client, content, filename, **form)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    return dict(error)


def test_diabetes_csv_is_parsed_and_stored(client: TestClient) -> None:
    response = upload(client, diabetes_csv(50), name="pima")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"].endswith(f"/datasets/{body['id']}")
    assert body | {"id": 0, "sha256": "", "created_at": ""} == {
        "id": 0, "name": "pima", "format": "csv", "filename": "diabetes.csv",
        "label": "Outcome", "rows": 50, "features": 8, "feature_shape": [8],
        "x_dtype": "float32", "y_dtype": "int32", "classes": [0, 1], "has_test": False,
        "test_rows": 0, "size_bytes": len(diabetes_csv(50)), "sha256": "", "created_at": "",
    }  # fmt: skip
    with np.load(io.BytesIO(stored_bytes(f"datasets/{body['sha256']}.npz"))) as stored:
        table = diabetes_table(50)
        np.testing.assert_allclose(stored["x"], table[:, :8].astype(np.float32))
        np.testing.assert_array_equal(stored["y"], table[:, 8].astype(np.int32))
        assert stored["x"].dtype == np.float32 and stored["y"].dtype == np.int32
    assert client.get(f"/datasets/{body['id']}").json() == body


def test_same_bytes_and_choices_give_the_same_dataset(client: TestClient) -> None:
    first = created(client, diabetes_csv(50))
    again = upload(client, diabetes_csv(50), "renamed.csv", name="another name")
    assert again.status_code == 200
    assert again.json() == first
    # Naming the default label column by name or index is the same choice.
    for label in ("Outcome", "8"):
        assert upload(client, diabetes_csv(50), label=label).json()["id"] == first["id"]
    assert client.get("/datasets").json()["total"] == 1


def test_label_by_index_picks_another_column(client: TestClient) -> None:
    default = created(client, diabetes_csv(50))
    by_index = created(client, diabetes_csv(50), label="0")
    assert by_index["id"] != default["id"]
    assert (by_index["label"], by_index["features"]) == ("Pregnancies", 8)
    expected = sorted({int(v) for v in diabetes_table(50)[:, 0]})
    assert by_index["classes"] == expected


def test_headerless_csv_names_columns_by_index(client: TestClient) -> None:
    body = created(client, diabetes_csv(30, header=False))
    assert (body["rows"], body["features"], body["label"]) == (30, 8, "8")
    first_column = created(client, diabetes_csv(30, header=False), label="0", header="no")
    assert first_column["label"] == "0"
    # Forcing "yes" turns the first data row into column names: one row fewer.
    assert created(client, diabetes_csv(30, header=False), header="yes")["rows"] == 29


def test_float_labels_are_float32_without_classes(client: TestClient) -> None:
    body = created(client, b"a,b,price\n1,2,3.5\n4,5,6.25\n7,8,9\n")
    assert (body["y_dtype"], body["classes"], body["features"]) == ("float32", None, 2)


def test_semicolons_blank_lines_and_a_bom_are_read(client: TestClient) -> None:
    content = "\ufeffx1;x2;y\r\n1;2;0\r\n\r\n3;4;1\r\n".encode()
    body = created(client, content)
    assert (body["rows"], body["label"], body["classes"]) == (2, "y", [0, 1])


def test_ragged_row_names_the_line_and_the_counts(client: TestClient) -> None:
    error = problem(client, b"a,b,c\n1,2,3\n4,5\n")
    assert (error["path"], error["type"]) == ("file", "ragged_row")
    assert error["msg"] == "line 3 has 2 columns, expected 3"
    assert error["ctx"] == {"line": 3, "expected": 3, "got": 2}


def test_non_numeric_cell_names_line_column_and_cell(client: TestClient) -> None:
    error = problem(client, b"a,b,c\n1,2,3\n4,five,6\n")
    assert error["type"] == "not_a_number"
    assert error["msg"] == "line 3, column 'b' (1): 'five' is not a number"
    assert error["ctx"]["cell"] == "five"


def test_missing_label_column_lists_the_columns(client: TestClient) -> None:
    error = problem(client, diabetes_csv(5), label="Diabetic")
    assert (error["path"], error["type"]) == ("label", "label_not_found")
    assert "'Diabetic' not found" in error["msg"]
    assert "Pregnancies, Glucose" in error["msg"] and "Outcome" in error["msg"]
    assert error["ctx"]["columns"][-1] == "Outcome"
    out_of_range = problem(client, diabetes_csv(5), label="9")
    assert out_of_range["type"] == "label_out_of_range"


@pytest.mark.parametrize(
    ("content", "kind", "words"),
    [
        (b"a,b\n1,2\nnan,3\n", "not_finite", "line 3, column 'a' (0): 'nan' is not a finite"),
        (b"a,b\n1,2\n3,1e39\n", "not_finite", "line 3, column 'b' (1)"),
        (b"a,b\n1,2\n3,\n", "empty_cell", "line 3, column 'b' (1) is empty"),
        (b"", "empty_file", "the file is empty"),
        (b"\n\n", "empty_file", "the file holds no rows"),
        (b"a,b,c\n", "no_rows", "no data rows"),
        (b"a\n1\n", "too_few_columns", "at least 2 columns"),
        (b'a,b\n"1,2\n', "csv_syntax", "line"),
        (b"a,b\n\xff\xfe,1\n", "not_text", "not UTF-8"),
    ],
)
def test_malformed_csv_is_422_naming_the_problem(
    client: TestClient, content: bytes, kind: str, words: str
) -> None:
    error = problem(client, content)
    assert error["type"] == kind, error
    assert words in error["msg"], error
    assert client.get("/datasets").json()["total"] == 0


def test_form_fields_are_validated(client: TestClient) -> None:
    response = upload(client, diabetes_csv(5), header="maybe")
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "header"
    missing = client.post("/datasets", data={"name": "no file"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["path"] == "file"


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("FITQ_MAX_UPLOAD_BYTES", "2048")
    get_settings.cache_clear()
    yield 2048
    monkeypatch.undo()
    get_settings.cache_clear()


def test_over_the_size_limit_is_413(client: TestClient, small_limit: int) -> None:
    just_over = diabetes_csv(80)  # over the limit, within the form's allowance
    assert small_limit < len(just_over) < small_limit + 64 * 1024
    response = upload(client, just_over)
    assert response.status_code == 413
    error = the_error(response)
    assert error["msg"] == "the upload is larger than 2048 bytes (FITQ_MAX_UPLOAD_BYTES)"
    assert (error["path"], error["type"]) == ("file", "too_large")
    # Far over: refused while the body streams in, before it is parsed.
    assert upload(client, diabetes_csv(5000)).status_code == 413
    assert created(client, diabetes_csv(20))["rows"] == 20
    assert client.get("/datasets").json()["total"] == 1


def test_too_many_rows_is_413(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITQ_MAX_DATASET_ROWS", "10")
    get_settings.cache_clear()
    try:
        response = upload(client, diabetes_csv(11))
        assert response.status_code == 413
        error = the_error(response)
        assert "more than 10 rows" in error["msg"] and error["path"] == "file"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_npz_with_images_and_a_test_split(client: TestClient) -> None:
    rng = np.random.default_rng(1)
    content = npz_bytes(
        x=rng.random((40, 4, 4, 1)), y=rng.integers(0, 3, 40),
        x_test=rng.random((10, 4, 4, 1)), y_test=np.full(10, 3),
    )  # fmt: skip
    body = created(client, content, "images.npz")
    assert body["format"] == "npz" and body["label"] is None
    assert (body["rows"], body["features"], body["feature_shape"]) == (40, 16, [4, 4, 1])
    assert (body["has_test"], body["test_rows"]) == (True, 10)
    assert (body["x_dtype"], body["y_dtype"], body["classes"]) == ("float32", "int32", [0, 1, 2, 3])
    # Recognized by its bytes, whatever its name.
    assert upload(client, content, "renamed.bin").json()["id"] == body["id"]


def test_npz_one_hot_labels_are_2d(client: TestClient) -> None:
    body = created(client, npz_bytes(x=np.ones((6, 3)), y=np.eye(3)[[0, 1, 2, 0, 1, 2]]), "a.npz")
    assert (body["y_dtype"], body["classes"], body["features"]) == ("int32", None, 3)


def test_npz_splits_share_one_label_type(client: TestClient) -> None:
    x = np.ones((3, 2))
    content = npz_bytes(x=x, y=np.array([0, 1, 2]), x_test=x, y_test=np.array([0.5, 1, 2]))
    body = created(client, content, "mixed.npz")
    assert (body["y_dtype"], body["classes"]) == ("float32", None)


@pytest.mark.parametrize(
    ("arrays", "kind", "words"),
    [
        ({"x": np.ones((4, 2))}, "npz_missing_arrays", "missing array y"),
        ({"x": np.ones((4, 2)), "y": np.ones(3)}, "npz_shape", "x has 4 samples but y has 3"),
        ({"x": np.ones((4, 2)), "y": np.ones((4, 2, 2))}, "npz_shape", "y has shape (4, 2, 2)"),
        ({"x": np.ones(4), "y": np.ones(4)}, "npz_shape", "x has shape (4,)"),
        ({"x": np.ones((4, 2)), "y": np.ones(4), "x_test": np.ones((2, 2))}, "npz_missing_arrays",
         "x_test and y_test come together"),
        ({"x": np.ones((4, 2)), "y": np.ones(4), "x_test": np.ones((2, 3)), "y_test": np.ones(2)},
         "npz_shape", "x_test has shape (2, 3)"),
        ({"X": np.ones((4, 2)), "y": np.ones(4)}, "npz_unknown_arrays", "unexpected arrays X"),
        ({"x": np.array([[1.0, np.nan]]), "y": np.ones(1)}, "not_finite", "x[0, 1] is nan"),
        ({"x": np.array([["a", "b"]]), "y": np.ones(1)}, "npz_dtype", "dtype <U1"),
        ({"x": np.array([[{}]], dtype=object), "y": np.ones(1)}, "npz_invalid", "pickle"),
    ],
)  # fmt: skip
def test_malformed_npz_is_422_naming_the_problem(
    client: TestClient, arrays: dict[str, np.ndarray], kind: str, words: str
) -> None:
    error = problem(client, npz_bytes(**arrays), "bad.npz")
    assert error["type"] == kind, error
    assert words in error["msg"], error


def test_not_a_zip_named_npz_and_label_on_npz_are_422(client: TestClient) -> None:
    assert problem(client, b"1,2\n3,4\n", "data.npz")["type"] == "npz_invalid"
    npz = npz_bytes(x=np.ones((2, 2)), y=np.ones(2))
    assert problem(client, npz, "a.npz", label="y")["path"] == "label"


def test_list_is_newest_first_and_paginated_and_unknown_is_404(client: TestClient) -> None:
    ids = [created(client, diabetes_csv(10, seed=i))["id"] for i in range(3)]
    page = client.get("/datasets", params={"limit": 2}).json()
    assert [d["id"] for d in page["items"]] == [ids[2], ids[1]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    rest = client.get("/datasets", params={"limit": 2, "offset": 2}).json()
    assert [d["id"] for d in rest["items"]] == [ids[0]]
    assert client.get(f"/datasets/{ids[0]}").json()["rows"] == 10
    missing = client.get("/datasets/7")
    assert missing.status_code == 404
    assert error_of(missing) == (404, "path.dataset_id", "dataset 7 not found", "not_found")


def test_experiment_on_an_unknown_upload_is_422_naming_dataset_id(client: TestClient) -> None:
    response = client.post("/experiments", json=diabetes_spec(dataset_id=999))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["path"] == "dataset.dataset_id"
    assert error["msg"] == "dataset 999 not found; upload one with POST /datasets"
    assert error["loc"] == ["body", "dataset", "dataset_id"]
    assert client.get("/experiments").json()["total"] == 0


def test_experiment_test_split_needs_an_upload_with_one(client: TestClient) -> None:
    csv_id = created(client, diabetes_csv(20))["id"]
    spec = diabetes_spec(csv_id)
    spec["dataset"]["test_split"] = "evaluation"
    response = client.post("/experiments", json=spec)
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "dataset.test_split"
    assert client.post("/experiments", json=diabetes_spec(csv_id)).status_code == 201

    npz = npz_bytes(x=np.ones((4, 2)), y=np.ones(4), x_test=np.ones((2, 2)), y_test=np.ones(2))
    spec = diabetes_spec(created(client, npz, "t.npz")["id"])
    spec["dataset"]["test_split"] = "evaluation"
    assert client.post("/experiments", json=spec).status_code == 201


def test_dataset_input_shape_comes_from_the_stored_upload(client: TestClient) -> None:
    npz = npz_bytes(x=np.ones((4, 5, 5, 1)), y=np.ones(4))
    dataset_id = created(client, npz, "img.npz")["id"]
    with get_sessionmaker()() as session:
        uploaded = UploadedDataset(name="upload", dataset_id=dataset_id)
        shape = service.dataset_input_shape(session, uploaded, OWNER)
        assert shape == (5, 5, 1)
        unknown = UploadedDataset(name="upload", dataset_id=dataset_id + 1)
        assert service.dataset_input_shape(session, unknown, OWNER) is None
        assert service.dataset_input_shape(session, uploaded, "bob") is None
