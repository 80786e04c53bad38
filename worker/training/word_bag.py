"""`word_bag(kernel, words)`: multi-hot rows (given as word indices, see word_kernels.py)
times `kernel`, on any Keras backend.

On JAX and TensorFlow it is a custom-gradient op whose two halves are the numba loops, called
through jax.pure_callback or tf.numpy_function; elsewhere (torch) it is keras.ops (a gather, a
mask and a sum), which is correct but not tuned, so the worker picks the word-index input
only on JAX and TensorFlow (sparse_input.py)."""

import threading
from functools import cache, partial
from typing import Any

import keras
import numpy as np
from keras import ops

from worker.training import word_kernels
from worker.training.sparse_input import WORD_INDEX_BACKENDS

# numba's default threading layer (workqueue) aborts if two threads enter it at once; JAX
# may run host callbacks from more than one thread, so each call holds this lock.
_numba_lock = threading.Lock()


def word_bag(kernel: Any, words: Any) -> Any:
    backend = keras.backend.backend()
    if backend in _OPS and np.dtype(kernel.dtype) in _NUMBA_DTYPES:
        # The kernel is a Keras variable; the op wants its (traced) array.
        return _OPS[backend]()(ops.convert_to_tensor(kernel), words)
    return gathered_word_bag(kernel, words)


def gathered_word_bag(kernel: Any, words: Any) -> Any:
    """word_bag in keras.ops, for any backend: it gathers (rows, width, units) first."""
    present = ops.greater_equal(words, 0)
    picked = ops.take(kernel, ops.where(present, words, 0), axis=0)  # (rows, width, units)
    mask = ops.expand_dims(ops.cast(present, kernel.dtype), -1)
    return ops.sum(picked * mask, axis=1)


_NUMBA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
UNJITTABLE = ("tensorflow",)  # XLA cannot compile tf.numpy_function (WordDense.supports_jit)


def _sums(kernel: np.ndarray, words: np.ndarray) -> np.ndarray:
    with _numba_lock:
        return word_kernels.word_sums(np.asarray(kernel), np.asarray(words))


def _gradient(vocabulary: int, grad: np.ndarray, words: np.ndarray) -> np.ndarray:
    with _numba_lock:
        return word_kernels.kernel_gradient(np.asarray(grad), np.asarray(words), vocabulary)


@cache
def _jax_word_bag() -> Any:
    """The JAX op, made on first use (jax is imported only on JAX workers)."""
    import jax

    @jax.custom_vjp
    def bag(kernel: Any, words: Any) -> Any:
        shape = jax.ShapeDtypeStruct((words.shape[0], kernel.shape[1]), kernel.dtype)
        return jax.pure_callback(_sums, shape, kernel, words, vmap_method="sequential")

    def forward(kernel: Any, words: Any) -> tuple[Any, Any]:
        return bag(kernel, words), (words, kernel.shape[0])

    def backward(saved: Any, grad: Any) -> tuple[Any, None]:
        words, vocabulary = saved
        shape = jax.ShapeDtypeStruct((vocabulary, grad.shape[1]), grad.dtype)
        host = partial(_gradient, vocabulary)
        return jax.pure_callback(host, shape, grad, words, vmap_method="sequential"), None

    bag.defvjp(forward, backward)
    return bag


@cache
def _tf_word_bag() -> Any:
    """The TensorFlow op, made on first use (TensorFlow is imported only on its workers)."""
    import tensorflow as tf

    @tf.custom_gradient
    def bag(kernel: Any, words: Any) -> Any:
        sums = tf.numpy_function(_sums, [kernel, words], kernel.dtype, stateful=False)
        sums.set_shape([words.shape[0], kernel.shape[1]])
        vocabulary = int(kernel.shape[0])

        def gradient(grad: Any) -> tuple[Any, None]:
            host = partial(_gradient, vocabulary)
            out = tf.numpy_function(host, [grad, words], grad.dtype, stateful=False)
            out.set_shape(kernel.shape)
            return out, None

        return sums, gradient

    return bag


_OPS = dict(zip(WORD_INDEX_BACKENDS, (_jax_word_bag, _tf_word_bag), strict=True))
