"""Whether a fit gets its multi-hot rows as a scipy CSR matrix or as dense float32.

Measured on 2 CPU cores with 25,000 x 10,000 multi-hot rows (~200 words each), one epoch of
fit (batch 512) plus an evaluate of the same rows (Keras 3.15, TF-cpu 2.21, JAX 0.10; see
BENCHMARKS.md, "Multi-hot input"):
- 16-16-1 model: TensorFlow CSR 0.74 s + 0.52 s against TensorFlow dense 3.3-4.1 s + 3.2-3.7 s;
  JAX dense 0.56 s + 0.30 s, but JAX with CSR (Keras turns it into BCOO) 62-67 s + 0.13 s.
- 512-512-1 model: TensorFlow CSR 9.5-10.5 s + 3.8-4.0 s against dense 12.9-13.0 s + 5.7-6.3 s.
So CSR only pays on TensorFlow; JAX trains far faster on dense rows, and torch has no sparse
tensors in Keras at all.

Keras 3 hands a sparse input to the first layer as a sparse tensor. Dense is a matmul of its
input, which TensorFlow does sparse-dense; Dropout and BatchNormalization fail on it with a
TypeError at the first step (checked on Keras 3.15); the other layers want rows of another
rank, or change nothing here (Flatten). So only a model that starts with Dense gets CSR."""

from models.spec import ExperimentSpec
from models.spec_datasets import ImdbDataset, ReutersDataset


def wants_sparse_input(spec: ExperimentSpec, backend: str) -> bool:
    """True when the worker's Keras `backend` is TensorFlow, the dataset is imdb or reuters
    encoded multi_hot and the first layer is Dense."""
    dataset = spec.dataset
    return (
        backend == "tensorflow"
        and isinstance(dataset, ImdbDataset | ReutersDataset)
        and dataset.encoding == "multi_hot"
        and spec.model.layers[0].type == "Dense"
    )
