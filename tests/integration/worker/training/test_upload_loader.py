"""The worker's "upload" loader reads back what POST /datasets stored."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.spec_datasets import UploadedDataset
from models.store import get_store
from tests.helpers import diabetes_csv, diabetes_table, npz_bytes
from worker.training.data import load_dataset


def stored_id(client: TestClient, content: bytes, filename: str) -> int:
    response = client.post("/datasets", files={"file": (filename, content)})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_csv_upload_loads_as_training_arrays(client: TestClient) -> None:
    dataset_id = stored_id(client, diabetes_csv(50), "diabetes.csv")
    data = load_dataset(UploadedDataset(name="upload", dataset_id=dataset_id))
    table = diabetes_table(50)
    np.testing.assert_allclose(data.x_train, table[:, :8].astype(np.float32))
    np.testing.assert_array_equal(data.y_train, table[:, 8].astype(np.int32))
    assert (data.input_shape, data.validation, data.test) == ((8,), None, None)
    standardized = load_dataset(
        UploadedDataset(name="upload", dataset_id=dataset_id, standardize=True)
    )
    np.testing.assert_allclose(standardized.x_train.mean(axis=0), 0, atol=1e-5)


def test_an_npz_test_split_validates_or_evaluates(client: TestClient) -> None:
    rng = np.random.default_rng(0)
    x, x_test = rng.random((20, 3, 3)), rng.random((5, 3, 3))
    content = npz_bytes(x=x, y=np.arange(20) % 2, x_test=x_test, y_test=np.arange(5) % 2)
    dataset_id = stored_id(client, content, "grid.npz")
    validating = load_dataset(
        UploadedDataset(name="upload", dataset_id=dataset_id, test_split="validation")
    )
    assert validating.input_shape == (3, 3)
    assert validating.validation is not None
    np.testing.assert_allclose(validating.validation[0], x_test.astype(np.float32))
    evaluating = load_dataset(
        UploadedDataset(name="upload", dataset_id=dataset_id, test_split="evaluation")
    )
    assert evaluating.test is not None and evaluating.validation is None


def test_unknown_id_or_missing_file_is_a_clear_error(client: TestClient) -> None:
    with pytest.raises(ValueError, match="dataset 4242 not found"):
        load_dataset(UploadedDataset(name="upload", dataset_id=4242))
    dataset_id = stored_id(client, diabetes_csv(10, seed=3), "gone.csv")
    sha256 = client.get(f"/datasets/{dataset_id}").json()["sha256"]
    key = f"datasets/{sha256}.npz"
    get_store().delete(key)
    with pytest.raises(ValueError, match=f"dataset {dataset_id}: its stored file .* is missing"):
        load_dataset(UploadedDataset(name="upload", dataset_id=dataset_id))
    # Uploading the same file again puts the object back.
    again = client.post("/datasets", files={"file": ("gone.csv", diabetes_csv(10, seed=3))})
    assert again.status_code == 200 and get_store().exists(key)
