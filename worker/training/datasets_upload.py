"""Datasets uploaded through POST /datasets: the API parsed and checked them and stored the
arrays as an NPZ under the data directory; here they are only read back."""

import numpy as np

from models.db import session_scope
from models.settings import get_settings
from models.spec_datasets import UploadedDataset
from models.tables import Dataset
from worker.training.dataset_registry import register
from worker.training.splits import RawSplits


@register("upload")
def upload(spec: UploadedDataset) -> RawSplits:
    with session_scope() as session:
        stored = session.get(Dataset, spec.dataset_id)
        relative = None if stored is None else stored.path
    if relative is None:
        raise ValueError(f"dataset {spec.dataset_id} not found: upload it with POST /datasets")
    path = get_settings().data_dir / relative
    if not path.is_file():
        # The row outlived its file (a data directory not shared with the API, or cleaned).
        raise ValueError(f"dataset {spec.dataset_id}: its stored file {path} is missing")
    with np.load(path, allow_pickle=False) as arrays:
        x_test = arrays["x_test"] if "x_test" in arrays.files else None
        y_test = arrays["y_test"] if "y_test" in arrays.files else None
        return RawSplits(arrays["x"], arrays["y"], x_test, y_test)
