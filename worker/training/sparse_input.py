"""Whether a fit gets its multi-hot rows as a scipy CSR matrix or as dense float32.

Measured on this project's 2-core machine (BENCHMARKS.md, "Multi-hot input"): 25,000 x 10,000
multi-hot rows, seconds per epoch of fit (batch 512) + evaluate of the same rows:
- 16-16-1: TensorFlow CSR 0.78 + 0.56 against TensorFlow dense 3.16 + 2.74; JAX dense
  0.83 + 0.47, but JAX CSR (Keras makes it BCOO) 62-67 s of fit on a quiet machine.
- 512-512-1: TensorFlow CSR 17.7 + 8.0 against dense 19.8 + 10.0; JAX dense 10.2 + 5.2.
So CSR pays on TensorFlow and is a disaster on JAX's training path; JAX keeps dense rows,
and so does torch, which has no sparse tensors in Keras.

The side-by-side benchmark (2026-11-23, quieter machine) then fitted the IMDB notebook's five
models for 20 epochs each on TensorFlow, bare (dense float64) against fitq (CSR): 16-16
41.5 / 41.2 s, 4-4 36.9 / 28.2 s, L2 35.4 / 38.4 s, dropout 41.8 / 39.1 s, but 512-512
219 / 499 s: TensorFlow's sparse-dense matmul (and its gradient) loses to the dense one for a
wide layer. So CSR goes only to a first Dense of at most SPARSE_MAX_UNITS units, where it is
as fast and holds ~14 MB instead of ~1 GB per 25,000 rows.

Keras 3 hands a sparse input to the first layer as a sparse tensor. Dense is a matmul of its
input, which TensorFlow does sparse-dense; Dropout and BatchNormalization fail on it with a
TypeError at the first step (checked on Keras 3.15); the other layers want rows of another
rank, or change nothing here (Flatten). So only a model that starts with Dense gets CSR."""

from models.spec import ExperimentSpec
from models.spec_datasets import ImdbDataset, ReutersDataset

SPARSE_MAX_UNITS = 64


def wants_sparse_input(spec: ExperimentSpec, backend: str) -> bool:
    """True when the worker's Keras `backend` is TensorFlow, the dataset is imdb or reuters
    encoded multi_hot and the first layer is a Dense of at most SPARSE_MAX_UNITS units."""
    dataset = spec.dataset
    first = spec.model.layers[0]
    return (
        backend == "tensorflow"
        and isinstance(dataset, ImdbDataset | ReutersDataset)
        and dataset.encoding == "multi_hot"
        and first.type == "Dense"
        and getattr(first, "units", SPARSE_MAX_UNITS + 1) <= SPARSE_MAX_UNITS
    )
