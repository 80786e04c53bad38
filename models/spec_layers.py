"""The allow-listed layers of an experiment spec: typed, bounded, built by our own code."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Activation = Literal[
    "linear", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish",
    "softplus", "softsign", "leaky_relu", "relu6", "hard_sigmoid", "exponential",
]  # fmt: skip


class StrictModel(BaseModel):
    """Unknown fields are errors, so a typo never silently trains a different model."""

    model_config = ConfigDict(extra="forbid")


class Regularizer(StrictModel):
    """Weight penalty: l1, l2 or both (Keras's l1_l2)."""

    l1: float = Field(default=0.0, ge=0.0, le=10.0)
    l2: float = Field(default=0.0, ge=0.0, le=10.0)

    @model_validator(mode="after")
    def _some_penalty(self) -> Self:
        if self.l1 == 0.0 and self.l2 == 0.0:
            raise ValueError("give l1, l2 or both greater than 0 (or omit the regularizer)")
        return self


class MaxNorm(StrictModel):
    max_norm: float = Field(gt=0.0, le=1000.0)
    axis: int = Field(default=0, ge=-1, le=3)


class Dense(StrictModel):
    type: Literal["Dense"]
    units: int = Field(ge=1, le=16384)
    activation: Activation = "linear"
    use_bias: bool = True
    kernel_regularizer: Regularizer | None = None
    bias_regularizer: Regularizer | None = None
    activity_regularizer: Regularizer | None = None
    kernel_constraint: MaxNorm | None = None


class Dropout(StrictModel):
    type: Literal["Dropout"]
    rate: float = Field(ge=0.0, lt=1.0)
    seed: int | None = Field(default=None, ge=0)


class Flatten(StrictModel):
    type: Literal["Flatten"]


Layer = Annotated[Dense | Dropout | Flatten, Field(discriminator="type")]
