"""Datasets uploaded through POST /datasets: the API parsed and checked them and put the
arrays, as an NPZ under their content address, into the artifact store; here they are read
back, through a folder of this worker's own (FITQ_DATA_DIR/datasets) that keeps a copy of each
one fetched. The copy can never be stale: another content is another address."""

from pathlib import Path

import numpy as np

from models.db import session_scope
from models.settings import get_settings
from models.spec_datasets import UploadedDataset
from models.store import ArtifactMissingError, get_store
from models.tables import Dataset
from worker.training.dataset_registry import register
from worker.training.splits import RawSplits


@register("upload")
def upload(spec: UploadedDataset) -> RawSplits:
    with session_scope() as session:
        stored = session.get(Dataset, spec.dataset_id)
        key = None if stored is None else stored.path
    if key is None:
        raise ValueError(f"dataset {spec.dataset_id} not found: upload it with POST /datasets")
    with np.load(local_copy(spec.dataset_id, key), allow_pickle=False) as arrays:
        x_test = arrays["x_test"] if "x_test" in arrays.files else None
        y_test = arrays["y_test"] if "y_test" in arrays.files else None
        return RawSplits(arrays["x"], arrays["y"], x_test, y_test)


def local_copy(dataset_id: int, key: str) -> Path:
    """A file on this machine holding the upload: the store's own where it is a folder, else
    this worker's copy, fetched from the store the first time. Uploads made before the
    artifact store lay where the copies go now, and are found there."""
    store = get_store()
    in_store = store.local_path(key)
    if in_store is not None:
        return in_store
    copy = get_settings().data_dir / key
    if not copy.is_file():
        try:
            store.get_file(key, copy)
        except ArtifactMissingError:
            # The row outlived its object (deleted from the store by hand, or another store).
            raise ValueError(f"dataset {dataset_id}: its stored file {key} is missing") from None
    return copy
