"""How a fit gets its multi-hot rows: dense float32, or word indices.

History, measured on this project's 2-core machine (BENCHMARKS.md, "Multi-hot input"):
- TensorFlow took CSR rows into a sparse input: for the IMDB notebook's 16-16 models 4x faster
  than dense rows, but for the 512-512 model its sparse matmul lost (499 s against 219 s), so
  only a first Dense of at most 64 units got CSR. JAX trained 100x slower on CSR (Keras
  makes it BCOO) than on dense rows, so JAX took dense float32. No worker takes CSR any more;
  bench/multihot.py still builds and fits it, with a sparse model of its own, for comparison.
- Word indices into WordDense (word_kernels.py: the matmul as a sum of kernel rows, in numba
  loops) beat both on both backends: per epoch of the IMDB-shaped data, 16-16 on TensorFlow
  0.7-0.8 s against 2.7-5.0 s on CSR; 512-512 on TensorFlow 6.6 s against 18-19 s dense, on
  JAX 4.9-5.7 s against 8.3-11.7 s dense (under load; the curves equal to 1e-4).
On a GPU the loops would pull the kernel to the host every step, so there the rows stay
dense; torch has no op for them (keras.ops' gather path is correct but not tuned).

Only a model that starts with Dense gets word indices: the first layer must be the matmul
the indices stand for."""

from typing import Literal

from models.spec import ExperimentSpec
from models.spec_datasets import ImdbDataset, ReutersDataset

InputEncoding = Literal["dense", "words"]
# The backends with a word-index op (word_bag.py); a pool process of them warms the loops.
WORD_INDEX_BACKENDS = ("jax", "tensorflow")


def input_encoding(spec: ExperimentSpec, backend: str, on_cpu: bool = True) -> InputEncoding:
    """How multi-hot rows go in: as word indices into a WordDense when the dataset is imdb or
    reuters encoded multi_hot, the first layer is a Dense and the backend is JAX or
    TensorFlow computing on the CPU (`on_cpu`); dense float32 otherwise."""
    dataset = spec.dataset
    multi_hot_into_dense = (
        isinstance(dataset, ImdbDataset | ReutersDataset)
        and dataset.encoding == "multi_hot"
        and spec.model.layers[0].type == "Dense"
    )
    if multi_hot_into_dense and on_cpu and backend in WORD_INDEX_BACKENDS:
        return "words"
    return "dense"
