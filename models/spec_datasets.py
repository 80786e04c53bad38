"""Dataset references in a spec. The input shape comes from here, never from the user."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from models.spec_layers import StrictModel


class CirclesDataset(StrictModel):
    """sklearn make_circles; the first n_train samples train, the rest validate (as in the
    dropout article's circles example)."""

    name: Literal["circles"]
    n_samples: int = Field(default=100, ge=4, le=1_000_000)
    noise: float = Field(default=0.1, ge=0.0, le=1.0)
    factor: float = Field(default=0.8, gt=0.0, lt=1.0)
    random_state: int | None = Field(default=1, ge=0, le=2**32 - 1)
    n_train: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _train_leaves_validation(self) -> Self:
        if self.n_train is not None and self.n_train >= self.n_samples:
            raise ValueError(
                f"n_train ({self.n_train}) must be less than n_samples ({self.n_samples}): "
                "the remaining samples are the validation data"
            )
        return self

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def has_validation_data(self) -> bool:
        return self.n_train is not None


class DigitsDataset(StrictModel):
    """sklearn's bundled 8x8 digits, flattened to 64 features scaled to [0, 1]; 10 classes."""

    name: Literal["digits"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (64,)

    @property
    def has_validation_data(self) -> bool:
        return False


DatasetSpec = Annotated[CirclesDataset | DigitsDataset, Field(discriminator="name")]
