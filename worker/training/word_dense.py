"""WordDense: a Dense layer over multi-hot rows that arrive as their word indices.

It is keras.layers.Dense with the same arguments, the same (vocabulary, units) kernel and the
same weight creation (so a seeded fit starts from the same numbers), but its input is int32
word indices (-1 padded, see word_kernels.py) and its matmul is word_bag. Users never see it:
checkpoints and the final model are saved with a plain Dense in its place (see build.py)."""

from typing import Any

import keras

from worker.training.word_bag import UNJITTABLE, word_bag


class WordDense(keras.layers.Dense):
    def __init__(self, units: int, vocabulary: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.vocabulary = vocabulary
        # Keras compiles a TensorFlow model with XLA only if every layer supports it.
        self.supports_jit = keras.backend.backend() not in UNJITTABLE

    def build(self, input_shape: Any) -> None:
        super().build((None, self.vocabulary))
        self.input_spec = keras.InputSpec(ndim=2)  # (rows, width) of int32 indices

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = word_bag(self.kernel, inputs)
        if self.bias is not None:
            x = keras.ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return super().get_config() | {"vocabulary": self.vocabulary}

    def as_dense(self) -> keras.layers.Dense:
        """A built plain Dense with this layer's configuration and (copied) weights."""
        config = self.get_config()
        del config["vocabulary"]
        dense = keras.layers.Dense.from_config(config)
        dense.build((None, self.vocabulary))
        dense.set_weights(self.get_weights())
        return dense
