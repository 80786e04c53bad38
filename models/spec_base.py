"""Building blocks shared by the spec's layer modules (and its dataset entries)."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Activation = Literal[
    "linear", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish",
    "softplus", "softsign", "leaky_relu", "relu6", "hard_sigmoid", "exponential",
]  # fmt: skip
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]
DropoutSeed = Annotated[int, Field(ge=0, le=2**31 - 1)]


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
