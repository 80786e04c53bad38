"""A Dense layer's matmul for multi-hot rows given as their word indices, and its gradient.

A multi-hot row has a 1 at each word the review contains, so `row @ kernel` is the sum of
the kernel's rows at those words. For the IMDB notebook's rows (10,000 columns, ~100-200
distinct words) that is ~1-2% of the dense matmul's work. XLA on CPU runs the gather and
scatter-add such a sum needs at ~0.3 G elements/s (no faster than the dense matmul for a
512-unit layer, measured here), so the two loops are numba-compiled instead: 512 rows x
512 units took 7.8 ms forward and 34 ms forward + gradient against 146 ms and 185 ms for
XLA's dense matmul on this 2-core machine (BENCHMARKS.md, "Multi-hot input").

`words` is int32 (rows, width): each row's word indices in ascending order, then -1 to the
end of the row. Each row's sum runs in one fixed order, so results repeat exactly."""

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def word_sums(kernel: np.ndarray, words: np.ndarray) -> np.ndarray:
    """(rows, units): for each row, the sum of kernel[w] over its words w."""
    rows, width = words.shape
    units = kernel.shape[1]
    out = np.zeros((rows, units), dtype=kernel.dtype)
    for r in numba.prange(rows):
        for i in range(width):
            w = words[r, i]
            if w < 0:
                break
            for u in range(units):
                out[r, u] += kernel[w, u]
    return out


def kernel_gradient(grad: np.ndarray, words: np.ndarray, vocabulary: int) -> np.ndarray:
    """(vocabulary, units): d(loss)/d(kernel) given d(loss)/d(word_sums) `grad`; row w is the
    sum of grad[r] over the rows r that contain word w."""
    return _kernel_gradient(grad, words, vocabulary, numba.get_num_threads())


@numba.njit(parallel=True, cache=True)
def _kernel_gradient(
    grad: np.ndarray, words: np.ndarray, vocabulary: int, slices: int
) -> np.ndarray:
    """Each of `slices` threads owns a slice of the vocabulary and scans every row, so no two
    threads add into one kernel row (and each row's sum runs in row order)."""
    rows, width = words.shape
    units = grad.shape[1]
    out = np.zeros((vocabulary, units), dtype=grad.dtype)
    for s in numba.prange(slices):
        low, high = s * vocabulary // slices, (s + 1) * vocabulary // slices
        for r in range(rows):
            for i in range(width):
                w = words[r, i]
                if w < 0:
                    break
                if low <= w < high:
                    for u in range(units):
                        out[w, u] += grad[r, u]
    return out


def warm_up() -> None:
    """Compile both loops for float32 kernels now (or load them from numba's cache): a pool
    process does this at start, so the first job's first step does not. numba compiles
    read-only arrays (what JAX hands a callback) apart from writable ones (TensorFlow's)."""
    for writable in (False, True):
        kernel = np.zeros((3, 2), dtype=np.float32)
        words = np.array([[0, 2], [1, -1]], dtype=np.int32)
        kernel.flags.writeable = words.flags.writeable = writable
        sums = word_sums(kernel, words)
        sums.flags.writeable = writable
        kernel_gradient(sums, words, 3)
