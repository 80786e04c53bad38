"""Each layer's output shape and parameter count, computed the way Keras 3 computes them, in
pure Python: the API checks a spec against its dataset at submit time and must never import
TensorFlow or Keras. Shapes leave out the batch axis. tests/unit/models/test_shapes.py holds
these numbers to real Keras models, so a Keras upgrade that changes them fails there first.

A mismatch raises ShapeError naming the layer and explaining it in the spec's own terms."""

from collections.abc import Sequence
from dataclasses import dataclass

from models.shapes_rules import RULES, MismatchError, Shape
from models.spec_datasets import describe_input, gives_word_indices
from models.spec_layers import GRU, LSTM, Embedding, Layer

# The rank (batch axis excluded) a layer needs; layers not named here take any rank.
_RANKS = {
    "Conv1D": 2, "MaxPooling1D": 2, "GlobalAveragePooling1D": 2, "GlobalMaxPooling1D": 2,
    "SpatialDropout1D": 2, "LSTM": 2, "GRU": 2,
    "Conv2D": 3, "MaxPooling2D": 3, "GlobalAveragePooling2D": 3, "GlobalMaxPooling2D": 3,
    "SpatialDropout2D": 3, "SpatialDropout3D": 4,
}  # fmt: skip
_SHAPED = {
    1: "vectors shaped (features,)",
    2: "sequences shaped (steps, features)",
    3: "images shaped (height, width, channels)",
    4: "volumes shaped (depth, height, width, channels)",
}
_NOUNS = {1: "flat vectors", 2: "sequences", 3: "images", 4: "volumes"}


class ShapeError(ValueError):
    """A layer cannot take the shape it would get. `index` is its position in model.layers."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"model.layers[{index}]: {message}")
        self.index = index
        self.message = message

    @property
    def path(self) -> str:
        return f"model.layers[{self.index}]"


@dataclass(frozen=True)
class LayerShape:
    type: str
    output_shape: Shape
    params: int
    trainable_params: int


@dataclass(frozen=True)
class _Reducer:
    """The last layer that turned higher-rank data into vectors: what a hint points at."""

    index: int
    type: str
    recurrent: bool


def infer(input_shape: Sequence[int], layers: Sequence[Layer]) -> list[LayerShape]:
    """Shapes and parameter counts of `layers` fed with samples shaped `input_shape`."""
    shape: Shape = tuple(int(d) for d in input_shape)
    reducer: _Reducer | None = None
    result = []
    for index, layer in enumerate(layers):
        try:
            _check_rank(layer, index, shape, reducer)
            output, params, trainable = RULES[type(layer)](layer, shape)
        except MismatchError as mismatch:
            raise ShapeError(index, str(mismatch)) from None
        if len(output) == 1 and len(shape) > 1:
            reducer = _Reducer(index, layer.type, isinstance(layer, LSTM | GRU))
        result.append(LayerShape(layer.type, output, params, trainable))
        shape = output
    return result


def check(input_shape: Sequence[int], layers: Sequence[Layer]) -> None:
    """Raise ShapeError for the first layer that cannot take what it gets."""
    infer(input_shape, layers)


def _check_rank(layer: Layer, index: int, shape: Shape, reducer: _Reducer | None) -> None:
    if isinstance(layer, Embedding):
        _check_embedding(index, shape)
        return
    need = _RANKS.get(layer.type)
    if need is None or need == len(shape):
        return
    hint = _rank_hint(layer.type, need, shape, reducer)
    raise MismatchError(f"{layer.type} needs {_SHAPED[need]} but gets {shape}: {hint}")


def _check_embedding(index: int, shape: Shape) -> None:
    # Only the dataset gives integer word indices: any layer before would turn them into
    # floats, which Embedding would silently truncate back into (wrong) indices.
    if index > 0:
        raise MismatchError(
            "Embedding must be the first layer: it reads the dataset's integer word indices, "
            "which no other layer gives"
        )
    if len(shape) != 1:
        raise MismatchError(
            f"Embedding needs integer sequences shaped (steps,) but gets {shape}: "
            "use a text dataset with encoding 'sequence'"
        )


def check_input_kind(dataset: object, layers: Sequence[Layer]) -> None:
    """An Embedding first layer needs integer word indices: on anything else Keras truncates
    floats (multi-hot 0/1, pixels, features) to indices and the fit diverges at epoch 1."""
    if layers and isinstance(layers[0], Embedding) and not gives_word_indices(dataset):
        raise ShapeError(
            0,
            "Embedding reads integer word indices, so it needs a text dataset (imdb, reuters) "
            f"with encoding 'sequence'; {describe_input(dataset)}",
        )


def _rank_hint(name: str, need: int, shape: Shape, reducer: _Reducer | None) -> str:
    got = len(shape)
    twin = f"{name[:-2]}{got - 1}D"
    if name.endswith("D") and twin in _RANKS:
        return f"use {twin} for {_NOUNS[got]}"
    if got == 1 and reducer is not None:
        where = f"the {reducer.type} at model.layers[{reducer.index}]"
        if reducer.recurrent:
            return f"set return_sequences true on {where}"
        return f"put it before {where}, which gives flat vectors"
    if got == 1 and need == 2:
        return (
            "add an Embedding layer first (with a text dataset's encoding 'sequence') "
            "or use a Dense model"
        )
    if got == 1:
        return "use a dataset format 'image' or a Dense model"
    if got == 3 and need == 2:
        return "use Conv2D and pooling layers for images, or a Dense model on format 'flat'"
    return f"choose a dataset or earlier layers that give {_NOUNS.get(need, 'that shape')}"


__all__ = ["LayerShape", "Shape", "ShapeError", "check", "check_input_kind", "infer"]
