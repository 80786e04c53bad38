"""Response models and OpenAPI entries every domain shares: the one error body, the 404 of
a row looked up by id, a binary body."""

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from models.spec_base import Name, NoNul, PlainText, StrictModel

# A binary body's schema: generated clients then hand back the bytes instead of dropping them.
BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}


class FieldError(BaseModel):
    path: str = Field(
        description="What the error is about: a JSON path into the body "
        "(model.layers[0].units), a parameter (query.metric, path.experiment_id, "
        "header.Authorization), or, in parentheses, something that is not a field: "
        "(body), (url), (server), (database), (broker)",
        examples=["model.layers[0].units"],
    )
    msg: str = Field(examples=["Input should be greater than or equal to 1"])
    type: str = Field(
        description="A stable name of the kind of error, for clients to branch on",
        examples=["greater_than_equal"],
    )
    loc: list[str | int] = Field(description="The path's parts, as pydantic gives them")
    ctx: dict[str, Any] | None = Field(
        default=None,
        description="Where, for a rejected upload: line, column, cell, array, ...",
        examples=[{"line": 7, "expected": 9, "got": 8}],
    )


class ErrorRead(BaseModel):
    """Every error response (4xx and 5xx): one entry per problem found."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": [
                        {
                            "path": "path.experiment_id",
                            "msg": "experiment 42 not found",
                            "type": "not_found",
                            "loc": ["path", "experiment_id"],
                        }
                    ]
                }
            ]
        }
    )

    detail: list[FieldError]


# One model for every error; the old name stays for the routes that declare their 422s.
ValidationErrorRead = ErrorRead


# The OpenAPI entry of every route that looks a row up by id.
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorRead}}


Notes = Annotated[str, StringConstraints(max_length=10_000), NoNul]


class RunUpdate(StrictModel):
    """PATCH of an experiment or a study: only the fields given change; null clears the name
    or the notes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "circles, bigger", "tags": ["capacity"], "notes": "overfits at 82"}
            ]
        }
    )

    name: Name | None = None
    tags: list[PlainText] | None = Field(
        default=None, max_length=20, description="Replace the tags (each 1 to 64 characters)"
    )
    notes: Notes | None = Field(default=None, description="Free text, up to 10,000 characters")

    @field_validator("tags")
    @classmethod
    def _tags_short(cls, value: list[str] | None) -> list[str] | None:
        if value is None:  # only a null given is validated: the default is not
            raise ValueError("tags cannot be null: give [] to remove them all")
        for tag in value:
            if not 1 <= len(tag) <= 64:
                raise ValueError("each tag must be 1 to 64 characters")
        return value

    @model_validator(mode="after")
    def _something(self) -> "RunUpdate":
        if not self.model_fields_set:
            raise ValueError("give name, tags or notes to change")
        return self
