"""Building blocks shared by the spec's layer modules (and its dataset entries)."""

from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

Activation = Literal[
    "linear", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish",
    "softplus", "softsign", "leaky_relu", "relu6", "hard_sigmoid", "exponential",
]  # fmt: skip
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]
DropoutSeed = Annotated[int, Field(ge=0, le=2**31 - 1)]


NUL_TYPE = "nul_character"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError(NUL_TYPE, NUL_MESSAGE)
    return value


# Every string a request stores as text: PostgreSQL text cannot hold NUL, so one would fail
# at the INSERT (a 500) instead of here, as a 422 naming the field. Length limits go before
# it (StringConstraints), so their errors stay those of a string.
NoNul = AfterValidator(_without_nul)
PlainText = Annotated[str, NoNul]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]


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
