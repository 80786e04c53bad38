"""The allow-listed layers of an experiment spec: typed, bounded, built by our own code.

Convolution, pooling and spatial dropout live in spec_layers_conv.py, recurrent layers and
Embedding in spec_layers_sequence.py; `Layer` below is the union of them all. Which input
shape each layer accepts is checked against the dataset in models/shapes.py."""

from typing import Annotated, Literal

from pydantic import Field

from models.spec_base import Activation, DropoutSeed, Rate, Regularizer, StrictModel
from models.spec_layers_conv import (
    Conv1D,
    Conv2D,
    FilterMaxNorm,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from models.spec_layers_sequence import GRU, LSTM, Embedding


class MaxNorm(StrictModel):
    """Dense kernels are (inputs, units): axis 0 bounds each unit's incoming weights, 1 (or -1)
    each input's outgoing ones. A larger axis would only fail at the first training step."""

    max_norm: float = Field(gt=0.0, le=1000.0)
    axis: int = Field(default=0, ge=-1, le=1)


class Dense(StrictModel):
    """On inputs of rank 2 or more it applies to the last axis, as in Keras 3."""

    type: Literal["Dense"]
    units: int = Field(ge=1, le=16384)
    activation: Activation = "linear"
    use_bias: bool = True
    kernel_regularizer: Regularizer | None = None
    bias_regularizer: Regularizer | None = None
    activity_regularizer: Regularizer | None = None
    kernel_constraint: MaxNorm | None = None


class Dropout(StrictModel):
    """Allowed anywhere, the first layer included (dropout on the inputs)."""

    type: Literal["Dropout"]
    rate: Rate
    seed: DropoutSeed | None = None


class Flatten(StrictModel):
    type: Literal["Flatten"]


class BatchNormalization(StrictModel):
    """Normalizes the last axis (the channels); 4 weights per channel, 2 of them trained."""

    type: Literal["BatchNormalization"]
    momentum: float = Field(default=0.99, gt=0.0, lt=1.0)
    epsilon: float = Field(default=0.001, gt=0.0, le=1.0)
    center: bool = True
    scale: bool = True


Layer = Annotated[
    Dense | Dropout | Flatten | BatchNormalization
    | Conv1D | Conv2D | MaxPooling1D | MaxPooling2D
    | GlobalAveragePooling1D | GlobalAveragePooling2D | GlobalMaxPooling1D | GlobalMaxPooling2D
    | SpatialDropout1D | SpatialDropout2D | SpatialDropout3D
    | Embedding | LSTM | GRU,
    Field(discriminator="type"),
]  # fmt: skip

# Re-exported: callers import every layer (and StrictModel) from this one module.
__all__ = [
    "GRU", "LSTM", "Activation", "BatchNormalization", "Conv1D", "Conv2D", "Dense", "Dropout",
    "Embedding", "FilterMaxNorm", "Flatten", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Layer", "MaxNorm", "MaxPooling1D",
    "MaxPooling2D", "Regularizer", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "StrictModel",
]  # fmt: skip
