"""Sequence layers of the spec: Embedding (integer word indices -> vectors) and the recurrent
LSTM and GRU, which read sequences shaped (steps, features)."""

from typing import Literal

from pydantic import Field

from models.spec_base import Activation, Rate, Regularizer, StrictModel


class Embedding(StrictModel):
    """The first layer of a text model: reads the dataset's word indices (encoding 'sequence'),
    each below input_dim, and gives (steps, output_dim). mask_zero makes later LSTM, GRU and
    global average pooling layers skip the padding (index 0)."""

    type: Literal["Embedding"]
    input_dim: int = Field(ge=1, le=1_000_000, description="Vocabulary size: largest index + 1")
    output_dim: int = Field(ge=1, le=4096)
    mask_zero: bool = False


class _Recurrent(StrictModel):
    units: int = Field(ge=1, le=4096)
    activation: Activation = "tanh"
    recurrent_activation: Activation = "sigmoid"
    dropout: Rate = Field(default=0.0, description="Dropout on the inputs of each step")
    recurrent_dropout: Rate = Field(
        default=0.0, description="Dropout on the recurrent state (variational RNN dropout)"
    )
    return_sequences: bool = Field(
        default=False, description="Give every step's output (steps, units), not only the last"
    )
    kernel_regularizer: Regularizer | None = None
    recurrent_regularizer: Regularizer | None = None


class LSTM(_Recurrent):
    type: Literal["LSTM"]


class GRU(_Recurrent):
    """Keras 3's GRU (reset_after=True, the cuDNN-compatible variant)."""

    type: Literal["GRU"]
