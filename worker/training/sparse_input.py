"""How a fit gets its multi-hot rows: dense float32, a scipy CSR matrix, or word indices.

Measured on this project's 2-core machine (BENCHMARKS.md, "Multi-hot input"): 25,000 x 10,000
multi-hot rows, seconds per epoch of fit (batch 512) + evaluate of the same rows:
- 16-16-1: TensorFlow CSR 0.78 + 0.56 against TensorFlow dense 3.16 + 2.74; JAX dense
  0.83 + 0.47, but JAX CSR (Keras makes it BCOO) 62-67 s of fit on a quiet machine.
- 512-512-1: TensorFlow CSR 17.7 + 8.0 against dense 19.8 + 10.0; JAX dense 10.2 + 5.2.
The side-by-side benchmark then fitted the IMDB notebook's five models on TensorFlow, bare
(dense float64) against fitq (CSR): 16-16 41.5 / 41.2 s, 4-4 36.9 / 28.2 s, L2 35.4 / 38.4 s,
dropout 41.8 / 39.1 s, but 512-512 219 / 499 s: TensorFlow's sparse-dense matmul (and its
gradient) loses to the dense one for a wide layer. So on TensorFlow CSR goes only to a first
Dense of at most SPARSE_MAX_UNITS units, where it is as fast and holds ~14 MB instead of ~1 GB.

On JAX on the CPU a first Dense gets word indices instead (WordDense, word_kernels.py): its
matmul is a sum of kernel rows, numba-compiled, 5x (512 units) to 4x (16 units) faster than
XLA's dense matmul per training step. On a GPU the kernel would cross to the host and back
every step, so JAX there keeps dense rows, and so does torch (no sparse tensors in Keras,
nothing measured).

Keras 3 hands a sparse input to the first layer as a sparse tensor. Dense is a matmul of its
input, which TensorFlow does sparse-dense; Dropout and BatchNormalization fail on it with a
TypeError at the first step (checked on Keras 3.15); the other layers want rows of another
rank, or change nothing here (Flatten). So only a model that starts with Dense gets CSR or
word indices."""

from typing import Literal

from models.spec import ExperimentSpec
from models.spec_datasets import ImdbDataset, ReutersDataset

SPARSE_MAX_UNITS = 64
InputEncoding = Literal["dense", "csr", "words"]


def input_encoding(spec: ExperimentSpec, backend: str, on_cpu: bool = True) -> InputEncoding:
    """How multi-hot rows go in when the dataset is imdb or reuters encoded multi_hot and the
    first layer is a Dense: as word indices on JAX on the CPU (`on_cpu`: the backend computes
    there), as CSR on TensorFlow into at most SPARSE_MAX_UNITS units. Otherwise dense."""
    dataset = spec.dataset
    first = spec.model.layers[0]
    multi_hot_into_dense = (
        isinstance(dataset, ImdbDataset | ReutersDataset)
        and dataset.encoding == "multi_hot"
        and first.type == "Dense"
    )
    if not multi_hot_into_dense:
        return "dense"
    if backend == "jax":
        return "words" if on_cpu else "dense"
    units = getattr(first, "units", SPARSE_MAX_UNITS + 1)
    return "csr" if backend == "tensorflow" and units <= SPARSE_MAX_UNITS else "dense"
