"""Convolution, pooling and spatial dropout layers of the spec (channels last, as Keras's
default). 1D layers take sequences (steps, channels), 2D layers images (height, width,
channels); models/shapes.py explains a mismatch before anything is trained."""

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from models.spec_base import Activation, DropoutSeed, Rate, Regularizer, StrictModel

Padding = Literal["valid", "same"]
Size = Annotated[int, Field(ge=1, le=256)]


def _square(value: object) -> object:
    # Keras reads an int n as (n, n); keeping only the pair means one form downstream.
    return (value, value) if isinstance(value, int) and not isinstance(value, bool) else value


Size2D = Annotated[
    tuple[Size, Size],
    BeforeValidator(_square, json_schema_input_type=Size | tuple[Size, Size]),
]


class FilterMaxNorm(StrictModel):
    """Bounds the norm of each filter's weights (every kernel position and input channel),
    as MaxNorm(axis=0) bounds each unit of a Dense layer."""

    max_norm: float = Field(gt=0.0, le=1000.0)


class _Conv(StrictModel):
    filters: int = Field(ge=1, le=4096)
    padding: Padding = "valid"
    activation: Activation = "linear"
    use_bias: bool = True
    kernel_regularizer: Regularizer | None = None
    kernel_constraint: FilterMaxNorm | None = None


class Conv1D(_Conv):
    type: Literal["Conv1D"]
    kernel_size: Size
    strides: Size = 1


class Conv2D(_Conv):
    """kernel_size and strides: an int n for (n, n), or [height, width]."""

    type: Literal["Conv2D"]
    kernel_size: Size2D
    strides: Size2D = (1, 1)


class MaxPooling1D(StrictModel):
    """strides default to pool_size, as in Keras."""

    type: Literal["MaxPooling1D"]
    pool_size: Size = 2
    strides: Size | None = None
    padding: Padding = "valid"


class MaxPooling2D(StrictModel):
    """pool_size and strides: an int n for (n, n), or [height, width]; strides default to
    pool_size, as in Keras."""

    type: Literal["MaxPooling2D"]
    pool_size: Size2D = (2, 2)
    strides: Size2D | None = None
    padding: Padding = "valid"


class GlobalAveragePooling1D(StrictModel):
    """(steps, channels) -> (channels,)."""

    type: Literal["GlobalAveragePooling1D"]


class GlobalAveragePooling2D(StrictModel):
    """(height, width, channels) -> (channels,)."""

    type: Literal["GlobalAveragePooling2D"]


class GlobalMaxPooling1D(StrictModel):
    type: Literal["GlobalMaxPooling1D"]


class GlobalMaxPooling2D(StrictModel):
    type: Literal["GlobalMaxPooling2D"]


class _SpatialDropout(StrictModel):
    """Drops whole channels (feature maps) instead of single values: neighbouring values of a
    feature map are correlated, so single-value dropout barely regularizes them."""

    rate: Rate
    seed: DropoutSeed | None = None


class SpatialDropout1D(_SpatialDropout):
    type: Literal["SpatialDropout1D"]


class SpatialDropout2D(_SpatialDropout):
    type: Literal["SpatialDropout2D"]


class SpatialDropout3D(_SpatialDropout):
    type: Literal["SpatialDropout3D"]
